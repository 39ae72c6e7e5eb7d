package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/cli"
	"github.com/surgeload/surge/internal/protocol/grpc/grpctest"
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
		{"csv out", []string{"-u", u, "--slo", "p99<1s", "--out", "csv=x.csv"}, "surge capacity writes json=PATH (surge.capacity/v1) and html=PATH"},
		{"two html outs", []string{"-u", u, "--slo", "p99<1s", "--out", "html=a.html", "--out", "html=b.html"}, `--out "html=b.html": give one html=PATH`},
		{"json and html in one file", []string{"-u", u, "--slo", "p99<1s", "--out", "html=a", "--out", "json=a"}, "give each its own file"},
		{"bad probe", []string{"-u", u, "--slo", "p99<1s", "--probe", "127.0.0.1:8080/health"}, `--probe "127.0.0.1:8080/health": want an http:// or https:// URL`},
		{"bad link unit", []string{"-u", u, "--slo", "p99<1s", "--link", "1Gbps"}, `--link "1Gbps": unit "Gbps"`},
		{"bad link number", []string{"-u", u, "--slo", "p99<1s", "--link", "fast"}, `--link "fast": want a number and a unit`},
		{"no target", []string{"--slo", "p99<1s"}, "nothing to test"},
		{"two problems at once", []string{"-u", u, "--start", "0"}, "no objective: give at least one --slo"},
		// Objectives name the plan's flows and steps as surge run's
		// thresholds do, checked the same way before anything is sent.
		{"unknown flow", []string{"testdata/capacity-two-steps.yaml", "-u", tb.URL(), "--slo", "flow[brows].p99<1s"},
			"--slo \"flow[brows].p99<1s\": no flow is named `brows`; did you mean `browse`?"},
		{"unknown endpoint", []string{"testdata/capacity-two-steps.yaml", "-u", tb.URL(), "--slo", "p99<1s", "--slo", "endpoint[itme].p99<1s"},
			"--slo \"endpoint[itme].p99<1s\": no step is named `itme`; did you mean `item`?"},
		{"a step as a flow", []string{"testdata/capacity-two-steps.yaml", "-u", tb.URL(), "--slo", "flow[list].p99<1s"},
			"`list` is a step: write endpoint[list] for its requests"},
		{"no such flow in a quick plan", []string{"-u", u, "--slo", "flow[order].p99<1s"}, "--slo \"flow[order].p99<1s\": no flow is named `order`"},
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

