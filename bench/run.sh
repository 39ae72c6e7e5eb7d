#!/usr/bin/env bash
# Surge's generator benchmark: CPU per request against wrk (and, with
# --peers, bombardier, hey and vegeta), the open model's pacing cost, and
# memory per VU. Prints markdown tables on stdout; progress goes to stderr.
#
#   bench/run.sh                      # closed, open and memory sections
#   bench/run.sh --peers              # also Go peers (go install into a temp GOBIN)
#   bench/run.sh --only closed -r 5   # one section, five rounds
#   bench/run.sh --go-bench           # also the go test -bench suites
#
# Every load goes to 127.0.0.1 and every run is bounded in time. The target
# (nginx, or bench/target for slow endpoints) is pinned to one core and the
# generator to another; tools run interleaved (A B A B …) for --rounds
# rounds and each figure is the median. CPU per request is the generator
# process's user+sys time (GNU time) divided by the requests it completed.
# Needs root for apt-get when nginx, wrk or GNU time are missing.
set -euo pipefail

DURATION=5        # seconds per run
ROUNDS=3
CONNS=50          # connections / VUs of the closed runs
RATE=5000         # open-model rate
MEM_VUS=10000     # VUs of the memory run
PEERS=0
GO_BENCH=0
ONLY="closed,open,memory"
PORT=${SURGE_BENCH_PORT:-18080}
SLOW_PORT=${SURGE_BENCH_SLOW_PORT:-18081}
GEN_CPU=${SURGE_BENCH_GEN_CPU:-0}
TARGET_CPU=${SURGE_BENCH_TARGET_CPU:-1}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	-d | --duration) DURATION=$2; shift ;;
	-r | --rounds) ROUNDS=$2; shift ;;
	-c | --conns) CONNS=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--mem-vus) MEM_VUS=$2; shift ;;
	--peers) PEERS=1 ;;
	--go-bench) GO_BENCH=1 ;;
	--only) ONLY=$2; shift ;;
	-h | --help) usage ;;
	*) echo "bench/run.sh: unknown argument $1" >&2; usage 2 ;;
	esac
	shift
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/surge-bench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "bench: $*" >&2; }
has() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }

if [ "$(nproc)" -lt 2 ]; then
	log "only one core: target and generator share it (figures will be worse)"
	TARGET_CPU=$GEN_CPU
fi

# --- tools ---------------------------------------------------------------
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/bin/time ] || need+=(time)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

log "building surge and the bench target"
(cd "$ROOT" && go build -o "$WORK/surge" ./cmd/surge && go build -o "$WORK/target" ./bench/target)

if [ "$PEERS" = 1 ]; then
	log "installing peers into $WORK/gobin"
	for m in github.com/codesenberg/bombardier@v1.2.6 github.com/rakyll/hey@v0.1.5 github.com/tsenart/vegeta/v12@v12.13.0; do
		(cd "$WORK" && GOBIN="$WORK/gobin" GOFLAGS= go install "$m") >&2
	done
fi

# --- targets -------------------------------------------------------------
start_nginx() {
	mkdir -p "$WORK/nginx/logs"
	cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 10000000;
	server {
		listen 127.0.0.1:$PORT;
		location / { return 200 "hello world\n"; }
	}
}
EOF
	taskset -c "$TARGET_CPU" "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
	PIDS+=($!)
	wait_port "$PORT"
}

start_slow() {
	taskset -c "$TARGET_CPU" "$WORK/target" -listen "127.0.0.1:$SLOW_PORT" -for 30m >"$WORK/target.log" 2>&1 &
	PIDS+=($!)
	wait_port "$SLOW_PORT"
}

wait_port() {
	for _ in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "bench: nothing listens on 127.0.0.1:$1" >&2
	exit 1
}

# --- measuring -----------------------------------------------------------
# measure NAME COMMAND…: runs COMMAND on the generator core under GNU time;
# leaves wall, cpu (s) and rss (KiB) in $WORK/NAME.time and the output in
# $WORK/NAME.out.
measure() {
	local name=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$WORK/$name.time" taskset -c "$GEN_CPU" "$@" >"$WORK/$name.out" 2>&1 || {
		log "$name failed:"
		tail -5 "$WORK/$name.out" >&2
		return 1
	}
}

# requests NAME TOOL: the requests TOOL reported in its output.
requests() {
	local f="$WORK/$1.out"
	case $2 in
	wrk) awk '/requests in/ {print $1; exit}' "$f" ;;
	surge*) tr -d ' \n' <"$WORK/$1.json" | grep -o '"totals":{"requests":[0-9]*' | grep -o '[0-9]*$' ;;
	bombardier) tr -d ' \n' <"$f" | grep -o '"req[1-5]xx":[0-9]*\|"others":[0-9]*' | awk -F: '{s+=$2} END {print s}' ;;
	hey) awk '/responses/ {s+=$2} END {print s+0}' "$f" ;;
	vegeta) "$WORK/gobin/vegeta" report -type=json "$WORK/$1.bin" | tr -d ' \n' | grep -o '"requests":[0-9]*' | grep -o '[0-9]*$' ;;
	esac
}

