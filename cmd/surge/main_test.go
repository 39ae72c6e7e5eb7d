package main_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// These tests build the real binary and run it against the testbed on
// 127.0.0.1, checking exit codes, output and the JSON summary.

var surgeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "surge-e2e")
	if err != nil {
		panic(err)
	}
	surgeBin = filepath.Join(dir, "surge")
	if out, err := exec.Command("go", "build", "-o", surgeBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building surge: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
	summary        *report.Summary
}

// surge runs the binary with args (plus --out json=… and -q) and a 60 s bound.
func surge(t *testing.T, args ...string) result {
	t.Helper()
	r, _ := start(t, args...)
	return r()
}

func start(t *testing.T, args ...string) (wait func() result, cmd *exec.Cmd) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "summary.json")
	if len(args) > 0 && args[0] == "run" {
		args = append(args, "-q", "--out", "json="+out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd = exec.CommandContext(ctx, surgeBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return func() result {
		defer cancel()
		err := cmd.Wait()
		r := result{stdout: stdout.String(), stderr: stderr.String()}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			r.code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(out); err == nil {
			r.summary = new(report.Summary)
			if err := json.Unmarshal(b, r.summary); err != nil {
				t.Fatalf("summary: %v", err)
			}
			checkSummary(t, b)
		}
		return r
	}, cmd
}

func mustOK(t *testing.T, r result) *report.Summary {
	t.Helper()
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit %d, summary %v\nstdout:\n%s\nstderr:\n%s", r.code, r.summary != nil, r.stdout, r.stderr)
	}
	return r.summary
}

func TestTotalsEqualWhatTheTargetReceived(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int64 // 0: any, but equal to the target's count
	}{
		{"closed with a request budget", []string{"--vus", "8", "--requests", "500"}, 500},
		{"open for a duration", []string{"--rate", "200", "--duration", "2s"}, 400},
		{"open with a request budget", []string{"--rate", "300", "--requests", "123"}, 123},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := testutil.StartTarget(t, testbed.Options{})
			s := mustOK(t, surge(t, append([]string{"run", "-u", tb.URL() + "/hello"}, tt.args...)...))
			if s.Totals.Requests != tb.Count() {
				t.Fatalf("summary counted %d, target received %d", s.Totals.Requests, tb.Count())
			}
			if tt.want != 0 && s.Totals.Requests != tt.want {
				t.Fatalf("requests %d, want %d", s.Totals.Requests, tt.want)
			}
			if s.Totals.Errors != 0 {
				t.Fatalf("errors %d: %v", s.Totals.Errors, s.Messages)
			}
		})
	}
}

func TestOpenModelDeliversTheRate(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := mustOK(t, surge(t, "run", "-u", tb.URL()+"/hello", "--rate", "500", "--duration", "4s"))
	if got := s.Totals.Requests; got < 1980 || got > 2020 {
		t.Fatalf("sent %d requests, want 2000 ± 1%%", got)
	}
	if rps := s.Totals.RPS; rps < 495 || rps > 505 {
		t.Fatalf("achieved %.1f req/s, want 500 ± 1%%", rps)
	}
	if s.Run.Model != "open" || s.Totals.DroppedIterations != 0 {
		t.Fatalf("model %s dropped %d", s.Run.Model, s.Totals.DroppedIterations)
	}
}

func TestLatencyOfA20msEndpoint(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := mustOK(t, surge(t, "run", "-u", tb.URL()+"/delay?ms=20", "--vus", "4", "--duration", "2s"))
	if p50 := s.Latency.P50; p50 < 20 || p50 > 23 {
		t.Fatalf("p50 %.2f ms, want 20–23 ms", p50)
	}
	if len(s.Endpoints) != 1 || s.Endpoints[0].Name != "/delay" || s.Endpoints[0].Method != "GET" {
		t.Fatalf("endpoints %+v", s.Endpoints)
	}
}

