package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, …
	rest string
}

// stage is one FROM … section.
type stage struct {
	from, name string
	args       map[string]string // ARG defaults declared in the stage
	runs       []instruction
	copies     []instruction
	user       string
	entrypoint []string
}

type dockerfile struct {
	globalArgs map[string]string
	stages     []*stage
}

// parseDockerfile reads the subset of the Dockerfile syntax the file uses:
// comments, \ continuations, and the instructions below.
func parseDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ins []instruction
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		t := strings.TrimSpace(line)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if s, ok := strings.CutSuffix(t, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(t)
		cmd, rest, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, instruction{line: start, cmd: strings.ToUpper(cmd), rest: strings.TrimSpace(rest)})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	df := &dockerfile{globalArgs: map[string]string{}}
	var st *stage
	for _, in := range ins {
		where := fmt.Sprintf("%s:%d", path, in.line)
		switch in.cmd {
		case "ARG":
			name, def, _ := strings.Cut(in.rest, "=")
			if st == nil {
				df.globalArgs[name] = def
			} else {
				st.args[name] = def
			}
		case "FROM":
			words := strings.Fields(in.rest)
			var from, name string
			for i := 0; i < len(words); i++ {
				switch {
				case strings.HasPrefix(words[i], "--"):
				case strings.EqualFold(words[i], "AS") && i+1 < len(words):
					name = words[i+1]
					i++
				default:
					from = words[i]
				}
			}
			st = &stage{from: expand(from, df.globalArgs), name: name, args: map[string]string{}}
			df.stages = append(df.stages, st)
		case "RUN", "COPY", "USER", "ENTRYPOINT", "CMD", "WORKDIR", "EXPOSE", "ENV":
			if st == nil {
				return nil, fmt.Errorf("%s: %s before FROM", where, in.cmd)
			}
			switch in.cmd {
			case "RUN":
				st.runs = append(st.runs, in)
			case "COPY":
				st.copies = append(st.copies, in)
			case "USER":
				st.user = in.rest
			case "ENTRYPOINT":
				if err := json.Unmarshal([]byte(in.rest), &st.entrypoint); err != nil {
					return nil, fmt.Errorf("%s: ENTRYPOINT must be in exec form (a JSON array; there is no shell): %w", where, err)
				}
			}
		default:
			return nil, fmt.Errorf("%s: instruction %s is not one this test reads", where, in.cmd)
		}
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return df, nil
}

var argRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expand replaces ${NAME} and $NAME with their values in vars.
func expand(s string, vars map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := argRef.FindStringSubmatch(ref)
		return vars[m[1]+m[2]]
	})
}

// shellWords splits a simple shell command into words: blanks separate,
// double and single quotes group. Anything fancier (pipes, &&, $(…)) is
// refused, so the test runs what the Dockerfile runs.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.ContainsRune("|&;<>()`\\", r):
			return nil, fmt.Errorf("%q: %q is more shell than this test runs", s, r)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%q: unterminated quote", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// goBuild is the build stage's `go build` command.
type goBuild struct {
	env  []string // NAME=value assignments before `go`
	args []string // after `go`
	out  string   // the -o value
}

func findGoBuild(df *dockerfile) (*stage, *goBuild, error) {
	for _, st := range df.stages {
		for _, run := range st.runs {
			if !strings.Contains(run.rest, "go build") {
				continue
			}
			vars := map[string]string{}
			for k, v := range df.globalArgs {
				vars[k] = v
			}
			for k, v := range st.args {
				vars[k] = v
			}
			// BuildKit sets these from --platform; the test builds for
			// the machine it runs on.
			vars["TARGETOS"], vars["TARGETARCH"] = runtime.GOOS, runtime.GOARCH
			words, err := shellWords(expand(run.rest, vars))
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", run.line, err)
			}
			gb := &goBuild{}
			i := 0
			for ; i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-"); i++ {
				gb.env = append(gb.env, words[i])
			}
			if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
				return nil, nil, fmt.Errorf("line %d: want `[VAR=value…] go build …`, got %q", run.line, run.rest)
			}
			gb.args = words[i+1:]
			for j, a := range gb.args {
				if a == "-o" && j+1 < len(gb.args) {
					gb.out = gb.args[j+1]
				}
			}
			return st, gb, nil
		}
	}
	return nil, nil, errors.New("no RUN … go build in any stage")
}

func numericUID(user string) (int64, error) {
	u, _, _ := strings.Cut(user, ":")
	uid, err := strconv.ParseInt(u, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("USER %q: give a numeric user, so that Kubernetes' runAsNonRoot can check it", user)
	}
	if uid == 0 {
		return 0, fmt.Errorf("USER %q is root", user)
	}
	return uid, nil
}

