package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// raw runs the binary with exactly args (no -q, no --out added), bounded by
// limit, and returns its exit code and output.
func raw(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, surgeBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("surge %s: still running after %v\nstderr: %s", strings.Join(args, " "), limit, r.stderr)
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// Flags whose values cannot mean what they say are refused before anything
// is sent: exit 2, the flag named, the target untouched.
func TestBadFlagValuesAreRefusedBeforeSending(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	u := tb.URL() + "/hello"
	dir := t.TempDir()
	aFile := filepath.Join(dir, "file")
	if err := os.WriteFile(aFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	bigTemplate := filepath.Join(dir, "big.tmpl")
	if err := os.WriteFile(bigTemplate, bytes.Repeat([]byte{0xff, 0x00, '{'}, 400_000), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // all in stderr
	}{
		{"rate NaN", []string{"-u", u, "--rate", "NaN"}, []string{"--rate NaN"}},
		{"rate Inf", []string{"-u", u, "--rate", "Inf"}, []string{"--rate +Inf"}},
		{"rate negative", []string{"-u", u, "--rate", "-5"}, []string{"--rate -5"}},
		{"rate above the ceiling", []string{"-u", u, "--rate", "1e9"}, []string{"--rate 1e+09", "at most"}},
		{"stage target NaN", []string{"-u", u, "--rate", "0", "--stages", "1s:NaN"}, []string{"--stages", "stage 1"}},
		{"zero duration", []string{"-u", u, "--duration", "0s"}, []string{"--duration 0s", "positive"}},
		{"negative duration", []string{"-u", u, "--duration", "-1s"}, []string{"--duration -1s"}},
		{"zero timeout", []string{"-u", u, "--timeout", "0s"}, []string{"--timeout 0s", "positive"}},
		{"zero VUs", []string{"-u", u, "--vus", "0"}, []string{"--vus 0", "at least 1"}},
		{"zero max VUs", []string{"-u", u, "--rate", "5", "--max-vus", "0"}, []string{"--max-vus 0"}},
		{"zero requests", []string{"-u", u, "--requests", "0"}, []string{"--requests 0"}},
		{"-u twice", []string{"-u", u, "-u", tb.URL() + "/other"}, []string{`"-u, --url"`, "given twice"}},
		{"-u and a URL argument", []string{"-u", u, u}, []string{"give the URL once"}},
		{"-d twice", []string{"-u", u, "-d", "a", "-d", "b"}, []string{"--body", "given twice"}},
		{"no scheme, host:port", []string{"-u", "127.0.0.1:8080/api"}, []string{"add http://", "http://127.0.0.1:8080/api"}},
		{"no scheme, localhost", []string{"-u", "localhost/x"}, []string{"add http://"}},
		{"no scheme, argument", []string{"127.0.0.1:8080/api"}, []string{"neither a scenario file nor a URL", "add http://"}},
		{"misspelt flag", []string{"-u", u, "--duraton", "1s"}, []string{"unknown flag: --duraton", "did you mean --duration?"}},
		{"wrk -c", []string{"-u", u, "-c", "10"}, []string{"did you mean --vus?"}},
		{"wrk --connections", []string{"-u", u, "--connections", "10"}, []string{"did you mean --vus?"}},
		{"hey -z", []string{"-u", u, "-z", "5s"}, []string{"did you mean --duration?"}},
		{"--rps", []string{"-u", u, "--rps", "5"}, []string{"did you mean --rate?"}},
		{"k6 -i", []string{"-u", u, "-i", "5"}, []string{"did you mean --requests?"}},
		{"k6 --iterations", []string{"-u", u, "--iterations", "5"}, []string{"did you mean --requests?"}},
		{"vegeta -rate", []string{"-u", u, "-rate", "5"}, []string{"did you mean --rate?", "two dashes"}},
		{"one dash before a long flag that starts like -d", []string{"-u", u, "-duration", "5s"}, []string{"did you mean --duration?"}},
		{"out under /proc", []string{"-u", u, "--out", "json=/proc/nope/x.json"}, []string{"--out json=/proc/nope/x.json", "cannot write the report there"}},
		{"out is a directory", []string{"-u", u, "--out", "json=" + dir}, []string{"is a directory"}},
		{"out parent is a file", []string{"-u", u, "--out", "csv=" + filepath.Join(aFile, "t.csv")}, []string{"not a directory"}},
		{"same out twice", []string{"-u", u, "--out", "json=" + filepath.Join(dir, "s"), "--out", "csv=" + filepath.Join(dir, "s")}, []string{"written there too"}},
		{"body template over the template limit", []string{"-u", u, "-X", "POST", "--body-file", bigTemplate, "--body-template"},
			[]string{"--body-file", "--body-template", "without --body-template the file is sent as data"}},
		{"body file missing", []string{"-u", u, "-X", "POST", "--body-file", filepath.Join(dir, "nope")}, []string{"--body-file", "no such file"}},
		{"body template without a body", []string{"-u", u, "--body-template"}, []string{"give the body with -d or --body-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := raw(t, 20*time.Second, append([]string{"run", "-q"}, tt.args...)...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "\x00") || !utf8.ValidString(r.stderr) || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("binary bytes or a stack trace in stderr: %q", r.stderr)
			}
			if n := tb.Count(); n != 0 {
				t.Fatalf("the target received %d requests; nothing may be sent", n)
			}
		})
	}
}

// An unwritable --out found before the run, even when the directory exists
// but refuses writes (as a non-root user).
func TestOutIntoAReadOnlyDirectoryIsRefusedBeforeSending(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into any directory; /proc covers the case in TestBadFlagValuesAreRefusedBeforeSending")
	}
	tb := testutil.StartTarget(t, testbed.Options{})
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	r := raw(t, 20*time.Second, "run", "-q", "-u", tb.URL()+"/hello", "--requests", "5", "--out", "json="+filepath.Join(dir, "s.json"))
	if r.code != 2 || !strings.Contains(r.stderr, "permission denied") || tb.Count() != 0 {
		t.Fatalf("exit %d, target saw %d\n%s", r.code, tb.Count(), r.stderr)
	}
}

