package scrape_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/monitor/scrape"
)

// serveBodies serves bodies in turn, the last one from then on.
func serveBodies(t *testing.T, bodies ...string) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(bodies[min(int(n.Add(1))-1, len(bodies)-1)]))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// twoScrapes scrapes before, then after one second later, and returns the
// second sample.
func twoScrapes(t *testing.T, tg scrape.Target, o scrape.Options, before, after string) scrape.Sample {
	t.Helper()
	srv := serveBodies(t, before, after)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	tg.URL = srv.URL
	o.Now = clock.Now
	m := newMonitor(t, tg, o)
	if s := m.Scrape(context.Background()); !s.OK() {
		t.Fatalf("first scrape: %s", s.Err)
	}
	clock.Add(time.Second)
	s := m.Scrape(context.Background())
	if !s.OK() {
		t.Fatalf("second scrape: %s", s.Err)
	}
	return s
}

// histogram is the text of histogram h with these cumulative bucket counts
// (upper bound, count; the last one must be +Inf) and this count.
func histogram(count string, buckets ...string) string {
	var b strings.Builder
	b.WriteString("# TYPE h histogram\n")
	for i := 0; i+1 < len(buckets); i += 2 {
		b.WriteString(`h_bucket{le="` + buckets[i] + `"} ` + buckets[i+1] + "\n")
	}
	b.WriteString("h_sum 0\nh_count " + count + "\n")
	return b.String()
}

// TestHistogramQuantileEdges: quantiles of the observations between two
// scrapes follow Prometheus' histogram_quantile: the first bucket with a
// cumulative count >= rank, linear interpolation inside it from the previous
// bound (0 below the first bucket), the bound itself when the lowest
// bucket's bound is <= 0, the highest finite bound when the rank falls in
// +Inf; none without observations or without a finite bucket.
func TestHistogramQuantileEdges(t *testing.T) {
	zero := histogram("0", "1", "0", "2", "0", "4", "0", "+Inf", "0")
	for _, c := range []struct {
		name          string
		before, after string
		want          []float64 // p50, p90, p99; nil: no quantile at all
	}{
		// rank 50 is exactly bucket le=1's count: that bucket, not the
		// empty (1,2] one after it.
		{"rank on a bucket's count", zero, histogram("100", "1", "50", "2", "50", "4", "100", "+Inf", "100"),
			[]float64{1, 2 + 2*40.0/50, 2 + 2*49.0/50}},
		{"above the highest finite bound", histogram("0", "1", "0", "+Inf", "0"), histogram("100", "1", "10", "+Inf", "100"),
			[]float64{1, 1, 1}},
		{"only a +Inf bucket", histogram("0", "+Inf", "0"), histogram("10", "+Inf", "10"), nil},
		{"lowest bound negative", histogram("0", "-2", "0", "+Inf", "0"), histogram("100", "-2", "100", "+Inf", "100"),
			[]float64{-2, -2, -2}},
		{"negative bounds above the lowest", histogram("0", "-2", "0", "-1", "0", "0", "0", "+Inf", "0"),
			histogram("100", "-2", "20", "-1", "70", "0", "100", "+Inf", "100"),
			[]float64{-2 + 30.0/50, -1 + 20.0/30, -1 + 29.0/30}},
		{"lowest bound 0", histogram("0", "0", "0", "1", "0", "+Inf", "0"), histogram("100", "0", "60", "1", "100", "+Inf", "100"),
			[]float64{0, 30.0 / 40, 39.0 / 40}},
		{"no observation since the previous scrape", histogram("10", "1", "10", "+Inf", "10"), histogram("10", "1", "10", "+Inf", "10"), nil},
		// 100 old observations at or below 1, 100 new ones in (1,2]: the
		// quantiles are the new ones'.
		{"only the interval's observations", histogram("100", "1", "100", "2", "100", "+Inf", "100"),
			histogram("200", "1", "100", "2", "200", "+Inf", "200"),
			[]float64{1 + 50.0/100, 1 + 90.0/100, 1 + 99.0/100}},
		// the count went down: the process restarted, its 10 observations
		// since are the interval's.
		{"counter reset", histogram("500", "1", "100", "2", "400", "+Inf", "500"),
			histogram("10", "1", "2", "2", "10", "+Inf", "10"),
			[]float64{1 + 3.0/8, 1 + 7.0/8, 1 + 7.9/8}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := twoScrapes(t, scrape.Target{}, scrape.Options{}, c.before, c.after)
			var got []scrape.Value
			for _, v := range s.Values {
				if v.Name == "h" {
					got = append(got, v)
				}
			}
			if c.want == nil {
				if len(got) != 0 {
					t.Errorf("quantiles %v, want none", got)
				}
				return
			}
			for i, q := range []string{"0.5", "0.9", "0.99"} {
				v, ok := s.Find("h", "quantile", q)
				if !ok || math.Abs(v.V-c.want[i]) > 1e-9 || v.Unit != "" {
					t.Errorf("p%s = %v %q (found %v), want %v", q, v.V, v.Unit, ok, c.want[i])
				}
			}
			if len(got) != 3 {
				t.Errorf("%d quantiles %v, want 3", len(got), got)
			}
		})
	}
}

