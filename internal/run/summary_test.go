package run_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// Session.Summary, which every front-end uses, has the plan's monitors
// (the testbed's own /metrics: its worker pool's gauges) on the summary and
// its timeline, and judges the thresholds on their series.
func TestSessionSummaryHasMonitors(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 2, WorkTime: 20 * time.Millisecond})
	vus, d := 6, 1500*time.Millisecond
	plan := quickPlan(t, tb.URL()+"/work", scenario.Overrides{VUs: &vus, Duration: &d,
		Thresholds: []string{"monitor[tb].testbed_workers_busy < 2", "p99 < 1m"},
		Monitors:   []scenario.Monitor{{Name: "tb", URL: tb.URL() + "/metrics"}}})
	s := run.New(plan, run.Options{Interval: 250 * time.Millisecond})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Summary("r-1", res, 2)
	if len(sum.Monitors) != 1 || sum.Monitors[0].Name != "tb" || sum.Monitors[0].Scrapes < 3 {
		t.Fatalf("monitors: %+v", sum.Monitors)
	}
	var busy float64 = -1
	for _, ss := range sum.Monitors[0].Series {
		if ss.Name == "testbed_workers_busy" {
			busy = ss.Max
		}
	}
	if busy != 2 {
		t.Errorf("testbed_workers_busy peak %v, want 2", busy)
	}
	if th := sum.Thresholds; len(th) != 2 || th[0].OK || th[0].Value != 2 || th[0].Error != "" || !th[1].OK {
		t.Errorf("thresholds: %+v", th)
	}
	if len(sum.Timeline) == 0 || sum.Timeline[len(sum.Timeline)-1].Monitors["tb"] == nil {
		t.Errorf("the timeline does not carry the monitor")
	}
}