# json_num NAME PATH…: a number from surge's JSON summary, e.g. json_num x start_lag_ms p99.
json_num() {
	local f="$WORK/$1.json"
	tr -d ' \n' <"$f" | grep -o "\"$2\":{[^}]*" | grep -o "\"$3\":[0-9.]*" | head -1 | cut -d: -f2
}

# record TOOL NAME: appends "req/s cpu-µs/req rss-MiB" of run NAME to TOOL's results.
record() {
	local tool=$1 name=$2 n wall user sys rss
	n=$(requests "$name" "$tool")
	read -r wall user sys rss <"$WORK/$name.time"
	if [ -z "$n" ] || [ "$n" = 0 ]; then
		log "$name: no requests counted"
		return
	fi
	awk -v n="$n" -v u="$user" -v s="$sys" -v r="$rss" -v d="$DURATION" \
		'BEGIN {printf "%.0f %.2f %.1f\n", n/d, (u+s)*1e6/n, r/1024}' >>"$WORK/$tool.results"
}

# median FILE COLUMN
median() {
	sort -n -k"$2","$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'
}

run_tool() { # run_tool TOOL ROUND URL CONNS
	local tool=$1 name="$1-$2" url=$3 c=$4
	case $tool in
	wrk) measure "$name" wrk -t1 -c"$c" -d"${DURATION}s" "$url" ;;
	surge) measure "$name" "$WORK/surge" run -q -u "$url" --vus "$c" --duration "${DURATION}s" --out "json=$WORK/$name.json" ;;
	bombardier) measure "$name" "$WORK/gobin/bombardier" -c "$c" -d "${DURATION}s" -p r -o json "$url" ;;
	hey) measure "$name" "$WORK/gobin/hey" -z "${DURATION}s" -c "$c" "$url" ;;
	vegeta)
		echo "GET $url" >"$WORK/vegeta.targets"
		measure "$name" "$WORK/gobin/vegeta" attack -targets="$WORK/vegeta.targets" -rate=0 -workers="$c" -max-workers="$c" \
			-duration="${DURATION}s" -output="$WORK/$name.bin"
		;;
	esac && record "$tool" "$name"
}

echo "# Surge generator benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(go version | cut -d' ' -f3), surge $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo '?')."
echo "Generator pinned to core $GEN_CPU, target to core $TARGET_CPU; ${DURATION}s per run, median of $ROUNDS interleaved rounds."

# --- closed model vs peers -----------------------------------------------
if has closed || has open; then
	start_nginx
fi
if has closed; then
	tools=(wrk surge)
	[ "$PEERS" = 1 ] && tools+=(bombardier hey vegeta)
	for r in $(seq "$ROUNDS"); do
		for t in "${tools[@]}"; do
			log "closed round $r/$ROUNDS: $t"
			run_tool "$t" "$r" "http://127.0.0.1:$PORT/" "$CONNS" || true
		done
	done
	echo
	echo "## Closed loop: keep-alive GET of a 12-byte nginx response, $CONNS connections"
	echo
	echo "| tool | req/s | CPU-µs/request | peak RSS (MiB) | CPU/request vs wrk |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	wrk_cpu=$(median "$WORK/wrk.results" 2)
	for t in "${tools[@]}"; do
		[ -s "$WORK/$t.results" ] || { echo "| $t | failed | | | |"; continue; }
		rps=$(median "$WORK/$t.results" 1)
		cpu=$(median "$WORK/$t.results" 2)
		rss=$(median "$WORK/$t.results" 3)
		echo "| $t | $rps | $cpu | $rss | $(awk -v a="$cpu" -v b="$wrk_cpu" 'BEGIN {printf "%.2f×", a/b}') |"
	done
	echo
	echo "CPU-µs/request per round (surge): $(cut -d' ' -f2 "$WORK/surge.results" | tr '\n' ' ')"
	echo "CPU-µs/request per round (wrk): $(cut -d' ' -f2 "$WORK/wrk.results" | tr '\n' ' ')"
fi