// TestDerivedLimits: a percentage of a limit needs a positive limit (0 is
// "none", not a division) and a throttling percentage needs periods; the
// cgroup's memory is a percentage of its max.
func TestDerivedLimits(t *testing.T) {
	body := func(cpuLimit, memLimit, cgLimit, periods, throttled, cgMax, memTotal string, cpu, cgCPU string) string {
		return "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total{pid=\"1\"} " + cpu + "\n" +
			"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes{pid=\"1\"} 2.5e8\n" +
			"# TYPE surge_process_cpu_limit_cores gauge\nsurge_process_cpu_limit_cores{pid=\"1\"} " + cpuLimit + "\n" +
			"# TYPE surge_process_memory_limit_bytes gauge\nsurge_process_memory_limit_bytes{pid=\"1\"} " + memLimit + "\n" +
			"# TYPE surge_cgroup_cpu_usage_seconds_total counter\nsurge_cgroup_cpu_usage_seconds_total{cgroup=\"c\"} " + cgCPU + "\n" +
			"# TYPE surge_cgroup_cpu_limit_cores gauge\nsurge_cgroup_cpu_limit_cores{cgroup=\"c\"} " + cgLimit + "\n" +
			"# TYPE surge_cgroup_cpu_periods_total counter\nsurge_cgroup_cpu_periods_total{cgroup=\"c\"} " + periods + "\n" +
			"# TYPE surge_cgroup_cpu_throttled_periods_total counter\nsurge_cgroup_cpu_throttled_periods_total{cgroup=\"c\"} " + throttled + "\n" +
			"# TYPE surge_cgroup_memory_current_bytes gauge\nsurge_cgroup_memory_current_bytes{cgroup=\"c\"} 2e8\n" +
			"# TYPE surge_cgroup_memory_max_bytes gauge\nsurge_cgroup_memory_max_bytes{cgroup=\"c\"} " + cgMax + "\n" +
			"# TYPE node_memory_MemAvailable_bytes gauge\nnode_memory_MemAvailable_bytes 1e9\n" +
			"# TYPE node_memory_MemTotal_bytes gauge\nnode_memory_MemTotal_bytes " + memTotal + "\n"
	}
	pid, cg := []string{"pid", "1"}, []string{"cgroup", "c"}
	type want struct {
		name   string
		labels []string
		v      float64 // NaN: absent
	}
	for _, c := range []struct {
		name          string
		before, after string
		want          []want
	}{
		{"limits set", body("2", "1e9", "0.5", "100", "10", "8e8", "4e9", "10", "20"), body("2", "1e9", "0.5", "110", "12", "8e8", "4e9", "11", "20.25"), []want{
			{scrape.ProcessCPUCores, pid, 1},
			{scrape.ProcessCPUPercent, pid, 50},      // 1 core of 2
			{scrape.ProcessMemoryPercent, pid, 25},   // 250 MB of 1 GB
			{scrape.CgroupCPUCores, cg, 0.25},        // 0.25 s in 1 s
			{scrape.CgroupCPUPercent, cg, 50},        // of 0.5 core
			{scrape.CgroupThrottledPercent, cg, 20},  // 2 of 10 periods
			{scrape.CgroupMemoryUsedPercent, cg, 25}, // 200 MB of 800 MB
			{scrape.HostMemoryUsedPercent, nil, 75},  // 1 GB of 4 GB available
		}},
		{"limits 0", body("0", "0", "0", "100", "10", "0", "0", "10", "20"), body("0", "0", "0", "100", "10", "0", "0", "11", "20.25"), []want{
			{scrape.ProcessCPUCores, pid, 1},
			{scrape.ProcessCPUPercent, pid, math.NaN()},
			{scrape.ProcessRSS, pid, 2.5e8},
			{scrape.ProcessMemoryPercent, pid, math.NaN()},
			{scrape.CgroupCPUCores, cg, 0.25},
			{scrape.CgroupCPUPercent, cg, math.NaN()},
			{scrape.CgroupThrottledPercent, cg, math.NaN()}, // no period in the interval
			{scrape.CgroupMemoryUsedPercent, cg, math.NaN()},
			{scrape.HostMemoryAvailable, nil, 1e9},
			{scrape.HostMemoryUsedPercent, nil, math.NaN()},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := twoScrapes(t, scrape.Target{}, scrape.Options{}, c.before, c.after)
			for _, w := range c.want {
				v, ok := s.Find(w.name, w.labels...)
				switch {
				case math.IsNaN(w.v) && ok:
					t.Errorf("%s = %v, want none", v.Key(), v.V)
				case !math.IsNaN(w.v) && (!ok || math.Abs(v.V-w.v) > 1e-9 || !v.Derived):
					t.Errorf("%s%v = %v (found %v, derived %v), want %v", w.name, w.labels, v.V, ok, v.Derived, w.v)
				}
			}
		})
	}
}

