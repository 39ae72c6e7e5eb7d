package metrics_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/metrics"
)

func TestParseMonitorThreshold(t *testing.T) {
	for _, tc := range []struct {
		expr, monitor, series, op, sunit string
		value                            float64
		unit                             metrics.Unit
	}{
		{"monitor[api].process_cpu < 80%", "api", "process_cpu_percent_of_limit", "<", "%", 80, metrics.Percent},
		{"monitor[node].host_cpu_busy_pct < 90", "node", "host_cpu_busy_percent", "<", "", 90, metrics.Count},
		{"monitor[node].host_cpu <= 90%", "node", "host_cpu_busy_percent", "<=", "%", 90, metrics.Percent},
		{" monitor[tb].testbed_workers_queued>=1", "tb", "testbed_workers_queued", ">=", "", 1, metrics.Count},
		{"monitor[tb].testbed_db_waiters == 0", "tb", "testbed_db_waiters", "==", "", 0, metrics.Count},
		{"monitor[node].host_memory_available_bytes > 512MiB", "node", "host_memory_available_bytes", ">", "B", 512 << 20, metrics.Count},
		{"monitor[node].host_memory_available_bytes > 2GB", "node", "host_memory_available_bytes", ">", "B", 2e9, metrics.Count},
		{"monitor[node].host_network_receive_bytes_per_second < 10MB/s", "node", "host_network_receive_bytes_per_second", "<", "B/s", 10e6, metrics.Count},
		{"monitor[node].host_tcp_listen_overflows_per_second < 1/s", "node", "host_tcp_listen_overflows_per_second", "<", "/s", 1, metrics.Count},
		{"monitor[api].process_cpu_cores < 1.5cores", "api", "process_cpu_cores", "<", "cores", 1.5, metrics.Count},
		{"monitor[api].process_rss < 1.5GiB", "api", "process_rss_bytes", "<", "B", 1.5 * (1 << 30), metrics.Count},
		// a percentage below 1 stays what it says: 0.5 % (not 50 %)
		{"monitor[api].process_cpu < 0.5%", "api", "process_cpu_percent_of_limit", "<", "%", 0.5, metrics.Percent},
		{"monitor[x y].app:requests_inflight < 3", "x y", "app:requests_inflight", "<", "", 3, metrics.Count},
	} {
		th, err := metrics.ParseThreshold(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if th.Monitor != tc.monitor || th.Metric != tc.series || th.Op != tc.op || th.SeriesUnit != tc.sunit ||
			th.Value != tc.value || th.Unit != tc.unit || th.Endpoint != "" {
			t.Errorf("%q: got monitor %q series %q op %q series unit %q value %v unit %v", tc.expr,
				th.Monitor, th.Metric, th.Op, th.SeriesUnit, th.Value, th.Unit)
		}
	}
}

func TestParseMonitorThresholdErrors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		col  int
		msg  string
	}{
		{"monitor[api.process_cpu < 80%", 1, "want monitor[NAME].SERIES"},
		{"monitor[].process_cpu < 80%", 9, "empty monitor name"},
		{"monitor[api]. < 80%", 14, "want a series name"},
		{"monitor[api].process-cpu < 80%", 14, "want a series name"},
		{"monitor[api].9lives < 80%", 14, "want a series name"},
		{"monitor[api].process_cpu < 80ms", 30, `unexpected unit "ms" for monitor series process_cpu_percent_of_limit`},
		{"monitor[api].process_cpu < 80 furlongs", 30, `unexpected unit "furlongs"`},
		{"monitor[api].process_cpu < ", 28, `missing value after "<"`},
		{"monitor[api].process_cpu", 25, "missing comparison"},
		{"monitor[api].process_cpu =! 3", 26, "unknown comparison"},
	} {
		_, err := metrics.ParseThreshold(tc.expr)
		var te *metrics.ThresholdError
		if !errors.As(err, &te) {
			t.Errorf("%q: error %v, want a ThresholdError", tc.expr, err)
			continue
		}
		if te.Col != tc.col || !strings.Contains(te.Msg, tc.msg) {
			t.Errorf("%q: column %d %q, want column %d containing %q", tc.expr, te.Col, te.Msg, tc.col, tc.msg)
		}
	}
}

