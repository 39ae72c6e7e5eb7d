package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// runSummary runs `surge run` with args and --out json, checks the
// summary against the field list and returns it.
func runSummary(t *testing.T, args ...string) report.Summary {
	t.Helper()
	out := filepath.Join(t.TempDir(), "s.json")
	r := raw(t, 60*time.Second, append(append([]string{"run", "-q"}, args...), "--out", "json="+out)...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, b)
	var s report.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A 30 ms endpoint of a real target shows its 30 ms in wait, the JSON
// summary has every phase and says the requests went as HTTP/1.1; in the
// open model an iteration's wait for a VU is its queued phase.
func TestRunSummaryHasPhases(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	for _, c := range []struct {
		name string
		load []string
	}{
		{"closed", []string{"--vus", "2"}},
		{"open", []string{"--rate", "100", "--max-vus", "10"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := runSummary(t, append([]string{"-u", tb.URL() + "/delay?ms=30", "--requests", "20"}, c.load...)...)
			if len(s.Endpoints) != 1 {
				t.Fatalf("endpoints %+v", s.Endpoints)
			}
			e := s.Endpoints[0]
			if e.Requests != 20 || e.Errors != 0 || e.Protocols["HTTP/1.1"] != 20 || len(e.Protocols) != 1 {
				t.Errorf("%d requests, %d errors, protocols %v; want 20 HTTP/1.1", e.Requests, e.Errors, e.Protocols)
			}
			if w := e.Phases["wait"]; w.P50 < 30 || w.P50 > 45 {
				t.Errorf("wait %+v: want its p50 about 30 ms", w)
			}
			for _, p := range []string{"blocked", "connect", "tls", "send", "receive"} {
				if ph, ok := e.Phases[p]; !ok || ph.P50 > 5 {
					t.Errorf("%s: %+v, %v; want it present and small", p, ph, ok)
				}
			}
			if _, ok := e.Phases["queued"]; ok != (c.name == "open") {
				t.Errorf("queued present %v in the %s model", ok, c.name)
			}
			if w, l := e.Phases["wait"].Max, e.Latency.Max; w > l {
				t.Errorf("wait max %v beyond the latency's max %v", w, l)
			}
		})
	}
}

// h2cServer is a server of prior-knowledge HTTP/2 (and HTTP/1.1) that
// counts the requests it saw by protocol.
func h2cServer(t *testing.T) (string, func() map[string]int64) {
	t.Helper()
	var mu sync.Mutex
	saw := map[string]int64{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		saw[r.Proto]++
		mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, func() map[string]int64 {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int64{}
		for k, v := range saw {
			out[k] = v
		}
		return out
	}
}

// --http2 and a scenario's defaults.http: 2 send every request as HTTP/2
// (h2c) through the agent a local run uses: the server saw HTTP/2.0 for
// every request, as many as the summary counts, and the summary says so;
// without them the same server sees HTTP/1.1. The flag wins over the file.
func TestRunHTTP2(t *testing.T) {
	url, saw := h2cServer(t)
	dir := t.TempDir()
	scen := func(name, http string) string {
		p := filepath.Join(dir, name)
		src := "target: " + url + "\n" + http + "load: {vus: 4, iterations: 40}\nflows:\n  - steps: [{name: hello, get: /hello}]\n"
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name  string
		args  []string
		proto string
		plan  int
	}{
		{"--http2", []string{"-u", url + "/hello", "--vus", "4", "--requests", "40", "--http2"}, "HTTP/2.0", 2},
		{"defaults.http: 2", []string{scen("h2.yaml", "defaults: {http: 2}\n")}, "HTTP/2.0", 2},
		{"--http2 over defaults.http: 1", []string{scen("h1.yaml", "defaults: {http: 1}\n"), "--http2"}, "HTTP/2.0", 2},
		{"--http2=false over defaults.http: 2", []string{scen("h2b.yaml", "defaults: {http: 2}\n"), "--http2=false"}, "HTTP/1.1", 1},
		{"default", []string{"-u", url + "/hello", "--vus", "4", "--requests", "40"}, "HTTP/1.1", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := saw()
			s := runSummary(t, c.args...)
			after := saw()
			e := s.Endpoints[0]
			if e.Requests != 40 || e.Errors != 0 || e.Protocols[c.proto] != 40 || len(e.Protocols) != 1 {
				t.Errorf("%d requests, %d errors, protocols %v; want 40 %s", e.Requests, e.Errors, e.Protocols, c.proto)
			}
			if n := after[c.proto] - before[c.proto]; n != e.Requests || s.Totals.Requests != n {
				t.Errorf("the server saw %d %s requests (%v), the summary %d", n, c.proto, after, s.Totals.Requests)
			}
			if s.Plan.HTTP != c.plan {
				t.Errorf("plan.http %d, want %d", s.Plan.HTTP, c.plan)
			}
			if _, ok := e.Phases["wait"]; !ok {
				t.Errorf("no wait phase: %v", e.Phases)
			}
		})
	}
}

// A bad defaults.http is a usage error naming the key; nothing is sent.
func TestRunBadDefaultsHTTP(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte("target: http://127.0.0.1:1\ndefaults: {http: 3}\nflows:\n  - steps: [{get: /}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := raw(t, 30*time.Second, "run", "-q", p)
	if r.code != 2 || !strings.Contains(r.stderr, "defaults.http") {
		t.Errorf("exit %d, stderr %q; want 2 naming defaults.http", r.code, r.stderr)
	}
}
