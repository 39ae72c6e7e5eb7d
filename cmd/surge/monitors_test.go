package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// freeAddr returns a loopback address nothing listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServing starts args (with the address from addr) and waits until
// url answers 200, trying other ports if the first was taken meanwhile.
// The process is bounded in time and stopped by t.Cleanup.
func startServing(t *testing.T, what string, bin string, args func(addr string) []string, header http.Header) string {
	t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		addr := freeAddr(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, bin, args(addr)...)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				cancel()
				<-exited
			}
			cancel()
		})
		url := "http://" + addr + "/metrics"
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			select {
			case <-exited:
				deadline = time.Time{} // the port was taken meanwhile: try another
				continue
			default:
			}
			req, _ := http.NewRequest("GET", url, nil)
			for k, v := range header {
				req.Header[k] = v
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return url
				}
			}
		}
		t.Logf("%s on %s did not come up: %s", what, addr, out)
	}
	t.Fatalf("could not start %s", what)
	return ""
}

// startSurgeMonitor runs `surge monitor` watching pid, with token if set.
func startSurgeMonitor(t *testing.T, pid int, token string) string {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return startServing(t, "surge monitor", surgeBin, func(addr string) []string {
		args := []string{"monitor", "--listen", addr, "--pid", strconv.Itoa(pid)}
		if token != "" {
			args = append(args, "--token", token)
		}
		return args
	}, h)
}

// monitoredSummary reads a summary with monitors and checks it against the
// field list, its run-specific keys (monitor names, series keys, label
// names) mapped to the list's placeholders.
func monitoredSummary(t *testing.T, path string) *report.Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	placeholder := func(m any, key string) any {
		mm, _ := m.(map[string]any)
		if len(mm) == 0 {
			return m
		}
		var one any
		for _, v := range mm {
			one = v
		}
		return map[string]any{key: one}
	}
	tl, _ := doc["timeline"].([]any)
	for _, p := range tl {
		pm := p.(map[string]any)
		if mons, ok := pm["monitors"].(map[string]any); ok {
			for name, series := range mons {
				mons[name] = placeholder(series, "series")
			}
			pm["monitors"] = placeholder(mons, "monitor")
		}
	}
	ms, _ := doc["monitors"].([]any)
	for _, m := range ms {
		for _, s := range m.(map[string]any)["series"].([]any) {
			sm := s.(map[string]any)
			sm["labels"] = placeholder(sm["labels"], "label")
		}
	}
	canon, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if p := summaryProblems(summaryFields(t), canon); len(p) > 0 {
		t.Errorf("the summary departs from testdata/summary-v1.fields:\n  %s", strings.Join(p, "\n  "))
	}
	s := new(report.Summary)
	if err := json.Unmarshal(b, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func findSeries(m report.MonitorSummary, name string, labels ...string) (report.MonitorSeries, bool) {
	for _, s := range m.Series {
		if s.Name != name {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			ok = ok && s.Labels[labels[i]] == labels[i+1]
		}
		if ok {
			return s, true
		}
	}
	return report.MonitorSeries{}, false
}

// TestRunScrapesMonitors: `surge run --monitor` of the testbed while
// scraping a real node_exporter, a `surge monitor` watching the testbed's
// process (this test's) and an endpoint that refuses connections. The
// working monitors have a scrape per interval and host CPU; the refused
// one fails every scrape; the run finishes with exit 0 and exact totals.
func TestRunScrapesMonitors(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	_, neURL := testutil.StartNodeExporter(t)
	smURL := startSurgeMonitor(t, os.Getpid(), "")
	dead := "http://" + freeAddr(t) + "/metrics"
	out := filepath.Join(t.TempDir(), "s.json")
	r := raw(t, 60*time.Second, "run", "-q", "-u", tb.URL()+"/hello", "--rate", "100", "--duration", "4s",
		"--monitor", "node="+neURL, "--monitor", "sm="+smURL, "--monitor", "dead="+dead, "--out", "json="+out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	s := monitoredSummary(t, out)
	if s.Totals.Requests != 400 || s.Totals.Requests != tb.Count() || s.Totals.Errors != 0 {
		t.Fatalf("requests %d (target saw %d), errors %d; want 400 each, no errors", s.Totals.Requests, tb.Count(), s.Totals.Errors)
	}
	if len(s.Monitors) != 3 {
		t.Fatalf("monitors: %+v", s.Monitors)
	}
	n := len(s.Timeline)
	for _, m := range s.Monitors[:2] {
		if m.Scrapes < n-1 || m.Failed != 0 {
			t.Errorf("monitor %s: %d scrapes, %d failed over %d intervals; want ≥ %d, 0 failed (%s)", m.Name, m.Scrapes, m.Failed, n, n-1, m.LastError)
		}
		if cpu, ok := findSeries(m, scrape.HostCPUBusyPercent); !ok || cpu.Max <= 0 || cpu.Max > 105 {
			t.Errorf("monitor %s: host CPU busy %+v (found %v)", m.Name, cpu, ok)
		}
		if mem, ok := findSeries(m, scrape.HostMemoryAvailable); !ok || mem.Min < 1<<20 {
			t.Errorf("monitor %s: memory available %+v (found %v)", m.Name, mem, ok)
		}
		// The timeline carries host CPU in the intervals after the first scrape.
		vals := 0
		for _, p := range s.Timeline {
			if v := p.Monitors[m.Name][scrape.HostCPUBusyPercent]; v != nil {
				vals++
			}
		}
		if vals < n-2 {
			t.Errorf("monitor %s: host CPU on %d of %d timeline points", m.Name, vals, n)
		}
	}
	pid := strconv.Itoa(os.Getpid())
	if rss, ok := findSeries(s.Monitors[1], scrape.ProcessRSS, "pid", pid); !ok || rss.Min < 1<<20 {
		t.Errorf("surge monitor: the testbed process's RSS %+v (found %v)", rss, ok)
	}
	if cpu, ok := findSeries(s.Monitors[1], scrape.ProcessCPUCores, "pid", pid); !ok || cpu.Max <= 0 {
		t.Errorf("surge monitor: the testbed process's CPU %+v (found %v): it served 100 requests/s", cpu, ok)
	}
	if d := s.Monitors[2]; d.Scrapes < n-1 || d.Failed != d.Scrapes || len(d.Series) != 0 || !strings.Contains(d.LastError, "refused") {
		t.Errorf("refused monitor: %+v", d)
	}
	for _, want := range []string{"monitor node  " + neURL, "monitor sm  " + smURL, "host     cpu peak", "every scrape failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("terminal summary lacks %q:\n%s", want, r.stdout)
		}
	}
	t.Logf("intervals %d; scrapes: node %d, sm %d, dead %d", n, s.Monitors[0].Scrapes, s.Monitors[1].Scrapes, s.Monitors[2].Scrapes)
}

// TestScenarioMonitorsKey: a scenario's `monitors:` with a token read from
// the environment and an allow-list scrapes a `surge monitor` that demands
// the token, keeping only the allowed metrics (and the derived series).
func TestScenarioMonitorsKey(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	const token = "a-monitor-token-of-32-characters"
	smURL := startSurgeMonitor(t, os.Getpid(), token)
	t.Setenv("SURGE_TEST_MONITOR_TOKEN", token)
	dir := t.TempDir()
	file := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`target: %s
load: {model: closed, vus: 2, duration: 3s}
flows: [{steps: [{get: /hello}]}]
monitors:
  - name: api
    url: %s
    token: "{{env.SURGE_TEST_MONITOR_TOKEN}}"
    allow: [process_resident_memory_bytes, node_load*]
`, tb.URL(), smURL)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "s.json")
	r := raw(t, 60*time.Second, "run", "-q", file, "--out", "json="+out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	s := monitoredSummary(t, out)
	if s.Totals.Requests != tb.Count() {
		t.Errorf("requests %d, target saw %d", s.Totals.Requests, tb.Count())
	}
	m := s.Monitors[0]
	if m.Name != "api" || m.Failed != 0 || m.Scrapes < len(s.Timeline)-1 {
		t.Fatalf("monitor %+v over %d intervals", m, len(s.Timeline))
	}
	for _, ss := range m.Series {
		derived := strings.HasPrefix(ss.Name, "host_") || strings.HasPrefix(ss.Name, "process_cpu_") || ss.Name == scrape.ProcessRSS || strings.HasPrefix(ss.Name, "cgroup_")
		if !derived && ss.Name != "process_resident_memory_bytes" && !strings.HasPrefix(ss.Name, "node_load") {
			t.Errorf("series %s is not in the allow-list", ss.Name)
		}
	}
	if _, ok := findSeries(m, "process_resident_memory_bytes", "pid", strconv.Itoa(os.Getpid())); !ok {
		t.Errorf("no allowed process_resident_memory_bytes: %+v", m.Series)
	}

	// A token whose variable is not set is refused before anything is sent.
	t.Setenv("SURGE_TEST_MONITOR_TOKEN", "")
	r = raw(t, 30*time.Second, "run", "-q", file)
	if r.code != 2 || !strings.Contains(r.stderr, "m.yaml:7:12: environment variable `SURGE_TEST_MONITOR_TOKEN` of the monitor token is not set") {
		t.Errorf("an unset token: exit %d, stderr %s", r.code, r.stderr)
	}
}

