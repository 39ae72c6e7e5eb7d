package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// monitoredRun runs `surge run -q args… --out json=…` and returns its exit
// code, stderr and summary (checked against the field list by
// monitoredSummary; nil when none was written).
func monitoredRun(t *testing.T, args ...string) (int, string, *report.Summary) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "s.json")
	r := raw(t, 60*time.Second, append(append([]string{"run", "-q"}, args...), "--out", "json="+out)...)
	if _, err := os.Stat(out); err != nil {
		return r.code, r.stderr, nil
	}
	return r.code, r.stderr, monitoredSummary(t, out)
}

func seriesPeak(m report.MonitorSummary, name string) (float64, bool) {
	for _, s := range m.Series {
		if s.Name == name {
			return s.Max, true
		}
	}
	return 0, false
}

// `surge run --monitor` of the testbed's own /metrics: 6 users on a pool of
// 2 workers show 2 busy and some queued in the summary's monitor series
// (gauges, kept as values) and on the timeline.
func TestRunMonitorsTheTestbedsWorkerPool(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 2, WorkTime: 20 * time.Millisecond})
	code, stderr, sum := monitoredRun(t, "-u", tb.URL()+"/work", "--vus", "6", "--duration", "2s",
		"--monitor", "tb="+tb.URL()+"/metrics", "--threshold", "monitor[tb].testbed_workers_busy <= 2")
	if code != 0 || sum == nil {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if len(sum.Monitors) != 1 || sum.Monitors[0].Name != "tb" || sum.Monitors[0].Scrapes < 2 || sum.Monitors[0].Failed != 0 {
		t.Fatalf("monitors: %+v", sum.Monitors)
	}
	m := sum.Monitors[0]
	busy, okB := seriesPeak(m, "testbed_workers_busy")
	queued, okQ := seriesPeak(m, "testbed_workers_queued")
	inflight, okI := seriesPeak(m, "testbed_requests_in_flight")
	if !okB || !okQ || !okI || busy != 2 || queued < 1 || inflight < 3 {
		t.Errorf("peaks: busy %v (%v), queued %v (%v), in flight %v (%v); want 2, ≥ 1, ≥ 3\nseries %+v",
			busy, okB, queued, okQ, inflight, okI, m.Series)
	}
	if _, ok := seriesPeak(m, "testbed_requests_total"); !ok {
		t.Errorf("no testbed_requests_total rate among %+v", m.Series)
	}
	if th := sum.Thresholds; len(th) != 1 || !th[0].OK || th[0].Value != 2 {
		t.Errorf("thresholds: %+v", th)
	}
}

// Thresholds on monitor series decide the exit code like the others: the
// DB pool of 2 connections runs dry with 8 users, so "no waiters" fails at
// its worst moment, and a monitor or series the run lacks fails naming it.
func TestMonitorThresholdsDecideTheExitCode(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{DBConns: 2, DBTime: 50 * time.Millisecond})
	metricsURL := tb.URL() + "/metrics"
	base := []string{"-u", tb.URL() + "/db", "--vus", "8", "--duration", "2s", "--monitor", "db=" + metricsURL}
	code, stderr, sum := monitoredRun(t, append(base, "--threshold", "monitor[db].testbed_db_connections_busy <= 2",
		"--threshold", "monitor[db].testbed_db_connections >= 2", "--threshold", "monitor[db].testbed_workers_busy == 0")...)
	if code != 0 {
		t.Fatalf("passing thresholds: exit %d\n%s\n%+v", code, stderr, sum)
	}
	code, stderr, sum = monitoredRun(t, append(base, "--threshold", "monitor[db].testbed_db_waiters < 1",
		"--threshold", "monitor[dbb].testbed_db_waiters < 1", "--threshold", "monitor[db].testbed_db_waiter < 1")...)
	if code != 3 || sum == nil {
		t.Fatalf("failing thresholds: exit %d, want 3\n%s", code, stderr)
	}
	th := sum.Thresholds
	if len(th) != 3 {
		t.Fatalf("thresholds: %+v", th)
	}
	// 8 users, 2 connections: about 6 wait at any moment.
	if th[0].OK || th[0].Error != "" || th[0].Value < 1 {
		t.Errorf("waiters < 1: %+v, want a failure with the peak waiters", th[0])
	}
	if th[1].OK || th[1].Error != `no monitor named "dbb"; did you mean "db"?` {
		t.Errorf("unknown monitor: %+v", th[1])
	}
	if th[2].OK || !strings.Contains(th[2].Error, `monitor "db" has no series named "testbed_db_waiter"; did you mean "testbed_db_waiters"?`) {
		t.Errorf("unknown series: %+v", th[2])
	}
	// A threshold that does not parse is a usage error, as ever.
	code, stderr, _ = monitoredRun(t, append(base, "--threshold", "monitor[db].testbed-db < 1")...)
	if code != 2 || !strings.Contains(stderr, "want a series name") {
		t.Errorf("bad monitor threshold: exit %d\n%s", code, stderr)
	}
}