// --vus far above engine.MaxVUs exits 2 at once, in bounded memory: before
// the ceiling it grew to 24 GB. The child is watched and killed at 512 MiB.
func TestHugeVUCountExits2Quickly(t *testing.T) {
	for _, args := range [][]string{
		{"--vus", "10000000", "--duration", "30s"},
		{"--stages", "1s:10000000"},
		{"--rate", "10", "--max-vus", "10000000"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			tb := testutil.StartTarget(t, testbed.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, surgeBin, append([]string{"run", "-q", "-u", tb.URL() + "/hello"}, args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			t0 := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var peak int64
			var wg sync.WaitGroup
			done := make(chan struct{})
			wg.Add(1)
			go func() { // watchdog: bounded memory even if the ceiling is missing
				defer wg.Done()
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						if rss := rssKiB(cmd.Process.Pid); rss > peak {
							peak = rss
							if rss > 512<<10 {
								_ = cmd.Process.Kill()
							}
						}
					}
				}
			}()
			err := cmd.Wait()
			close(done)
			wg.Wait()
			took := time.Since(t0)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("err %v after %v (peak RSS %d KiB), want exit 2\n%s", err, took, peak, stderr.String())
			}
			if took > 3*time.Second || peak > 256<<10 {
				t.Fatalf("took %v, peak RSS %d KiB", took, peak)
			}
			if !strings.Contains(stderr.String(), "100000") || tb.Count() != 0 {
				t.Fatalf("target saw %d; stderr does not name the ceiling:\n%s", tb.Count(), stderr.String())
			}
		})
	}
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func TestURLAsTheOnlyArgumentIsQuickMode(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := mustOK(t, surge(t, "run", tb.URL()+"/hello", "--vus", "2", "--requests", "20"))
	if s.Totals.Requests != 20 || tb.CountPath("/hello") != 20 || s.Totals.Errors != 0 {
		t.Fatalf("requests %d errors %d, target saw %d on /hello", s.Totals.Requests, s.Totals.Errors, tb.CountPath("/hello"))
	}
}

