package server_test

import (
	"context"
	"github.com/surgeload/surge/internal/report"
	"net/http"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A server's own run of a scenario with monitors: its summary has the
// monitors (the testbed's /metrics, its worker pool busy and queued) and
// its thresholds on monitor series are judged, as a CLI run's are.
func TestServerRunSummaryHasMonitors(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 2, WorkTime: 20 * time.Millisecond})
	e := startServer(t, server.Options{})
	yaml := "name: monitored\ntarget: " + tb.URL() + "\nload: {model: closed, vus: 6, duration: 2s}\n" +
		"monitors:\n  - {name: tb, url: " + tb.URL() + "/metrics}\n" +
		"thresholds: [\"monitor[tb].testbed_workers_busy <= 2\", \"monitor[tb].testbed_workers_queued < 1\", \"monitor[nope].x < 1\"]\n" +
		"flows:\n  - name: work\n    steps:\n      - get: /work\n"
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"scenario": yaml}, http.StatusCreated, &created)
	if r := e.waitEnded(created.ID, 30*time.Second); r.Status != "finished" {
		t.Fatalf("run: %+v", r)
	}
	// The summary the run recorded at its end. (The served summary of an
	// ended run is rebuilt from its snapshots; the whole run's monitors
	// are carried over from this one by report.CarryMonitors, so they are
	// what the run itself reported, while a window's come from the
	// samples stored with its intervals.)
	sum, ok, err := e.st.Summary(context.Background(), created.ID)
	if err != nil || !ok {
		t.Fatalf("stored summary: %v (present %v)", err, ok)
	}
	if len(sum.Monitors) != 1 || sum.Monitors[0].Name != "tb" || sum.Monitors[0].Scrapes == 0 {
		t.Fatalf("monitors: %+v", sum.Monitors)
	}
	// The served summary, rebuilt from the snapshots, keeps them too.
	var served report.Summary
	e.json("GET", "/api/v1/runs/"+created.ID+"/summary", nil, http.StatusOK, &served)
	if len(served.Monitors) != 1 || served.Monitors[0].Scrapes != sum.Monitors[0].Scrapes || len(served.Thresholds) != 3 || served.Thresholds[0].Error != "" {
		t.Fatalf("served summary: monitors %+v thresholds %+v", served.Monitors, served.Thresholds)
	}
	peak := map[string]float64{}
	for _, s := range sum.Monitors[0].Series {
		peak[s.Name] = s.Max
	}
	// 6 users on 2 workers: both busy and some queued at most scrapes.
	if peak["testbed_workers_busy"] != 2 || peak["testbed_workers_queued"] < 1 {
		t.Errorf("peaks: busy %v queued %v; want 2 and ≥ 1 (series %+v)", peak["testbed_workers_busy"], peak["testbed_workers_queued"], sum.Monitors[0].Series)
	}
	if len(sum.Thresholds) != 3 {
		t.Fatalf("thresholds: %+v", sum.Thresholds)
	}
	if th := sum.Thresholds[0]; !th.OK || th.Error != "" || th.Value != 2 {
		t.Errorf("busy <= 2: %+v", th)
	}
	if th := sum.Thresholds[1]; th.OK || th.Error != "" || th.Value < 1 {
		t.Errorf("queued < 1: %+v, want a failure at the peak", th)
	}
	if th := sum.Thresholds[2]; th.OK || th.Error != `no monitor named "nope"` {
		t.Errorf("unknown monitor: %+v", th)
	}
	var withMonitors int
	for _, p := range sum.Timeline {
		if p.Monitors != nil {
			withMonitors++
		}
	}
	if withMonitors == 0 {
		t.Error("no timeline point carries the monitors")
	}
}