// A target that stalls for 1 s every 2 s: the open model measures from the
// due time, so the stall shows in p99 and max; the closed model, whose users
// wait politely during the stall, hides most of it (coordinated omission).
func TestStallShowsInOpenModelLatency(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{StallEvery: 2 * time.Second, StallFor: time.Second})
	open := mustOK(t, surge(t, "run", "-u", tb.URL()+"/hello", "--rate", "100", "--duration", "4s"))
	if open.Latency.P99 < 700 || open.Latency.Max < 900 {
		t.Fatalf("open model p99 %.1f ms max %.1f ms: the 1 s stall must show", open.Latency.P99, open.Latency.Max)
	}
	if open.Latency.P90 < 400 {
		// about half of all requests fall due during a stall and wait out
		// the rest of it, so the top tenth waited ≥ 0.8 s
		t.Fatalf("open model p90 %.1f ms: requests due during the stall must wait", open.Latency.P90)
	}
	closed := mustOK(t, surge(t, "run", "-u", tb.URL()+"/hello", "--vus", "2", "--duration", "4s"))
	if closed.Latency.P90 > 50 {
		t.Fatalf("closed model p90 %.1f ms, expected the stall to hide", closed.Latency.P90)
	}
	if open.Totals.Requests != open.Totals.Iterations {
		t.Fatalf("requests %d iterations %d", open.Totals.Requests, open.Totals.Iterations)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestErrorsLandInTheirClasses(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	tests := []struct {
		name, url, class string
		extra            []string
	}{
		{"5xx", tb.URL() + "/status/503", "status_5xx", nil},
		{"4xx", tb.URL() + "/status/404", "status_4xx", nil},
		{"reset", tb.URL() + "/reset", "connection_reset", nil},
		{"closed without answer", tb.URL() + "/close", "connection_reset", nil},
		{"refused", "http://" + freePort(t) + "/", "connection_refused", nil},
		{"timeout", tb.URL() + "/hang", "timeout", []string{"--timeout", "200ms"}},
		{"garbage", tb.URL() + "/garbage", "other", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOK(t, surge(t, append([]string{"run", "-u", tt.url, "--vus", "2", "--requests", "10"}, tt.extra...)...))
			if s.Totals.Requests != 10 || s.Totals.Errors != 10 || s.Errors[tt.class] != 10 {
				t.Fatalf("requests %d errors %d classes %v, want 10 in %s; messages %v", s.Totals.Requests, s.Totals.Errors, s.Errors, tt.class, s.Messages)
			}
		})
	}
}

// https targets go through net/http: an unknown certificate authority is a
// tls error; with --insecure the requests succeed, over HTTP/2.
func TestTLSAndHTTP2(t *testing.T) {
	var h2, total atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()

	s := mustOK(t, surge(t, "run", "-u", srv.URL+"/", "--vus", "2", "--requests", "10"))
	if s.Errors["tls"] != 10 || s.Totals.Errors != 10 {
		t.Fatalf("untrusted certificate: classes %v, want 10 tls errors; messages %v", s.Errors, s.Messages)
	}
	s = mustOK(t, surge(t, "run", "-u", srv.URL+"/", "--vus", "2", "--requests", "10", "--insecure"))
	if s.Totals.Errors != 0 || s.Totals.Requests != 10 {
		t.Fatalf("--insecure: %d requests, %d errors: %v", s.Totals.Requests, s.Totals.Errors, s.Messages)
	}
	if h2.Load() != 10 || total.Load() != 10 {
		t.Fatalf("server saw %d requests, %d over HTTP/2; want 10 and 10", total.Load(), h2.Load())
	}
}

func TestLargeAndSlowBodiesAreReadAndCounted(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := mustOK(t, surge(t, "run", "-u", tb.URL()+"/big?kb=10240", "--vus", "2", "--requests", "4"))
	if s.Totals.Errors != 0 || s.Totals.BytesReceived < 4*10<<20 {
		t.Fatalf("errors %d, received %d bytes, want ≥ 4 × 10 MiB", s.Totals.Errors, s.Totals.BytesReceived)
	}
	s = mustOK(t, surge(t, "run", "-u", tb.URL()+"/slow?ms=300", "--vus", "2", "--requests", "2"))
	if s.Totals.Errors != 0 || s.Latency.Min < 250 {
		t.Fatalf("errors %d, min latency %.1f ms: the whole trickled body must be waited for", s.Totals.Errors, s.Latency.Min)
	}
}

