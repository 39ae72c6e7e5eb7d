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

// A recorder's tracker (a `surge run --server` of its own session) gets
// the monitors and agents from the snapshots: each live interval carries
// the monitor values of the samples in it, and the final summary has the
// monitors and, on two agents, each agent's row from its parts; a local
// run's one in-process agent has no row.
func TestTrackerTakesMonitorsAndAgentsFromSnapshots(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	plan := scenario.Plan{Name: "m", Timeout: time.Second, Load: scenario.Load{Model: engine.Open, Rate: 10, Duration: 3 * time.Second},
		Monitors: []scenario.Monitor{{Name: "api", URL: "http://127.0.0.1:1/metrics"}}}
	snap := func(i int, agents ...string) metrics.Snapshot {
		s := metrics.Snapshot{Seq: i, Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i+1) * time.Second)}
		for j, a := range agents {
			e := metrics.Endpoint{Name: "x", Method: "GET", Requests: int64(5 + j), Latency: metrics.NewSketch()}
			e.Classes[metrics.OK] = e.Requests
			s.Endpoints = append(s.Endpoints, e)
			s.Agents = append(s.Agents, metrics.AgentPart{Name: a, Cores: 2, Requests: e.Requests, Iterations: e.Requests, Due: e.Requests, GeneratorCPU: 0.1, Intervals: 1})
		}
		s.Monitors = []metrics.MonitorSample{{Monitor: "api", T: s.Start.Add(300 * time.Millisecond),
			Values: []metrics.MonitorValue{{Name: "host_cpu_busy_percent", Unit: "%", Derived: true, V: float64(10 * (i + 1))}}}}
		return s
	}
	tr := NewTracker("r1", plan, 2)
	for i := range 3 {
		iv := tr.Add(snap(i, "a1", "a2"))
		if v := iv.Point.Monitors["api"]["host_cpu_busy_percent"]; v == nil || *v != float64(10*(i+1)) {
			t.Fatalf("interval %d: monitor value %v (point %+v)", i, v, iv.Point.Monitors)
		}
		if len(iv.Summary.Monitors) != 1 || iv.Summary.Monitors[0].Scrapes != i+1 {
			t.Errorf("interval %d: summary so far has monitors %+v", i, iv.Summary.Monitors)
		}
	}
	final := tr.Final(nil)
	if len(final.Monitors) != 1 || final.Monitors[0].Scrapes != 3 || final.Monitors[0].Series[0].Max != 30 {
		t.Errorf("final monitors %+v", final.Monitors)
	}
	if len(final.Agents) != 2 || final.Agents[0].Name != "a1" || final.Agents[0].Requests != 15 || final.Agents[1].Requests != 18 ||
		final.Agents[0].Requests+final.Agents[1].Requests != final.Totals.Requests {
		t.Errorf("final agents %+v, totals %d", final.Agents, final.Totals.Requests)
	}
	local := NewTracker("r2", plan, 2)
	local.Add(snap(0, "local"))
	if f := local.Final(nil); len(f.Agents) != 0 {
		t.Errorf("a local run has agent rows %+v", f.Agents)
	}
}
