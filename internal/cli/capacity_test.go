package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/cli"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

var updateCapacity = flag.Bool("update-capacity", false, "rewrite the capacity golden files")

func capacityMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := cli.Main(ctx, cli.Env{Args: append([]string{"capacity"}, args...), Stdout: &out, Stderr: &errOut,
		Getenv: func(string) string { return "" }})
	return out.String(), errOut.String(), cli.ExitCode(err)
}

func TestCapacityBadUsage(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	u := tb.URL() + "/hello"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no objective", []string{"-u", u}, "no objective: give at least one --slo"},
		{"bad objective", []string{"-u", u, "--slo", "p99<<1s"}, `--slo: threshold "p99<<1s"`},
		{"monitor objective", []string{"-u", u, "--slo", "monitor[a].process_cpu<80%"}, "a monitor's CPU is evidence, not an objective"},
		{"start 0", []string{"-u", u, "--slo", "p99<1s", "--start", "0"}, "--start 0: want a rate > 0"},
		{"max below start", []string{"-u", u, "--slo", "p99<1s", "--start", "50", "--max", "10"}, "--max 10: want a rate between --start (50)"},
		{"short step", []string{"-u", u, "--slo", "p99<1s", "--step", "1s"}, "--step 1s: want at least 3s"},
		{"html out", []string{"-u", u, "--slo", "p99<1s", "--out", "html=x.html"}, "surge capacity writes json=PATH"},
		{"no target", []string{"--slo", "p99<1s"}, "nothing to test"},
		{"two problems at once", []string{"-u", u, "--start", "0"}, "no objective: give at least one --slo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := capacityMain(t, tc.args...)
			if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, stderr, cli.ExitUsage, tc.want)
			}
		})
	}
	if n := tb.Count(); n != 0 {
		t.Errorf("the target received %d requests; bad usage must send nothing", n)
	}
}

// A target of one worker of 100ms takes 10/s: a search from 40/s misses at
// its start, exits 3 and says so, in the text and in the JSON.
func TestCapacityStartRateMisses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search step of a few seconds")
	}
	tb := testutil.StartTarget(t, testbed.Options{Workers: 1, WorkTime: 100 * time.Millisecond})
	out := filepath.Join(t.TempDir(), "cap.json")
	stdout, stderr, code := capacityMain(t, "-u", tb.URL()+"/work", "--slo", "p99<300ms", "--start", "40", "--step", "3s", "--out", "json="+out)
	if code != cli.ExitThresholds {
		t.Fatalf("exit %d; want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "the start rate misses the objectives") {
		t.Errorf("stdout does not say the start rate missed:\n%s", stdout)
	}
	var res struct {
		StartMissed bool    `json:"start_missed"`
		MaxRate     float64 `json:"max_rate"`
		Steps       []any   `json:"steps"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if !res.StartMissed || res.MaxRate != 0 || len(res.Steps) != 1 {
		t.Errorf("start_missed %v, max_rate %v, %d steps; want true, 0, 1", res.StartMissed, res.MaxRate, len(res.Steps))
	}
}

// A short search that passes up to --max: exit 0, live step lines with the
// time left on stderr, the result on stdout, and surge.capacity/v1 with
// every field CONTRACT.md names (golden list of its key paths).
func TestCapacityJSONShape(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search of ~15s")
	}
	tb := testutil.StartTarget(t, testbed.Options{Workers: 4, WorkTime: 20 * time.Millisecond})
	out := filepath.Join(t.TempDir(), "cap.json")
	stdout, stderr, code := capacityMain(t, "-u", tb.URL()+"/work", "--slo", "p99<500ms", "--slo", "errors<1%",
		"--start", "10", "--max", "20", "--step", "3s", "--out", "json="+out)
	if code != cli.ExitOK {
		t.Fatalf("exit %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "grow        10.0/s") || !strings.Contains(stderr, "left") {
		t.Errorf("no live step line with the time left on stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, "max rate:   20.0/s (a lower bound") || !strings.Contains(stdout, "bottleneck: unknown") {
		t.Errorf("stdout:\n%s", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if s := v.(map[string]any)["schema"]; s != "surge.capacity/v1" {
		t.Errorf("schema %v", s)
	}
	paths := map[string]bool{}
	keyPaths(v, "", paths)
	var lines []string
	for p := range paths {
		lines = append(lines, p)
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"
	golden := filepath.Join("testdata", "capacity-v1.fields")
	if *updateCapacity {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-capacity to create it)", err)
	}
	if got != string(want) {
		t.Errorf("the JSON's fields differ from %s (rerun with -update-capacity and review):\n%s", golden, got)
	}
	// CONTRACT.md's fields, whatever else the golden file lists.
	for _, f := range []string{"schema", "slo[]", "max_rate", "knee_rate", "steps[].rate", "steps[].achieved_rps",
		"steps[].p50_ms", "steps[].p99_ms", "steps[].error_rate", "steps[].ok", "bottleneck.kind", "bottleneck.evidence"} {
		if !paths[f] {
			t.Errorf("surge.capacity/v1 lacks %s", f)
		}
	}
}

// keyPaths collects the JSON key paths of v: "a.b", "list[].c".
func keyPaths(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			keyPaths(e, p, out)
		}
	case []any:
		out[prefix+"[]"] = true
		delete(out, prefix)
		for _, e := range x {
			keyPaths(e, prefix+"[]", out)
		}
	}
}

// An interrupt ends the search: the steps so far are reported, and the
// exit code is 130.
func TestCapacityInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search step of a few seconds")
	}
	tb := testutil.StartTarget(t, testbed.Options{Workers: 4, WorkTime: 10 * time.Millisecond})
	sig := make(chan os.Signal, 1)
	var out bytes.Buffer
	errOut := &lockedWriter{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lines := make(chan struct{})
	go func() {
		// After the first step line (the warm-up is 3s, a step 3s).
		deadline := time.After(30 * time.Second)
		for !strings.Contains(errOut.String(), "grow ") {
			select {
			case <-deadline:
				close(lines)
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		sig <- os.Interrupt
		close(lines)
	}()
	err := cli.Main(ctx, cli.Env{Args: []string{"capacity", "-u", tb.URL() + "/work", "--slo", "p99<1s", "--step", "3s"},
		Stdout: &out, Stderr: errOut, Getenv: func(string) string { return "" }, Signals: sig})
	<-lines
	if code := cli.ExitCode(err); code != cli.ExitInterrupted {
		t.Fatalf("exit %d (%v); want 130\nstdout:\n%s\nstderr:\n%s", code, err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "grow        10.0/s") {
		t.Errorf("the result does not report the steps so far:\n%s", out.String())
	}
}

// lockedWriter is a buffer that a command writes while a test reads it.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