// A scenario's load: section is not what the search runs: surge capacity
// says so of a file that has one, and not of a file without.
func TestCapacitySaysTheLoadSectionIsNotUsed(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	for _, tc := range []struct {
		file string
		says bool
	}{
		{"testdata/capacity-with-load.yaml", true},
		{"testdata/capacity-two-steps.yaml", false},
	} {
		// An objective on a flow the file lacks stops the search before it
		// sends anything, after the note.
		_, stderr, code := capacityMain(t, tc.file, "-u", tb.URL(), "--slo", "flow[nothere].p99<1s")
		if code != cli.ExitUsage {
			t.Fatalf("%s: exit %d; want 2\n%s", tc.file, code, stderr)
		}
		if got := strings.Contains(stderr, "its load: section is not used"); got != tc.says {
			t.Errorf("%s: says the load: section is not used: %v; want %v\n%s", tc.file, got, tc.says, stderr)
		}
	}
	if n := tb.Count(); n != 0 {
		t.Errorf("the target received %d requests; want none", n)
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
	page := filepath.Join(t.TempDir(), "cap.html")
	stdout, stderr, code := capacityMain(t, "-u", tb.URL()+"/work", "--slo", "p99<500ms", "--slo", "errors<1%",
		"--start", "10", "--max", "20", "--step", "3s", "--probe", tb.URL()+"/health", "--out", "json="+out, "--out", "html="+page)
	if code != cli.ExitOK {
		t.Fatalf("exit %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "grow        10.0/s") || !strings.Contains(stderr, "left") || !strings.Contains(stderr, "probe p50 ") {
		t.Errorf("no live step line with the time left on stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, "max rate:   20.0/s (a lower bound") || !strings.Contains(stdout, "bottleneck: unknown") ||
		!strings.Contains(stdout, "the curve, by offered rate") {
		t.Errorf("stdout:\n%s", stdout)
	}
	// The page embeds the same document.
	h, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(h, []byte(`id="surge-capacity"`)) || !bytes.Contains(h, []byte(`id="chart-throughput"`)) {
		t.Errorf("the html output is not the capacity page (%d bytes)", len(h))
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
	for _, f := range []string{"schema", "slo[]", "max_rate", "knee_rate", "steps[].rate", "steps[].achieved_rps", "steps[].achieved_ips",
		"steps[].p50_ms", "steps[].p99_ms", "steps[].error_rate", "steps[].ok", "bottleneck.kind", "bottleneck.evidence",
		"steps[].probe_p50_ms", "steps[].probe_p99_ms", "steps[].probe_errors", "probe"} {
		if !paths[f] {
			t.Errorf("surge.capacity/v1 lacks %s", f)
		}
	}
}

// A scenario whose flow sends two requests an iteration, with objectives
// on its flow and one of its steps (names the plan has, so the search
// runs): the rates are iterations/s, the achieved iterations/s are held
// against them and the requests/s are shown beside them.
func TestCapacityAFlowOfTwoSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search of ~12s")
	}
	tb := testutil.StartTarget(t, testbed.Options{})
	out := filepath.Join(t.TempDir(), "cap.json")
	stdout, stderr, code := capacityMain(t, "testdata/capacity-two-steps.yaml", "-u", tb.URL(), "--slo", "flow[browse].p99<500ms",
		"--slo", "endpoint[item].p99<500ms", "--start", "20", "--max", "20", "--step", "3s", "--out", "json="+out)
	if code != cli.ExitOK {
		t.Fatalf("exit %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "req/s)") || !strings.Contains(stdout, "2.00 per iteration") {
		t.Errorf("stdout without the requests/s beside the iterations/s:\n%s", stdout)
	}
	var res struct {
		MaxRate  float64 `json:"max_rate"`
		PerIter  float64 `json:"requests_per_iteration"`
		Plateau  float64 `json:"plateau_ips"`
		Requests float64 `json:"plateau_rps"`
		Steps    []struct {
			Rate, IPS, RPS float64
			OK             bool
		} `json:"steps"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// The steps' fields by their JSON names.
	b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte(`"achieved_ips"`), []byte(`"IPS"`)), []byte(`"achieved_rps"`), []byte(`"RPS"`))
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.MaxRate != 20 || res.PerIter != 2 || len(res.Steps) == 0 {
		t.Fatalf("max rate %v, %v requests per iteration, %d steps; want 20, 2, some", res.MaxRate, res.PerIter, len(res.Steps))
	}
	for _, st := range res.Steps {
		if !st.OK || st.IPS < 19 || st.IPS > 21 || st.RPS < 38 || st.RPS > 42 {
			t.Errorf("step at %v/s: ok %v, %v iterations/s, %v requests/s; want a pass at ~20 and ~40", st.Rate, st.OK, st.IPS, st.RPS)
		}
	}
	if res.Plateau < 19 || res.Requests < 38 {
		t.Errorf("plateau %v iterations/s, %v requests/s; want ~20 and ~40", res.Plateau, res.Requests)
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

// The demo refuses what it cannot write, before it starts anything.
func TestDemoBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", "csv=x.csv"}, `--out "csv=x.csv": the demo writes json=PATH (surge.capacity/v1) or html=PATH`},
		{[]string{"--out", "json=a.json", "--out", "json=b.json"}, `give one json=PATH`},
		{[]string{"--duration", "2s"}, "--duration must be at least 3s"},
	} {
		var out, errOut bytes.Buffer
		err := cli.Main(context.Background(), cli.Env{Args: append([]string{"demo"}, tc.args...), Stdout: &out, Stderr: &errOut,
			Getenv: func(string) string { return "" }})
		if code := cli.ExitCode(err); code != cli.ExitUsage || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("demo %v: exit %d, stderr %q; want %d saying %q", tc.args, code, errOut.String(), cli.ExitUsage, tc.want)
		}
		if strings.Contains(out.String(), "testbed listening") {
			t.Errorf("demo %v started the testbed", tc.args)
		}
	}
}

// --http2 reaches the search's run as surge run's does: the target sees
// HTTP/2 with prior knowledge (h2c) with it, HTTP/1.1 without.
func TestCapacityHTTP2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two searches of ~3s")
	}
	var h1, h2 atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			h1.Add(1)
		}
	})}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	u := "http://" + ln.Addr().String() + "/"
	for _, tc := range []struct {
		flags  []string
		h1, h2 bool
	}{
		{[]string{"--http2"}, false, true},
		{nil, true, false},
	} {
		h1.Store(0)
		h2.Store(0)
		args := append([]string{"-u", u, "--slo", "errors<1%", "--start", "10", "--max", "10", "--step", "3s", "-q"}, tc.flags...)
		stdout, stderr, code := capacityMain(t, args...)
		if code != cli.ExitOK {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", tc.flags, code, stdout, stderr)
		}
		if (h1.Load() > 0) != tc.h1 || (h2.Load() > 0) != tc.h2 {
			t.Errorf("%v: %d HTTP/1.1 and %d HTTP/2 requests; want HTTP/1.1 %v, HTTP/2 %v", tc.flags, h1.Load(), h2.Load(), tc.h1, tc.h2)
		}
	}
}

// A search of one gRPC call names the server and method as its target,
// and its steps are the calls (a real greeter on loopback).
func TestCapacityOfAGRPCCall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search of ~7s")
	}
	greeter := grpctest.Start(t)
	file := filepath.Join(t.TempDir(), "grpc.yaml")
	yaml := "name: greeter\ndefaults: {grpc: {target: " + greeter.URL + ", reflection: true}}\nflows:\n  - name: hello\n    steps:\n" +
		"      - {name: hello, grpc: helloworld.Greeter/SayHello, message: {name: surge}, check: {status: OK}}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cap.json")
	stdout, stderr, code := capacityMain(t, file, "--slo", "p99<500ms", "--slo", "errors<1%", "--start", "20", "--max", "20", "--step", "3s", "-q", "--out", "json="+out)
	if code != cli.ExitOK {
		t.Fatalf("exit %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var res struct {
		Target  string  `json:"target"`
		MaxRate float64 `json:"max_rate"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if want := greeter.URL + "/helloworld.Greeter/SayHello"; res.Target != want || res.MaxRate != 20 {
		t.Errorf("target %q, max rate %v; want %q, 20", res.Target, res.MaxRate, want)
	}
	if greeter.Calls() < 60 {
		t.Errorf("the greeter served %d calls; want the search's (~20/s for ~7s)", greeter.Calls())
	}
}