func TestThresholdsDecideTheExitCode(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	base := []string{"run", "-u", tb.URL() + "/hello", "--vus", "2", "--requests", "50"}
	pass := surge(t, append(base, "--threshold", "p99<5s", "--threshold", "errors<1%")...)
	if pass.code != 0 {
		t.Fatalf("passing thresholds: exit %d\n%s", pass.code, pass.stderr)
	}
	fail := surge(t, append(base, "--threshold", "p99<1us", "--threshold", "errors<1%")...)
	if fail.code != 3 {
		t.Fatalf("failing threshold: exit %d, want 3\n%s", fail.code, fail.stderr)
	}
	th := fail.summary.Thresholds
	if len(th) != 2 || th[0].OK || !th[1].OK || th[0].Unit != "ms" {
		t.Fatalf("thresholds %+v", th)
	}
}

func TestInvalidUsageExits2WithAClearMessage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"run", "--vus", "2"}, "give a target with -u URL"},
		{"unknown flag", []string{"run", "-u", "http://127.0.0.1:1/", "--vsu", "2"}, "unknown flag: --vsu"},
		{"both models", []string{"run", "-u", "http://127.0.0.1:1/", "--vus", "2", "--rate", "5"}, "not both"},
		{"bad stages", []string{"run", "-u", "http://127.0.0.1:1/", "--stages", "30s"}, "want DURATION:TARGET"},
		{"bad threshold", []string{"run", "-u", "http://127.0.0.1:1/", "--threshold", "p99<fast"}, `want a number, got "fast"`},
		{"bad out", []string{"run", "-u", "http://127.0.0.1:1/", "--out", "pdf=x"}, `unknown kind "pdf"`},
		{"bad URL", []string{"run", "-u", "ftp://127.0.0.1/"}, "want an http:// or https:// URL"},
		{"bad duration", []string{"run", "-u", "http://127.0.0.1:1/", "--duration", "soon"}, "invalid argument"},
		{"bad header", []string{"run", "-u", "http://127.0.0.1:1/", "-H", "nocolon"}, "want 'Name: value'"},
		{"unknown command", []string{"rnu"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := surge(t, tt.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("stderr %q lacks %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("stack trace in stderr: %s", r.stderr)
			}
		})
	}
}

func TestInterruptWritesASummaryOfWhatWasSent(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { testInterrupt(t, sig) })
	}
}

func testInterrupt(t *testing.T, sig syscall.Signal) {
	tb := testutil.StartTarget(t, testbed.Options{Latency: 20 * time.Millisecond})
	wait, cmd := start(t, "run", "-u", tb.URL()+"/hello", "--rate", "200", "--duration", "30s")
	deadline := time.Now().Add(10 * time.Second)
	for tb.Count() < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	r := wait()
	if took := time.Since(t0); took > 3*time.Second {
		t.Fatalf("stopping took %v", took)
	}
	// Ctrl-C is not success: exit 130, but the summary is written
	if r.code != 130 || r.summary == nil {
		t.Fatalf("exit %d (want 130), summary written %v\nstderr: %s", r.code, r.summary != nil, r.stderr)
	}
	s := r.summary
	if s.Totals.Requests < 100 || s.Totals.Requests != tb.Count() {
		t.Fatalf("summary counted %d, target received %d", s.Totals.Requests, tb.Count())
	}
	if s.Run.Status != "stopped" || s.Totals.Errors != 0 {
		t.Fatalf("status %q errors %d", s.Run.Status, s.Totals.Errors)
	}
}