// TestValuesOrder: a sample's values are the derived series first, then the
// rest, each part in ascending Key order; Summarize orders its series so.
func TestValuesOrder(t *testing.T) {
	srv := sequence(t, "testdata/node1.prom", "testdata/node2.prom")
	clock := &fakeClock{t: time.Unix(0, 0)}
	m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{Now: clock.Now})
	m.Scrape(context.Background())
	clock.Add(time.Second)
	s := m.Scrape(context.Background())
	if !s.OK() || len(s.Values) < 10 {
		t.Fatalf("scrape: %s, %d values", s.Err, len(s.Values))
	}
	checkOrder := func(what string, derived []bool, keys []string) {
		t.Helper()
		for i := 1; i < len(keys); i++ {
			if derived[i] && !derived[i-1] {
				t.Errorf("%s: derived %s after %s", what, keys[i], keys[i-1])
			}
			if derived[i] == derived[i-1] && keys[i] <= keys[i-1] {
				t.Errorf("%s: %s after %s", what, keys[i], keys[i-1])
			}
		}
		if !derived[0] || derived[len(derived)-1] {
			t.Errorf("%s: derived first %v, last %v; want derived first, raw last", what, derived[0], derived[len(derived)-1])
		}
	}
	var derived []bool
	var keys []string
	for _, v := range s.Values {
		derived, keys = append(derived, v.Derived), append(keys, v.Key())
	}
	checkOrder("Sample.Values", derived, keys)

	// Derived keys after raw ones in plain key order, and out of order in
	// the samples.
	sum := scrape.Summarize([]scrape.Sample{
		{Values: []scrape.Value{{Name: "b"}, {Name: "z_derived", Derived: true}, {Name: "a"}}},
		{Values: []scrape.Value{{Name: "y_derived", Derived: true}, {Name: "c"}}},
	})
	derived, keys = nil, nil
	for _, ss := range sum {
		derived, keys = append(derived, ss.Derived), append(keys, ss.Name)
	}
	if want := []string{"y_derived", "z_derived", "a", "b", "c"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("Summarize order %v, want %v", keys, want)
	}
	checkOrder("Summarize", derived, keys)
}

// TestKeyAndFind: Key is the series in Prometheus' selector notation, its
// labels sorted by name; Find takes name, value pairs and ignores an unpaired
// trailing name.
func TestKeyAndFind(t *testing.T) {
	for _, c := range []struct {
		v    scrape.Value
		want string
	}{
		{scrape.Value{Name: "n"}, "n"},
		{scrape.Value{Name: "n", Labels: map[string]string{"a": "1"}}, `n{a="1"}`},
		{scrape.Value{Name: "n", Labels: map[string]string{"b": "2", "a": "1", "c": `x"y`}}, `n{a="1",b="2",c="x\"y"}`},
	} {
		if got := c.v.Key(); got != c.want {
			t.Errorf("Key(%v) = %s, want %s", c.v, got, c.want)
		}
	}
	s := scrape.Sample{Values: []scrape.Value{
		{Name: "n", V: 1},
		{Name: "n", Labels: map[string]string{"a": "1"}, V: 2},
		{Name: "n", Labels: map[string]string{"a": "1", "b": "2"}, V: 3},
	}}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{nil, 1},
		{[]string{"a", "1"}, 2},
		{[]string{"b", "2", "a", "1"}, 3},
		{[]string{"a", "1", "b"}, 2}, // "b" has no value
		{[]string{"a"}, 1},
	} {
		if v, ok := s.Find("n", c.labels...); !ok || v.V != c.want {
			t.Errorf("Find(n, %q) = %v, %v; want %v", c.labels, v.V, ok, c.want)
		}
	}
	if _, ok := s.Find("n", "a", "2"); ok {
		t.Error(`Find(n, a, 2) found a series that is not there`)
	}
}

// TestMetricsRoundTrip: Metrics and FromMetrics are inverses, a sample
// without values (a failure) included: no values stay nil, not empty.
func TestMetricsRoundTrip(t *testing.T) {
	for _, s := range []scrape.Sample{
		{Monitor: "m", T: time.Unix(5, 0).UTC(), Took: time.Millisecond, Err: "status 500"},
		{Monitor: "m", T: time.Unix(6, 0).UTC(), Dropped: 3, Values: []scrape.Value{
			{Name: scrape.HostCPUBusyCores, Unit: "cores", Derived: true, V: 1.5},
			{Name: "g", Labels: map[string]string{"a": "1"}, V: 2},
		}},
	} {
		m := s.Metrics()
		if (m.Values == nil) != (s.Values == nil) || len(m.Values) != len(s.Values) {
			t.Errorf("Metrics(%+v).Values = %#v", s, m.Values)
		}
		if back := scrape.FromMetrics(m); !reflect.DeepEqual(back, s) {
			t.Errorf("FromMetrics(Metrics(s)) = %#v, want %#v", back, s)
		}
	}
	if s := scrape.FromMetrics(metrics.MonitorSample{Monitor: "m", Err: "x"}); s.Values != nil {
		t.Errorf("FromMetrics of a sample without values: Values = %#v, want nil", s.Values)
	}
}