func TestVersionFlag(t *testing.T) {
	flag, cmd := raw(t, 10*time.Second, "--version"), raw(t, 10*time.Second, "version")
	if flag.code != 0 || flag.stdout != cmd.stdout || !strings.HasPrefix(flag.stdout, "surge ") {
		t.Fatalf("--version: exit %d %q; version: %q", flag.code, flag.stdout, cmd.stdout)
	}
}

// -d 30s on a GET is sent (it is curl's body), with a warning that the
// duration is --duration.
func TestBodyThatLooksLikeADurationWarns(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	r := surge(t, "run", "-u", tb.URL()+"/hello", "-d", "30s", "--vus", "1", "--requests", "2")
	mustOK(t, r)
	if !strings.Contains(r.stderr, "warning: -d 30s is the request body") || !strings.Contains(r.stderr, "--duration 30s") {
		t.Fatalf("no warning:\n%s", r.stderr)
	}
	r = surge(t, "run", "-u", tb.URL()+"/hello", "-X", "POST", "-d", "30s", "--vus", "1", "--requests", "2")
	if mustOK(t, r); strings.Contains(r.stderr, "warning") {
		t.Fatalf("a POST body of 30s is plausible, no warning wanted:\n%s", r.stderr)
	}
}

// bodySink is a loopback target that remembers the hash of every body.
func bodySink(t *testing.T) (url string, hashes func() map[[32]byte]int) {
	var mu sync.Mutex
	seen := map[[32]byte]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 80<<20))
		mu.Lock()
		seen[sha256.Sum256(b)]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() map[[32]byte]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[[32]byte]int{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

// A --body-file is data: a 3 MiB binary file full of "{{" is sent byte for
// byte (it was refused as a "bad template" over 1 MiB, printing the bytes).
// With --body-template the body is a template.
func TestBodyFileIsSentAsData(t *testing.T) {
	url, hashes := bodySink(t)
	dir := t.TempDir()
	data := bytes.Repeat([]byte("{{uuid}}\x00\xff\n"), 3<<20/11)
	file := filepath.Join(dir, "body.bin")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := mustOK(t, surge(t, "run", "-u", url, "-X", "POST", "--body-file", file, "--vus", "2", "--requests", "4"))
	if got := hashes()[sha256.Sum256(data)]; got != 4 || s.Totals.Errors != 0 {
		t.Fatalf("the target got the file's bytes %d times of 4 (errors %d, bodies %d)", got, s.Totals.Errors, len(hashes()))
	}
	if s.Totals.BytesSent < 4*int64(len(data)) {
		t.Fatalf("bytes sent %d, want ≥ %d", s.Totals.BytesSent, 4*len(data))
	}

	url, hashes = bodySink(t)
	tmpl := filepath.Join(dir, "body.tmpl")
	if err := os.WriteFile(tmpl, []byte(`{"id":"{{uuid}}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustOK(t, surge(t, "run", "-u", url, "-X", "POST", "--body-file", tmpl, "--body-template", "--vus", "1", "--requests", "3"))
	if h := hashes(); len(h) != 3 {
		t.Fatalf("--body-template: want 3 different bodies ({{uuid}} expanded), got %d", len(h))
	}

	url, hashes = bodySink(t)
	mustOK(t, surge(t, "run", "-u", url, "-X", "POST", "-d", "{{uuid}}", "--vus", "1", "--requests", "2"))
	if h := hashes(); h[sha256.Sum256([]byte("{{uuid}}"))] != 2 {
		t.Fatalf("-d is sent as given, as curl does; bodies %v", h)
	}
}

func TestBodyFileOverTheLimitIsRefused(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	file := filepath.Join(t.TempDir(), "huge.bin")
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(64<<20 + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	fh.Close()
	r := raw(t, 20*time.Second, "run", "-q", "-u", tb.URL()+"/hello", "-X", "POST", "--body-file", file)
	if r.code != 2 || !strings.Contains(r.stderr, "--body-file") || !strings.Contains(r.stderr, "more than 67108864 bytes") || tb.Count() != 0 {
		t.Fatalf("exit %d, target saw %d\n%s", r.code, tb.Count(), r.stderr)
	}
	if strings.Contains(r.stderr, "\x00") {
		t.Fatalf("file bytes in the message: %q", r.stderr)
	}
}

// -u with a scenario file is the base URL of the file's relative steps (as
// the file's target:); it is refused when every step is absolute, since it
// would change nothing.
func TestURLFlagWithAScenarioFile(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	dir := t.TempDir()
	relative := filepath.Join(dir, "relative.yaml")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(relative, "target: http://127.0.0.1:1\nload: {model: closed, vus: 1, iterations: 3}\nflows:\n  - steps:\n      - get: /hello\n")
	s := mustOK(t, surge(t, "run", relative, "-u", tb.URL()))
	if s.Totals.Requests != 3 || s.Totals.Errors != 0 || tb.CountPath("/hello") != 3 {
		t.Fatalf("requests %d errors %d; target saw %d", s.Totals.Requests, s.Totals.Errors, tb.CountPath("/hello"))
	}

	absolute := filepath.Join(dir, "absolute.yaml")
	write(absolute, "load: {model: closed, vus: 1, iterations: 3}\nflows:\n  - steps:\n      - get: "+tb.URL()+"/hello\n")
	r := surge(t, "run", absolute, "-u", "http://127.0.0.1:9")
	if r.code != 2 || !strings.Contains(r.stderr, "would change nothing") || tb.CountPath("/hello") != 3 {
		t.Fatalf("exit %d, target saw %d\n%s", r.code, tb.Count(), r.stderr)
	}

	mixed := filepath.Join(dir, "mixed.yaml")
	write(mixed, "load: {model: closed, vus: 1, iterations: 1}\nflows:\n  - steps:\n      - get: /hello\n      - get: "+tb.URL()+"/delay\n")
	r = surge(t, "run", mixed, "-u", tb.URL())
	if mustOK(t, r); !strings.Contains(r.stderr, "1 of its 2 requests have absolute URLs") {
		t.Fatalf("no note about the absolute step:\n%s", r.stderr)
	}
}

// A run in which every request failed says so loudly, in the terminal
// summary and the JSON, and still exits 0: the target's errors are results.
func TestEveryRequestFailedIsLoud(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	out := filepath.Join(t.TempDir(), "s.json")
	r := raw(t, 30*time.Second, "run", "-q", "-u", tb.URL()+"/status/503", "--vus", "2", "--requests", "10", "--out", "json="+out)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	first := strings.SplitN(strings.TrimSpace(r.stdout), "\n", 2)[0]
	if !strings.Contains(strings.ToLower(first), "every one of the 10 requests failed") || !strings.Contains(first, "status_5xx") {
		t.Fatalf("the summary does not open with the warning:\n%s", r.stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, b)
	var s struct{ Warnings []string }
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) == 0 || !strings.Contains(s.Warnings[0], "failed") {
		t.Fatalf("the JSON summary's warnings: %q", s.Warnings)
	}
}

// Quick mode sends the text it is given as-is: a URL, a header and a body
// full of {{...}} (built-in names that a template would expand, and
// unknown ones that it would refuse) reach the target byte for byte, in
// every request. Only --body-template makes the body a template.
func TestQuickModeSendsTextAsIs(t *testing.T) {
	type got struct{ uri, header, body string }
	var mu sync.Mutex
	var seen []got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		seen = append(seen, got{r.RequestURI, strings.Join(r.Header.Values("X-A"), "\n"), string(b)})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	const (
		path   = "/items?q={{vu.id}}&r={{x}}&s={{uuid}}"
		header = "{{uuid}} {{vu.id}} {{iteration}} {{b}}"
		body   = `{"a":{"b":{}}} {{uuid}} {{vu.id}} {{c}}`
	)
	mustOK(t, surge(t, "run", "-u", srv.URL+path, "-X", "POST", "-H", "X-A: "+header, "-d", body, "--vus", "2", "--requests", "6"))
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 6 {
		t.Fatalf("the target got %d requests, want 6", len(seen))
	}
	want := got{path, header, body}
	for i, g := range seen {
		if g != want {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, g, want)
		}
	}
}