// The image: a static binary from a pinned toolchain, on a final stage
// that is distroless (or scratch), non-root and needs no shell.
func TestDockerfile(t *testing.T) {
	df, err := parseDockerfile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goVersion == nil {
		t.Fatal("../go.mod has no go directive")
	}
	if got := df.globalArgs["GO_VERSION"]; got != string(goVersion[1]) {
		t.Errorf("ARG GO_VERSION=%s, go.mod says go %s: build with the toolchain go.mod names", got, goVersion[1])
	}

	buildStage, gb, err := findGoBuild(df)
	if err != nil {
		t.Fatalf("../Dockerfile: %v", err)
	}
	if !slices.Contains(gb.env, "CGO_ENABLED=0") {
		t.Errorf("go build runs with %q: set CGO_ENABLED=0, so that the binary is static", gb.env)
	}
	if gb.out == "" || !slices.Contains(gb.args, "./cmd/surge") {
		t.Errorf("go build %q: want -o OUT ./cmd/surge", gb.args)
	}

	fin := df.stages[len(df.stages)-1]
	if fin == buildStage {
		t.Fatal("the final stage is the build stage: build in one stage, ship another")
	}
	if !strings.HasPrefix(fin.from, "gcr.io/distroless/static") && fin.from != "scratch" {
		t.Errorf("final stage FROM %s: want gcr.io/distroless/static… or scratch", fin.from)
	}
	if len(fin.runs) != 0 {
		t.Errorf("the final stage has RUN at line %d: it has no shell to run it", fin.runs[0].line)
	}
	if _, err := numericUID(fin.user); err != nil {
		t.Error(err)
	}
	if len(fin.entrypoint) != 1 {
		t.Fatalf("ENTRYPOINT %q: want the binary alone", fin.entrypoint)
	}
	want := fmt.Sprintf("--from=%s %s %s", buildStage.name, gb.out, fin.entrypoint[0])
	copied := false
	for _, c := range fin.copies {
		copied = copied || c.rest == want
	}
	if !copied {
		t.Errorf("the final stage must COPY %s (the built binary to the ENTRYPOINT)", want)
	}
}

// dockerignore is a .dockerignore's patterns in order, each compiled the
// way BuildKit reads them: * and ? stay within a path element, ** spans
// elements, a pattern that matches a directory matches what is in it,
// and the last pattern that matches a path decides.
type dockerignore []struct {
	re      *regexp.Regexp
	exclude bool
}

func parseDockerignore(path string) (dockerignore, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d dockerignore
	for _, line := range strings.Split(string(b), "\n") {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		exclude := true
		if s, ok := strings.CutPrefix(p, "!"); ok {
			p, exclude = s, false
		}
		p = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("(/.*)?$") // a directory's contents go with it
		d = append(d, struct {
			re      *regexp.Regexp
			exclude bool
		}{regexp.MustCompile(re.String()), exclude})
	}
	return d, nil
}

func (d dockerignore) excluded(rel string) bool {
	out := false
	for _, p := range d {
		if p.re.MatchString(rel) {
			out = p.exclude
		}
	}
	return out
}

func TestDockerignore(t *testing.T) {
	d, err := parseDockerignore("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"go.mod":                             false,
		"go.sum":                             false,
		"cmd/surge/main.go":                  false,
		"internal/web/static/index.html":     false,
		"internal/store/migrations/0001.sql": false,
		"internal/cli/root.go":               false,
		"internal/cli/cli_test.go":           true,
		"internal/report/testdata/a.golden":  true,
		"surge":                              true, // a locally built binary
		".git/HEAD":                          true,
		"bench/results/x.json":               true,
		"docs/api.md":                        true,
	} {
		if got := d.excluded(path); got != want {
			t.Errorf("%s: excluded %v, want %v", path, got, want)
		}
	}
}

// buildContext copies what .dockerignore lets into a build context.
func buildContext(t *testing.T, root string, ignore dockerignore) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // another engineer's editor removed a file mid-walk
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() || ignore.excluded(rel) {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// The Dockerfile's go build, run as written in the context .dockerignore
// leaves, yields a static binary that runs.
func TestDockerBuildMakesAStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary from scratch (-trimpath): skipped with -short")
	}
	df, err := parseDockerfile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	buildStage, gb, err := findGoBuild(df)
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := parseDockerignore("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	ctxDir := buildContext(t, "..", ignore)
	out := filepath.Join(t.TempDir(), "surge")
	args := make([]string, len(gb.args))
	for i, a := range gb.args {
		args[i] = a
		if a == gb.out {
			args[i] = out // the one change: where the binary goes
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), gb.env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in the build context: %v\n%s", strings.Join(args, " "), err, b)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("the binary needs shared libraries %q (%v): it is not static", libs, err)
	}

	var stdout bytes.Buffer
	run := exec.CommandContext(ctx, out, "--version")
	run.Stdout = &stdout
	if err := run.Run(); err != nil {
		t.Fatalf("surge --version: %v", err)
	}
	if want := "surge " + buildStage.args["VERSION"] + "\n"; stdout.String() != want {
		t.Errorf("surge --version printed %q, want %q (the Dockerfile's VERSION)", stdout.String(), want)
	}
}