// Every comparison, with bounds below, at and above the series' extremes:
// < and <= judge the series' max, > and >= its min, == both. Two label
// sets of one series count together (the worst of them).
func TestMonitorThresholdOperators(t *testing.T) {
	series := []metrics.SeriesRange{
		{Name: "process_cpu_percent_of_limit", Unit: "%", Min: 20, Max: 70}, // pid 1
		{Name: "process_cpu_percent_of_limit", Unit: "%", Min: 10, Max: 40}, // pid 2
		{Name: "process_cpu_cores", Unit: "cores", Min: 0.1, Max: 0.7},      // ignored
		{Name: "testbed_db_waiters", Unit: "", Min: 0, Max: 0},              // flat
		{Name: "host_memory_available_bytes", Unit: "B", Min: 1 << 30, Max: 2 << 30},
	}
	for _, tc := range []struct {
		expr  string
		value float64
		ok    bool
	}{
		{"monitor[api].process_cpu < 80%", 70, true},
		{"monitor[api].process_cpu < 70%", 70, false},
		{"monitor[api].process_cpu < 50%", 70, false},
		{"monitor[api].process_cpu <= 70%", 70, true},
		{"monitor[api].process_cpu <= 69.9%", 70, false},
		{"monitor[api].process_cpu > 5%", 10, true},
		{"monitor[api].process_cpu > 10%", 10, false},
		{"monitor[api].process_cpu > 15%", 10, false},
		{"monitor[api].process_cpu >= 10%", 10, true},
		{"monitor[api].process_cpu >= 10.1%", 10, false},
		{"monitor[api].process_cpu == 40%", 70, false}, // 70 is farther from 40 than 10
		{"monitor[api].process_cpu == 60%", 10, false},
		{"monitor[tb].testbed_db_waiters == 0", 0, true},
		{"monitor[tb].testbed_db_waiters == 1", 0, false},
		{"monitor[tb].testbed_db_waiters < 1", 0, true},
		{"monitor[node].host_memory_available_bytes > 512MiB", 1 << 30, true},
		{"monitor[node].host_memory_available_bytes >= 2GiB", 1 << 30, false},
		{"monitor[node].host_memory_available_bytes < 3GiB", 2 << 30, true},
		{"monitor[api].process_cpu_cores < 1", 0.7, true}, // a plain number: any unit
	} {
		th, err := metrics.ParseThreshold(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		v, err := th.MeasureSeries(series)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if v != tc.value || th.Holds(v) != tc.ok {
			t.Errorf("%q: measured %v holds %v, want %v holds %v", tc.expr, v, th.Holds(v), tc.value, tc.ok)
		}
	}
}

func TestMonitorThresholdMeasureErrors(t *testing.T) {
	series := []metrics.SeriesRange{
		{Name: "process_cpu_percent_of_limit", Unit: "%", Max: 50},
		{Name: "testbed_workers_busy", Unit: "", Max: 2},
	}
	for _, tc := range []struct{ expr, want string }{
		{"monitor[api].testbed_workers_bussy < 3", `monitor "api" has no series named "testbed_workers_bussy"; did you mean "testbed_workers_busy"?`},
		{"monitor[api].host_cpu < 90%", `monitor "api" has no series named "host_cpu_busy_percent"`},
		{"monitor[api].testbed_workers_busy < 3%", `monitor "api": series testbed_workers_busy is in a plain number, not %`},
		{"monitor[api].process_cpu < 3MB", `monitor "api": series process_cpu_percent_of_limit is in %, not B`},
	} {
		th, err := metrics.ParseThreshold(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		_, err = th.MeasureSeries(series)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.expr, err, tc.want)
		}
	}
	// Measure (on the load's totals) never claims a monitor threshold.
	th, _ := metrics.ParseThreshold("monitor[api].process_cpu < 80%")
	if _, found := th.Measure(metrics.Snapshot{}, 0); found {
		t.Error("Measure found a monitor threshold's value in the load's totals")
	}
}
