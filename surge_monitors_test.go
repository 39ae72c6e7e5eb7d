package surge_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgeload/surge"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// surge.Run's summary has the plan's monitors, and its thresholds on
// monitor series are judged, as the CLI's are.
func TestRunSummaryHasMonitors(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 2, WorkTime: 20 * time.Millisecond})
	plan, err := surge.QuickPlan(surge.Request{URL: tb.URL() + "/work"}, surge.Load{VUs: 6, Duration: 2 * time.Second,
		Thresholds: []string{"monitor[tb].testbed_workers_busy <= 2"}})
	if err != nil {
		t.Fatal(err)
	}
	plan.Monitors = []scenario.Monitor{{Name: "tb", URL: tb.URL() + "/metrics"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := surge.Run(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Monitors) != 1 || sum.Monitors[0].Name != "tb" || sum.Monitors[0].Scrapes == 0 {
		t.Fatalf("monitors: %+v", sum.Monitors)
	}
	var busy float64
	for _, s := range sum.Monitors[0].Series {
		if s.Name == "testbed_workers_busy" {
			busy = s.Max
		}
	}
	if busy != 2 {
		t.Errorf("testbed_workers_busy peak %v, want 2 (6 users on 2 workers)", busy)
	}
	if th := sum.Thresholds; len(th) != 1 || !th[0].OK || th[0].Value != 2 {
		t.Errorf("thresholds: %+v", th)
	}
}