// Every --out file is written, parses as its format, and holds this run's
// numbers: the JSON summary counts what the target received, the CSV has
// one row per interval of that summary adding up to its totals, the JUnit
// file has one test case per threshold with the failing one failed, and
// the HTML report embeds the same run.
func TestOutputsAreWritten(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	r := raw(t, 60*time.Second, "run", "-q", "-u", tb.URL()+"/delay?ms=5", "--vus", "2", "--duration", "2500ms",
		"--threshold", "p99<1us", "--threshold", "errors<1%",
		"--out", "json="+path("s.json"), "--out", "csv="+path("t.csv"), "--out", "junit="+path("j.xml"), "--out", "html="+path("r.html"))
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 (p99<1us fails)\n%s", r.code, r.stderr)
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(path(name))
		if err != nil {
			t.Fatalf("--out %s: %v", name, err)
		}
		return b
	}

	// JSON: the summary of this run.
	js := read("s.json")
	checkSummary(t, js)
	var s report.Summary
	if err := json.Unmarshal(js, &s); err != nil {
		t.Fatalf("json: %v", err)
	}
	if s.Totals.Requests == 0 || s.Totals.Requests != tb.Count() || s.Totals.Errors != 0 || len(s.Timeline) < 2 {
		t.Fatalf("json: %d requests (target saw %d), %d errors, %d intervals", s.Totals.Requests, tb.Count(), s.Totals.Errors, len(s.Timeline))
	}

	// CSV: one row per interval, the JSON timeline's numbers.
	rows, err := csv.NewReader(bytes.NewReader(read("t.csv"))).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	if len(rows) != 1+len(s.Timeline) {
		t.Fatalf("csv: %d rows, want a header and %d intervals", len(rows), len(s.Timeline))
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"time", "elapsed_s", "requests", "errors", "p99_ms"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("csv: no %s column in %q", name, rows[0])
		}
	}
	var csvRequests int64
	for i, row := range rows[1:] {
		p := s.Timeline[i]
		n, err1 := strconv.ParseInt(row[col["requests"]], 10, 64)
		e, err2 := strconv.ParseInt(row[col["errors"]], 10, 64)
		p99, err3 := strconv.ParseFloat(row[col["p99_ms"]], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("csv row %d: %v", i+1, err)
		}
		if row[col["time"]] != p.T || n != p.Requests || e != p.Errors || math.Abs(p99-p.P99) > 0.001 {
			t.Errorf("csv row %d: time %s requests %d errors %d p99 %v; the JSON interval: %s %d %d %v",
				i+1, row[col["time"]], n, e, p99, p.T, p.Requests, p.Errors, p.P99)
		}
		csvRequests += n
	}
	if csvRequests != s.Totals.Requests {
		t.Errorf("csv: the intervals add up to %d requests, the run sent %d", csvRequests, s.Totals.Requests)
	}

	// JUnit: a test case per threshold; only p99<1us failed.
	var junit struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(read("j.xml"), &junit); err != nil {
		t.Fatalf("junit: %v", err)
	}
	if len(junit.Suites) != 1 || junit.Suites[0].Tests != 2 || junit.Suites[0].Failures != 1 || len(junit.Suites[0].Cases) != 2 {
		t.Fatalf("junit: %+v, want one suite of 2 tests with 1 failure", junit.Suites)
	}
	for i, c := range junit.Suites[0].Cases {
		th := s.Thresholds[i]
		if c.Name != th.Expr || (c.Failure == nil) != th.OK {
			t.Errorf("junit case %d: %q failed %v; the summary: %q ok %v", i, c.Name, c.Failure != nil, th.Expr, th.OK)
		}
		if c.Failure != nil && !strings.HasPrefix(c.Failure.Message, "p99<1us: measured ") {
			t.Errorf("junit failure message %q", c.Failure.Message)
		}
	}
	if len(s.Thresholds) != 2 || s.Thresholds[0].OK || !s.Thresholds[1].OK {
		t.Fatalf("thresholds %+v, want p99<1us failed and errors<1%% passed", s.Thresholds)
	}

	// HTML: a page that embeds this run's summary.
	html := read("r.html")
	m := regexp.MustCompile(`(?s)<script type="application/json" id="surge-data">(.*?)</script>`).FindSubmatch(html)
	if !bytes.HasPrefix(bytes.TrimSpace(bytes.ToLower(html)), []byte("<!doctype html>")) || m == nil {
		t.Fatalf("html: not a report page with its data (%d bytes)", len(html))
	}
	var h report.Summary
	if err := json.Unmarshal(m[1], &h); err != nil {
		t.Fatalf("html: the embedded summary: %v", err)
	}
	if h.Run.ID != s.Run.ID || h.Totals.Requests != s.Totals.Requests || h.Latency.P99 != s.Latency.P99 || len(h.Timeline) != len(s.Timeline) {
		t.Errorf("html: run %s, %d requests, p99 %v, %d intervals; the JSON: %s, %d, %v, %d",
			h.Run.ID, h.Totals.Requests, h.Latency.P99, len(h.Timeline), s.Run.ID, s.Totals.Requests, s.Latency.P99, len(s.Timeline))
	}
}