# --- open model ----------------------------------------------------------
if has open; then
	start_slow
	# Like for like: the same slow endpoint (10 ms) at the same rate, once
	# paced (open, RATE/s) and once by 50 closed-loop VUs (≈5,000/s), so the
	# difference is the cost of pacing; and the open model against nginx.
	slow_vus=$(awk -v r="$RATE" 'BEGIN {printf "%d", r/100}')
	for r in $(seq "$ROUNDS"); do
		log "open round $r/$ROUNDS"
		measure "open-nginx-$r" "$WORK/surge" run -q -u "http://127.0.0.1:$PORT/" --rate "$RATE" --duration "${DURATION}s" --out "json=$WORK/open-nginx-$r.json" &&
			record surge-open-nginx "open-nginx-$r" || true
		measure "open-slow-$r" "$WORK/surge" run -q -u "http://127.0.0.1:$SLOW_PORT/delay?ms=10" --rate "$RATE" --duration "${DURATION}s" --out "json=$WORK/open-slow-$r.json" &&
			record surge-open-slow "open-slow-$r" || true
		measure "closed-slow-$r" "$WORK/surge" run -q -u "http://127.0.0.1:$SLOW_PORT/delay?ms=10" --vus "$slow_vus" --duration "${DURATION}s" --out "json=$WORK/closed-slow-$r.json" &&
			record surge-closed-slow "closed-slow-$r" || true
	done
	lag() { for r in $(seq "$ROUNDS"); do json_num "$1-$r" start_lag_ms "$2"; done | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
	echo
	echo "## Open model at $RATE/s"
	echo
	echo "| run | req/s | CPU-µs/request | start lag p50 / p99 (ms) | CPU/request vs the closed run beside it |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	closed_slow=$(median "$WORK/surge-closed-slow.results" 2)
	echo "| closed, $slow_vus VUs, testbed /delay?ms=10 | $(median "$WORK/surge-closed-slow.results" 1) | $closed_slow | – | 1.00× |"
	open_slow=$(median "$WORK/surge-open-slow.results" 2)
	echo "| open, $RATE/s, testbed /delay?ms=10 | $(median "$WORK/surge-open-slow.results" 1) | $open_slow | $(lag open-slow p50) / $(lag open-slow p99) | $(awk -v a="$open_slow" -v b="$closed_slow" 'BEGIN {printf "%.2f×", a/b}') |"
	open_nginx=$(median "$WORK/surge-open-nginx.results" 2)
	vs=""
	[ -s "$WORK/surge.results" ] && vs=$(awk -v a="$open_nginx" -v b="$(median "$WORK/surge.results" 2)" 'BEGIN {printf "%.2f× (closed, %s VUs, flat out)", a/b, '"$CONNS"'}')
	echo "| open, $RATE/s, nginx | $(median "$WORK/surge-open-nginx.results" 1) | $open_nginx | $(lag open-nginx p50) / $(lag open-nginx p99) | $vs |"
fi

# --- memory per VU -------------------------------------------------------
if has memory; then
	[ -s "$WORK/target.log" ] || start_slow
	for r in $(seq "$ROUNDS"); do
		log "memory round $r/$ROUNDS: $MEM_VUS VUs"
		measure "mem-$r" "$WORK/surge" run -q -u "http://127.0.0.1:$SLOW_PORT/delay?ms=1000" --vus "$MEM_VUS" --duration "$((DURATION * 2))s" --out "json=$WORK/mem-$r.json" &&
			record surge-mem "mem-$r" || true
		measure "mem-base-$r" "$WORK/surge" run -q -u "http://127.0.0.1:$SLOW_PORT/delay?ms=1000" --vus 10 --duration "$((DURATION * 2))s" --out "json=$WORK/mem-base-$r.json" &&
			record surge-mem-base "mem-base-$r" || true
	done
	rss=$(median "$WORK/surge-mem.results" 3)
	base=$(median "$WORK/surge-mem-base.results" 3)
	errs=$(for r in $(seq "$ROUNDS"); do tr -d ' \n' <"$WORK/mem-$r.json" | grep -o '"totals":{[^}]*' | grep -o '"errors":[0-9]*' | cut -d: -f2; done | tr '\n' ' ')
	echo
	echo "## Memory: $MEM_VUS VUs held against a 1 s endpoint (bench/target /delay?ms=1000)"
	echo
	echo "| VUs | peak RSS (MiB) | per VU (KiB) | above a 10-VU run, per VU (KiB) | errors per round |"
	echo "| ---: | ---: | ---: | ---: | --- |"
	echo "| 10 | $base | | | |"
	echo "| $MEM_VUS | $rss | $(awk -v r="$rss" -v n="$MEM_VUS" 'BEGIN {printf "%.1f", r*1024/n}') | $(awk -v r="$rss" -v b="$base" -v n="$MEM_VUS" 'BEGIN {printf "%.1f", (r-b)*1024/n}') | $errs |"
fi

# --- go test -bench ------------------------------------------------------
if [ "$GO_BENCH" = 1 ]; then
	log "go test -bench"
	echo
	echo "## Hot-path micro-benchmarks (go test -bench, -benchmem)"
	echo
	echo '```'
	(cd "$ROOT" && go test -run '^$' -bench . -benchmem -benchtime 0.3s ./internal/metrics/ ./internal/protocol/http/ ./internal/template/ 2>&1 | grep -E '^(Benchmark|ok|FAIL)')
	(cd "$ROOT" && taskset -c "$GEN_CPU" go test -run '^$' -bench 'OpenPacing|RatePacer|ClosedNoop' -benchmem -cpu 1 -benchtime 2s ./internal/engine/ 2>&1 | grep -E '^(Benchmark|ok|FAIL)')
	echo '```'
fi
