package server

import (
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// A live interval of a run with monitors carries the monitor values
// scraped in it, so the run page can chart them as they come.
func TestLiveIntervalsCarryMonitorValues(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	plan := scenario.Plan{Name: "m", Timeout: time.Second, Load: scenario.Load{Model: engine.Closed, VUs: 1, Duration: 2 * time.Second}}
	tr := newLiveTracker("r1", plan, 1)
	tr.monitors = func() []report.MonitorData {
		return []report.MonitorData{{Name: "api", URL: "http://127.0.0.1:1/metrics", Points: []report.MonitorPoint{
			{T: start.Add(200 * time.Millisecond), Values: map[string]float64{"host_cpu_busy_percent": 42}},
			{T: start.Add(1200 * time.Millisecond), Values: map[string]float64{"host_cpu_busy_percent": 77}},
		}}}
	}
	for i, want := range []float64{42, 77} {
		s := metrics.Snapshot{Seq: i, Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i+1) * time.Second)}
		iv := tr.Add(s)
		v := iv.Point.Monitors["api"]["host_cpu_busy_percent"]
		if v == nil || *v != want {
			t.Fatalf("interval %d: monitor value %v, want %v (point %+v)", i, v, want, iv.Point.Monitors)
		}
	}
}