// The demo is a short capacity search of a testbed bottleneck it starts
// itself (4 workers of 25 ms: at most 160/s), with a health probe: it
// prints the steps, the curve, the number and the cause, writes
// surge.capacity/v1 and the page, and exits 0 once it ran (docs/cli.md).
// The number is checked against first principles from above only: a busy
// machine can cut a short search's result, never raise it past what the
// workers allow.
func TestDemoFindsTheTestbedsCapacityAndItsCause(t *testing.T) {
	dir := t.TempDir()
	out, page := filepath.Join(dir, "demo.json"), filepath.Join(dir, "demo.html")
	r := raw(t, 120*time.Second, "demo", "--duration", "3s", "-q", "--out", "json="+out, "--out", "html="+page)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"testbed listening on http://127.0.0.1:", "/api/items: 4 workers × 25ms ≈ 160 req/s",
		"the curve, by offered rate", "max rate:", "bottleneck: ", "the answer: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Schema      string   `json:"schema"`
		SLO         []string `json:"slo"`
		MaxRate     float64  `json:"max_rate"`
		StartMissed bool     `json:"start_missed"`
		Probe       string   `json:"probe"`
		Steps       []struct {
			Rate   float64 `json:"rate"`
			OK     bool    `json:"ok"`
			Probes *int    `json:"probes"`
		} `json:"steps"`
		Bottleneck struct {
			Kind, Evidence string
		} `json:"bottleneck"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Schema != "surge.capacity/v1" || strings.Join(res.SLO, ",") != "p99<250ms,errors<1%" || !strings.HasSuffix(res.Probe, "/health") {
		t.Errorf("schema %q, slo %v, probe %q", res.Schema, res.SLO, res.Probe)
	}
	if len(res.Steps) < 3 {
		t.Fatalf("%d steps; want a search", len(res.Steps))
	}
	for _, s := range res.Steps {
		if s.Probes == nil {
			t.Errorf("step at %v/s without the probe's figures", s.Rate)
		}
	}
	if res.StartMissed || res.MaxRate <= 0 || res.MaxRate > 160*1.06 {
		t.Errorf("max rate %v (start missed %v); want a rate found, at most the workers' 160/s", res.MaxRate, res.StartMissed)
	}
	if res.Bottleneck.Kind == "" || res.Bottleneck.Evidence == "" || !strings.Contains(r.stdout, "bottleneck: "+res.Bottleneck.Kind) {
		t.Errorf("bottleneck %+v", res.Bottleneck)
	}
	h, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(h, []byte(`id="surge-capacity"`)) {
		t.Errorf("the html output is not the capacity page")
	}
}

func TestVersion(t *testing.T) {
	r := surge(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "surge ") {
		t.Fatalf("exit %d: %q", r.code, r.stdout)
	}
}