// TestBadMonitorFlags: a --monitor that cannot be scraped is refused
// before anything is sent: exit 2, the flag named.
func TestBadMonitorFlags(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	for _, c := range []struct{ flag, want string }{
		{"ftp://127.0.0.1/metrics", `--monitor ftp://127.0.0.1/metrics: monitor url "ftp://127.0.0.1/metrics": want an http:// or https:// URL`},
		{"=http://127.0.0.1:9100/metrics", "the name before = is empty"},
		{"127.0.0.1:9100", "want an http:// or https:// URL"},
	} {
		r := raw(t, 30*time.Second, "run", "-q", "-u", tb.URL()+"/hello", "--requests", "1", "--monitor", c.flag)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("--monitor %s: exit %d, stderr %q; want 2 and %q", c.flag, r.code, r.stderr, c.want)
		}
	}
	r := raw(t, 30*time.Second, "run", "-q", "-u", tb.URL()+"/hello", "--requests", "1",
		"--monitor", "a=http://127.0.0.1:9100/metrics", "--monitor", "a=http://127.0.0.1:9101/metrics")
	if r.code != 2 || !strings.Contains(r.stderr, `monitor name "a" is taken`) {
		t.Errorf("duplicate names: exit %d, stderr %q", r.code, r.stderr)
	}
	if tb.Count() != 0 {
		t.Errorf("the target received %d requests from refused runs", tb.Count())
	}
}
