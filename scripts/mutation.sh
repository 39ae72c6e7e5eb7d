#!/usr/bin/env bash
# Mutation testing of Surge's core packages with go-gremlins: each mutant
# (a flipped comparison, a changed operator, an off-by-one) is applied in a
# temporary copy of the module and the package's tests are run against it;
# a mutant that no test notices "lived". Prints each package's score.
#
#   scripts/mutation.sh                       # every core package, fastest first
#   scripts/mutation.sh internal/metrics      # one package
#   scripts/mutation.sh -w 2 -o /tmp/mut-out  # 2 workers, keep the JSON reports
#
# Options: -w WORKERS (default 1), -c TIMEOUT_COEFFICIENT (default 10), -o DIR
# (JSON reports, default a temp dir). Not part of CI: it runs the tests once
# per mutant, which takes tens of minutes. Run it when you change a core
# package; docs/testing.md has the last scores and the equivalent mutants.
#
# score = (killed + timed out) / (killed + timed out + lived): the share of
# covered mutants the tests catch (gremlins' "efficacy", with mutants whose
# tests hang counted as caught). "coverage" is the share of all mutants that
# some test executes; the uncovered ones are listed as NOT COVERED.
# Generated files (*.pb.go) are left out of both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
# -count=1: gremlins times each mutant's tests against the first, coverage
# run of the suite; a cached coverage run would make that limit a few
# milliseconds and every mutant "time out".
export GOFLAGS="${GOFLAGS:-} -count=1"
GREMLINS_VERSION=v0.5.0
WORKERS=1
COEFF=10
OUT=""
while getopts "w:c:o:h" opt; do
  case "$opt" in
  w) WORKERS=$OPTARG ;;
  c) COEFF=$OPTARG ;;
  o) OUT=$OPTARG ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; [ "$opt" = h ]; exit ;;
  esac
done
shift $((OPTIND - 1))
# Fastest first, so that a slow package does not hold back the others' scores.
PKGS=("$@")
[ ${#PKGS[@]} -gt 0 ] || PKGS=(internal/template internal/metrics internal/scenario internal/report internal/protocol/http internal/controller internal/engine)

if ! command -v gremlins >/dev/null ||
  ! go version -m "$(command -v gremlins)" | grep -q "mod[[:space:]]*github.com/go-gremlins/gremlins[[:space:]]*$GREMLINS_VERSION"; then
  echo "mutation: installing gremlins $GREMLINS_VERSION" >&2
  go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"
fi
command -v python3 >/dev/null || { echo "mutation: python3 is needed to read gremlins' reports" >&2; exit 1; }
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/surge-mutation.XXXXXX)
mkdir -p "$OUT"

printf '| package | killed | timed out | lived | not covered | not viable | score | coverage | time |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
for pkg in "${PKGS[@]}"; do
  name=$(echo "$pkg" | tr / _)
  log="$OUT/$name.log"
  echo "mutation: $pkg (log $log)" >&2
  # A failing suite would "kill" every mutant: the tests must pass first.
  if ! go test -count=1 "./$pkg" >"$log" 2>&1; then
    echo "mutation: the tests of $pkg fail without any mutant; see $log" >&2
    printf '| %s | (tests fail unmutated: see %s) |\n' "$pkg" "$log"
    continue
  fi
  # Never --test-cpu: gremlins v0.5.0 passes it to go test as one argument
  # ("-cpu 1"), go test rejects it, and every mutant counts as killed.
  if ! gremlins unleash --workers "$WORKERS" --timeout-coefficient "$COEFF" \
    --output "$OUT/$name.json" "./$pkg" >"$log" 2>&1; then
    echo "mutation: gremlins failed on $pkg; see $log" >&2
    printf '| %s | (failed: see %s) |\n' "$pkg" "$log"
    continue
  fi
  python3 - "$OUT/$name.json" "$pkg" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
count = {}
for f in d["files"]:
    if f["file_name"].endswith(".pb.go"):
        continue  # generated code (e.g. metrics/snapshotpb) is not ours to test
    for m in f["mutations"]:
        count[m["status"]] = count.get(m["status"], 0) + 1
k, to, lv = count.get("KILLED", 0), count.get("TIMED OUT", 0), count.get("LIVED", 0)
nc, nv = count.get("NOT COVERED", 0), count.get("NOT VIABLE", 0)
covered = k + to + lv
score = 100.0 * (k + to) / covered if covered else 0.0
cov = 100.0 * covered / (covered + nc) if covered + nc else 0.0
print(f"| {sys.argv[2]} | {k} | {to} | {lv} | {nc} | {nv} | {score:.1f} % | {cov:.1f} % | {d.get('elapsed_time', 0):.0f} s |")
PY
done
echo "mutation: reports in $OUT; survivors: grep -h LIVED $OUT/*.log" >&2
