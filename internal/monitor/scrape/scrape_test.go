package scrape_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/monitor/scrape"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sequence serves the bodies of files in turn, the last one from then on.
func sequence(t *testing.T, files ...string) *httptest.Server {
	t.Helper()
	var bodies [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(bodies)-1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(bodies[i])
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newMonitor(t *testing.T, tg scrape.Target, o scrape.Options) *scrape.Monitor {
	t.Helper()
	m, err := scrape.New(tg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestRatesGaugesQuantilesAndDerived(t *testing.T) {
	srv := sequence(t, "testdata/node1.prom", "testdata/node2.prom")
	clock := &fakeClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	m := newMonitor(t, scrape.Target{Name: "api", URL: srv.URL + "/metrics"}, scrape.Options{Now: clock.Now})

	first := m.Scrape(context.Background())
	if !first.OK() {
		t.Fatalf("first scrape failed: %s", first.Err)
	}
	if !first.T.Equal(clock.Now()) {
		t.Errorf("T = %v, want the time the scrape was sent, %v", first.T, clock.Now())
	}
	if _, ok := first.Find("node_network_receive_bytes_total", "device", "eth0"); ok {
		t.Error("a counter has a rate after one scrape")
	}
	if v, ok := first.Find("node_netstat_Tcp_CurrEstab"); !ok || v.V != 42 {
		t.Errorf("gauge after one scrape = %v, %v; want 42", v, ok)
	}
	clock.Add(2 * time.Second)
	s := m.Scrape(context.Background())
	if !s.OK() {
		t.Fatalf("second scrape failed: %s", s.Err)
	}

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
		unit   string
	}{
		{name: scrape.HostCPUBusyCores, want: 1.5, unit: "cores"}, // (1 + 1.5 + 0.5) CPU-seconds in 2 s, idle and iowait left out
		{name: scrape.HostCPUBusyPercent, want: 75, unit: "%"},    // of 2 CPUs
		{name: scrape.HostMemoryAvailable, want: 1e9, unit: "B"},
		{name: scrape.HostMemoryUsedPercent, want: 87.5, unit: "%"},
		{name: scrape.HostNetworkReceive, want: 1000, unit: "B/s"}, // eth0 only: lo never left the host
		{name: scrape.HostNetworkTransmit, want: 200, unit: "B/s"},
		{name: scrape.HostTCPEstablished, want: 42},
		{name: scrape.HostListenOverflows, want: 10, unit: "/s"},
		{name: scrape.ProcessCPUCores, labels: []string{"pid", "10", "name", "gunicorn"}, want: 0.5, unit: "cores"},
		{name: scrape.ProcessCPUPercent, labels: []string{"pid", "10", "name", "gunicorn"}, want: 25, unit: "%"},
		// pid 11's counter went from 9 to 1: it restarted and counts from 0.
		{name: scrape.ProcessCPUCores, labels: []string{"pid", "11", "name", "gunicorn"}, want: 0.5, unit: "cores"},
		{name: scrape.ProcessCPUPercent, labels: []string{"pid", "11", "name", "gunicorn"}, want: 50, unit: "%"},
		{name: scrape.ProcessRSS, labels: []string{"pid", "11", "name", "gunicorn"}, want: 2.5e8, unit: "B"},
		{name: scrape.ProcessMemoryPercent, labels: []string{"pid", "11", "name", "gunicorn"}, want: 25, unit: "%"}, // of its cgroup's 1 GB
		{name: scrape.CgroupCPUCores, labels: []string{"cgroup", "api"}, want: 0.5, unit: "cores"},
		{name: scrape.CgroupCPUPercent, labels: []string{"cgroup", "api"}, want: 100, unit: "%"},
		{name: scrape.CgroupThrottledPercent, labels: []string{"cgroup", "api"}, want: 25, unit: "%"},
		// raw series: a counter becomes its rate, CPU seconds become cores
		{name: "node_network_receive_bytes_total", labels: []string{"device", "lo"}, want: 2000, unit: "B/s"},
		{name: "node_cpu_seconds_total", labels: []string{"cpu", "1", "mode", "user"}, want: 0.75, unit: "cores"},
		{name: "node_netstat_TcpExt_ListenOverflows", want: 10, unit: "/s"}, // untyped in node_exporter, a counter all the same
		{name: "node_memory_MemTotal_bytes", want: 8e9, unit: "B"},
		// a histogram's quantiles over the 100 observations between the scrapes
		{name: "http_request_duration_seconds", labels: []string{"quantile", "0.5"}, want: 0.1, unit: "s"},
		{name: "http_request_duration_seconds", labels: []string{"quantile", "0.9"}, want: 0.2, unit: "s"},
		{name: "http_request_duration_seconds", labels: []string{"quantile", "0.99"}, want: 0.38, unit: "s"},
		// a summary's quantiles as they are
		{name: "rpc_latency_seconds", labels: []string{"quantile", "0.99"}, want: 0.3, unit: "s"},
	} {
		t.Run(c.name+fmt.Sprint(c.labels), func(t *testing.T) {
			v, ok := s.Find(c.name, c.labels...)
			if !ok {
				t.Fatalf("no series %s%v in %v", c.name, c.labels, names(s))
			}
			if math.Abs(v.V-c.want) > 1e-9 || v.Unit != c.unit {
				t.Errorf("%s = %v %q, want %v %q", v.Key(), v.V, v.Unit, c.want, c.unit)
			}
		})
	}
	if v, _ := s.Find(scrape.HostCPUBusyCores); !v.Derived {
		t.Error("derived series not marked Derived")
	}
	if v, ok := s.Find(scrape.ProcessMemoryPercent, "pid", "10", "name", "gunicorn"); ok {
		t.Errorf("pid 10 has no memory limit, yet %s = %v", v.Key(), v.V)
	}
	if st := m.Stats(); st.Scrapes != 2 || st.Failed != 0 {
		t.Errorf("stats = %+v, want 2 scrapes, 0 failed", st)
	}
}

func names(s scrape.Sample) []string {
	var out []string
	for _, v := range s.Values {
		out = append(out, v.Key())
	}
	return out
}

func TestAllowListKeepsDerived(t *testing.T) {
	srv := sequence(t, "testdata/node1.prom", "testdata/node2.prom")
	clock := &fakeClock{t: time.Unix(0, 0)}
	m := newMonitor(t, scrape.Target{URL: srv.URL, Allow: []string{"node_memory_*", "node_load1"}}, scrape.Options{Now: clock.Now})
	m.Scrape(context.Background())
	clock.Add(time.Second)
	s := m.Scrape(context.Background())
	for _, v := range s.Values {
		if !v.Derived && !strings.HasPrefix(v.Name, "node_memory_") {
			t.Errorf("allow-list let %s through", v.Key())
		}
	}
	if _, ok := s.Find("node_memory_MemTotal_bytes"); !ok {
		t.Error("allowed series missing")
	}
	if _, ok := s.Find(scrape.HostCPUBusyCores); !ok {
		t.Error("derived series missing under an allow-list")
	}
	if m.Target().Name == "" {
		t.Error("target name not defaulted from the URL")
	}
}

func TestNewRejectsBadTargets(t *testing.T) {
	for _, c := range []struct {
		name string
		t    scrape.Target
		want string
	}{
		{"no scheme", scrape.Target{URL: "127.0.0.1:9100/metrics"}, "monitor url"},
		{"ftp", scrape.Target{URL: "ftp://127.0.0.1/metrics"}, "monitor url"},
		{"no host", scrape.Target{URL: "http:///metrics"}, "monitor url"},
		{"empty allow", scrape.Target{URL: "http://127.0.0.1:1/", Allow: []string{"*"}}, `allow "*"`},
		{"inner star", scrape.Target{URL: "http://127.0.0.1:1/", Allow: []string{"a*b"}}, `allow "a*b"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := scrape.New(c.t, scrape.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New(%+v) = %v, want an error containing %q", c.t, err, c.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret-s3cret-s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, "up 1")
	}))
	defer srv.Close()
	if s := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{}).Scrape(context.Background()); s.OK() || !strings.Contains(s.Err, "401") {
		t.Errorf("without a token: %+v, want a failed scrape with status 401", s)
	}
	s := newMonitor(t, scrape.Target{URL: srv.URL, Token: "s3cret-s3cret-s3cret"}, scrape.Options{}).Scrape(context.Background())
	if v, ok := s.Find("up"); !s.OK() || !ok || v.V != 1 {
		t.Errorf("with the token: %+v", s)
	}
}

// TestCardinalityCap: a target with more series than MaxSeries keeps the
// first MaxSeries (in key order) on every scrape, and says which it dropped.
func TestCardinalityCap(t *testing.T) {
	var body strings.Builder
	body.WriteString("# TYPE many gauge\n")
	for i := range 20_000 {
		fmt.Fprintf(&body, "many{i=\"%06d\"} %d\n", i, i)
	}
	fmt.Fprintln(&body, "# TYPE node_memory_MemAvailable_bytes gauge\nnode_memory_MemAvailable_bytes 12345")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(body.String()))
	}))
	defer srv.Close()
	m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{MaxSeries: 100, Timeout: 10 * time.Second})
	for range 2 {
		s := m.Scrape(context.Background())
		if !s.OK() {
			t.Fatalf("scrape failed: %s", s.Err)
		}
		raw := 0
		for _, v := range s.Values {
			if !v.Derived {
				raw++
			}
		}
		if raw != 100 {
			t.Errorf("kept %d raw series, want 100", raw)
		}
		if _, ok := s.Find("many", "i", "000000"); !ok {
			t.Error("the first series in key order was not kept")
		}
		if v, ok := s.Find(scrape.HostMemoryAvailable); !ok || v.V != 12345 {
			t.Errorf("derived series lost to the cap: %v %v", v, ok)
		}
	}
	st := m.Stats()
	if st.DroppedSeries != 2*(20_001-100) || st.DroppedLast != 20_001-100 || len(st.DroppedNames) == 0 || st.DroppedNames[0] != "many" {
		t.Errorf("stats = %d dropped, names %v; want %d dropped, named [many ...]", st.DroppedSeries, st.DroppedNames, 2*(20_001-100))
	}
}

// TestHostileEndpoints: whatever the endpoint does, the scrape ends within
// its bound, fails with a reason, is counted, and the monitor goes on.
//
// The body-size cases get a timeout far longer than the cap takes to reach
// (16 MiB: ~30 ms here, ~0.6 s under the race detector on a busy CI host):
// they test the cap, and a timer firing first would hide a missing one.
func TestHostileEndpoints(t *testing.T) {
	const timeout = 500 * time.Millisecond
	const capTimeout = 30 * time.Second
	huge := "a 1\n" + strings.Repeat("#"+strings.Repeat("x", 1022)+"\n", scrape.DefaultMaxBody/1024+1)
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
		timeout time.Duration // zero: timeout
	}{
		{"huge body", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(huge)) }, "body larger than 16777216 bytes", capTimeout},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			line := []byte(strings.Repeat("x", 1023) + "\n")
			for r.Context().Err() == nil {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}, "body larger than 16777216 bytes", capTimeout},
		{"dripping body", func(w http.ResponseWriter, r *http.Request) {
			for r.Context().Err() == nil {
				_, _ = w.Write([]byte("a"))
				w.(http.Flusher).Flush()
				time.Sleep(50 * time.Millisecond)
			}
		}, "timed out after 500ms", 0},
		{"no answer", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "timed out after 500ms", 0},
		{"too many lines", func(w http.ResponseWriter, r *http.Request) {
			var b strings.Builder
			for i := range scrape.MaxSampleLines + 1 {
				fmt.Fprintf(&b, "m%d 1\n", i)
			}
			_, _ = w.Write([]byte(b.String()))
		}, "sample lines, more than 50000", capTimeout},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>\x00\xff{{{ not metrics")) }, "parsing", 0},
		{"html page", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<!doctype html>\n<title>login</title>\n"))
		}, "parsing", 0},
		{"status 500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, "status 500", 0},
		{"duplicate series", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("a 1\na 2\n")) }, "series a appears twice", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			bound := cmp.Or(c.timeout, timeout)
			m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{Timeout: bound})
			start := time.Now()
			s := m.Scrape(context.Background())
			took := time.Since(start)
			if s.OK() || !strings.Contains(s.Err, c.want) {
				t.Errorf("scrape = ok %v, err %q; want a failure containing %q", s.OK(), s.Err, c.want)
			}
			if len(s.Values) != 0 {
				t.Errorf("a failed scrape has %d values", len(s.Values))
			}
			if took > bound+2*time.Second {
				t.Errorf("scrape took %v, bound is %v", took, bound)
			}
			if st := m.Stats(); st.Scrapes != 1 || st.Failed != 1 {
				t.Errorf("stats = %+v, want 1 scrape, 1 failed", st)
			}
		})
	}
}

// TestRunNeverPilesUp: against a target that never answers, Run still
// emits one failed sample per interval and returns when cancelled.
func TestRunNeverPilesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 1100*time.Millisecond)
	defer cancel()
	var got []scrape.Sample
	start := time.Now()
	err := m.Run(ctx, 200*time.Millisecond, func(s scrape.Sample) { got = append(got, s) })
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("Run = %v after %v, want ctx's error soon after 1.1 s", err, time.Since(start))
	}
	if len(got) < 3 || len(got) > 7 {
		t.Errorf("%d samples in 1.1 s at a 200 ms interval, want about 5", len(got))
	}
	if st := m.Stats(); st.Scrapes != len(got) || st.Failed != len(got) {
		t.Errorf("stats = %+v after %d samples: the scrape cut by the end of Run must not count", st, len(got))
	}
	for _, s := range got {
		if s.OK() {
			t.Errorf("a scrape of a silent target succeeded")
		}
		if s.Took > 600*time.Millisecond {
			t.Errorf("a scrape took %v: the timeout was not capped at the interval", s.Took)
		}
	}
}

func TestOpenMetricsEOF(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE up gauge\nup 1\n# EOF\n")
	}))
	defer srv.Close()
	s := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{}).Scrape(context.Background())
	if v, ok := s.Find("up"); !s.OK() || !ok || v.V != 1 {
		t.Errorf("OpenMetrics body: %+v", s)
	}
}

// TestAllowListFiltersBeforeParsing: under an allow-list, lines of other
// metrics are dropped before the parser and the limit on lines sees them,
// and a histogram named in the list keeps its _bucket, _sum and _count.
func TestAllowListFiltersBeforeParsing(t *testing.T) {
	var noise strings.Builder
	noise.WriteString("# HELP noise_total Lines nobody asked for.\n# TYPE noise_total counter\n")
	for i := range scrape.MaxSampleLines + 10 {
		fmt.Fprintf(&noise, "noise_total{i=\"%d\"} 1\n", i)
	}
	var bodies []string
	for _, f := range []string{"testdata/node1.prom", "testdata/node2.prom"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b)+noise.String())
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(bodies[min(int(n.Add(1))-1, 1)]))
	}))
	defer srv.Close()

	all := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{Timeout: 10 * time.Second})
	if s := all.Scrape(context.Background()); s.OK() || !strings.Contains(s.Err, "more than 50000") {
		t.Errorf("without an allow-list: ok %v, %q; want the line limit", s.OK(), s.Err)
	}
	n.Store(0)
	clock := &fakeClock{t: time.Unix(0, 0)}
	some := newMonitor(t, scrape.Target{URL: srv.URL, Allow: []string{"http_request_duration_seconds"}}, scrape.Options{Timeout: 10 * time.Second, Now: clock.Now})
	if s := some.Scrape(context.Background()); !s.OK() {
		t.Fatalf("with an allow-list: %s", s.Err)
	}
	clock.Add(time.Second)
	s := some.Scrape(context.Background())
	if v, ok := s.Find("http_request_duration_seconds", "quantile", "0.99"); !ok || math.Abs(v.V-0.38) > 1e-9 {
		t.Errorf("allowed histogram's p99 = %v, %v; want 0.38 (its _bucket lines must pass the filter)", v.V, ok)
	}
	if v, ok := s.Find(scrape.HostMemoryAvailable); !ok || v.V != 1e9 {
		t.Errorf("derived input filtered out: %v %v", v, ok)
	}
	for _, v := range s.Values {
		if !v.Derived && v.Name != "http_request_duration_seconds" {
			t.Errorf("kept %s", v.Key())
		}
	}
	if st := some.Stats(); st.Failed != 0 || st.DroppedSeries != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSummarize(t *testing.T) {
	at := func(sec int, vs ...scrape.Value) scrape.Sample {
		return scrape.Sample{Monitor: "m", T: time.Unix(int64(sec), 0), Values: vs}
	}
	cpu := func(v float64) scrape.Value {
		return scrape.Value{Name: scrape.HostCPUBusyCores, Unit: "cores", Derived: true, V: v}
	}
	rss := func(pid string, v float64) scrape.Value {
		return scrape.Value{Name: "process_resident_memory_bytes", Labels: map[string]string{"pid": pid}, Unit: "B", V: v}
	}
	got := scrape.Summarize([]scrape.Sample{
		at(0, cpu(1), rss("1", 100)),
		{Monitor: "m", T: time.Unix(1, 0), Err: "timed out after 1s"}, // a gap
		at(2, cpu(3), rss("1", 300), rss("2", 7)),
		at(3, cpu(2)),
	})
	want := []scrape.SeriesSummary{
		{Name: scrape.HostCPUBusyCores, Unit: "cores", Derived: true, Min: 1, Mean: 2, Max: 3, Last: 2, N: 3},
		{Name: "process_resident_memory_bytes", Labels: map[string]string{"pid": "1"}, Unit: "B", Min: 100, Mean: 200, Max: 300, Last: 300, N: 2},
		{Name: "process_resident_memory_bytes", Labels: map[string]string{"pid": "2"}, Unit: "B", Min: 7, Mean: 7, Max: 7, Last: 7, N: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Summarize =\n%v\nwant\n%v", got, want)
	}
}

// TestSampleJSONRoundTrip: a Sample crosses a boundary (to the store, to a
// controller) and comes back equal.
func TestSampleJSONRoundTrip(t *testing.T) {
	in := scrape.Sample{Monitor: "api", T: time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.UTC), Took: 3 * time.Millisecond,
		Values: []scrape.Value{{Name: scrape.ProcessCPUCores, Labels: map[string]string{"pid": "7", "name": "gunicorn"}, Unit: "cores", Derived: true, V: 0.98}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out scrape.Sample
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.T.Equal(in.T) || out.Took != in.Took || fmt.Sprint(out.Values) != fmt.Sprint(in.Values) || out.Monitor != in.Monitor || !out.OK() {
		t.Errorf("round trip:\n%s\ngave %+v", b, out)
	}
}

// TestRunCancelledScrapeIsNotAFailure: when the run ends during a scrape,
// that scrape is neither emitted nor counted as a failure of the target.
func TestRunCancelledScrapeIsNotAFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{Timeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	emitted := 0
	start := time.Now()
	_ = m.Run(ctx, 10*time.Second, func(scrape.Sample) { emitted++ })
	if time.Since(start) > 3*time.Second {
		t.Errorf("Run took %v to notice the end", time.Since(start))
	}
	if st := m.Stats(); emitted != 0 || st.Scrapes != 0 || st.Failed != 0 {
		t.Errorf("emitted %d, stats %+v; want nothing for a scrape cut by the end of the run", emitted, st)
	}
}

func TestLead(t *testing.T) {
	for _, c := range []struct {
		interval, took, want time.Duration
	}{
		{time.Second, 0, 100 * time.Millisecond},                                 // a tenth of the interval at least
		{time.Second, 40 * time.Millisecond, 100 * time.Millisecond},             // 90 ms < a tenth
		{time.Second, 100 * time.Millisecond, 210 * time.Millisecond},            // twice the scrape and 10 ms
		{time.Second, 2 * time.Second, 500 * time.Millisecond},                   // half the interval at most
		{250 * time.Millisecond, 30 * time.Millisecond, 70 * time.Millisecond},   // 70 ms > 25 ms
		{250 * time.Millisecond, 200 * time.Millisecond, 125 * time.Millisecond}, // capped
		{10 * time.Second, 300 * time.Millisecond, time.Second},                  // a tenth of 10 s
		{10 * time.Second, 3 * time.Second, 5 * time.Second},                     // capped
	} {
		if got := scrape.Lead(c.interval, c.took); got != c.want {
			t.Errorf("Lead(%v, %v) = %v, want %v", c.interval, c.took, got, c.want)
		}
	}
}

// TestRunAlignedScrapesInEachInterval: after the first scrape (at once:
// the base for rates), one scrape per interval of the run, sent a lead
// before the interval ends and back before it ends; a start in the past
// skips the intervals gone by.
//
// Each scrape takes 50 ms, so the lead is capped at half the interval
// (100 ms) and a scrape is back ~50 ms before its interval ends; "before"
// allows 25 ms of a busy host's jitter, which still fails a scrape sent at
// the end (50 ms late).
func TestRunAlignedScrapesInEachInterval(t *testing.T) {
	const took, jitter = 50 * time.Millisecond, 25 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(took)
		w.Write([]byte("# TYPE g gauge\ng 1\n"))
	}))
	defer srv.Close()
	for _, c := range []struct {
		name  string
		start time.Duration // from now
	}{{"ahead", 150 * time.Millisecond}, {"past", -1050 * time.Millisecond}} {
		t.Run(c.name, func(t *testing.T) {
			m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{})
			const interval = 200 * time.Millisecond
			start := time.Now().Add(c.start)
			ctx, cancel := context.WithTimeout(context.Background(), 1100*time.Millisecond)
			defer cancel()
			var got []scrape.Sample
			_ = m.RunAligned(ctx, start, interval, func(s scrape.Sample) { got = append(got, s) })
			if len(got) < 4 {
				t.Fatalf("%d samples in 1.1 s at 200 ms", len(got))
			}
			seen := map[int]bool{}
			for _, s := range got[1:] {
				k := int(s.T.Sub(start) / interval)
				end := start.Add(time.Duration(k+1) * interval)
				if s.T.Before(start) || seen[k] || end.Sub(s.T) > interval/2 || s.T.Add(s.Took).After(end.Add(jitter)) {
					t.Errorf("sample at %v took %v: interval %d ends at %v (seen %v)", s.T.Sub(start), s.Took, k, end.Sub(start), seen[k])
				}
				seen[k] = true
			}
		})
	}
}

// TestRunAlignedOneScrapeAnInterval: scrapes that alternate slow (40 ms)
// and fast alternate the lead (90 and 20 ms at 200 ms intervals); a fast
// scrape sent 90 ms before its interval's end must not schedule another
// 20 ms before the same end — a second sample a few ms after the first,
// whose rates would be the counters' ticks (0, then double).
func TestRunAlignedOneScrapeAnInterval(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%2 == 0 {
			time.Sleep(40 * time.Millisecond)
		}
		w.Write([]byte("# TYPE g gauge\ng 1\n"))
	}))
	defer srv.Close()
	m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{})
	const interval = 200 * time.Millisecond
	start := time.Now().Add(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var got []scrape.Sample
	_ = m.RunAligned(ctx, start, interval, func(s scrape.Sample) { got = append(got, s) })
	per := map[int]int{}
	for _, s := range got[1:] {
		per[int(s.T.Sub(start)/interval)]++
	}
	for k, c := range per {
		if c > 1 {
			t.Errorf("interval %d was scraped %d times", k, c)
		}
	}
	if len(per) < 5 {
		t.Errorf("%d intervals scraped in 1.45 s at 200 ms, want 6 or 7", len(per))
	}
}

// An interval of 0 is the default interval (1 s): one scrape at once and
// none more within 300 ms.
func TestRunAlignedDefaultInterval(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("# TYPE g gauge\ng 1\n"))
	}))
	defer srv.Close()
	m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	n := 0
	_ = m.RunAligned(ctx, time.Now(), 0, func(scrape.Sample) { n++ })
	if n != 1 {
		t.Errorf("%d samples in 300 ms at the default interval, want the first one only", n)
	}
}
