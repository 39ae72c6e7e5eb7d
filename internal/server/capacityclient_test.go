package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// StartCapacity sends a whole plan; Follow passes on every step once, in
// order, whether it follows from the start or opens the stream after the
// search has ended (the steps then come from the state); Result is the
// server's result.
func TestCapacityClientFollows(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	e := startCapacityServer(t)
	rate := 20.0
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/work", Method: "GET"}, scenario.Overrides{Rate: &rate})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := server.StartCapacity(ctx, e.ts.URL, "wrong", server.CapacityStart{Plan: plan, SLO: []string{"p99<500ms"}}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong secret: %v", err)
	}
	if _, err := server.StartCapacity(ctx, e.ts.URL, testSecret, server.CapacityStart{Plan: plan, SLO: []string{"p99<<1"}}); err == nil || !strings.Contains(err.Error(), "slo[0]") {
		t.Errorf("a bad objective: %v", err)
	}
	rc, err := server.StartCapacity(ctx, e.ts.URL, testSecret, server.CapacityStart{Plan: plan, SLO: []string{"p99<500ms"}, Start: 100, Max: 200, Step: 1200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var live []server.CapacityProgress
	if err := rc.Follow(ctx, func(p server.CapacityProgress) { live = append(live, p) }); err != nil {
		t.Fatal(err)
	}
	res, status, err := rc.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status != "finished" || res.MaxRate != 200 || res.Schema != capacity.Schema {
		t.Errorf("result: status %q, max %v", status, res.MaxRate)
	}
	check := func(name string, got []server.CapacityProgress) {
		if len(got) != len(res.Steps) {
			t.Fatalf("%s: %d steps passed on, the result has %d", name, len(got), len(res.Steps))
		}
		for i, p := range got {
			if p.Index != i || p.Step.Rate != res.Steps[i].Rate || p.Step.Phase != res.Steps[i].Phase {
				t.Errorf("%s: step %d is %+v; the result's is %s %v", name, i, p, res.Steps[i].Phase, res.Steps[i].Rate)
			}
		}
	}
	check("live", live)
	var late []server.CapacityProgress
	if err := rc.Follow(ctx, func(p server.CapacityProgress) { late = append(late, p) }); err != nil {
		t.Fatal(err)
	}
	check("late", late)
	// The plan travelled whole: the search's run is the plan's request.
	if r := e.run(rc.ID()); r.Status != "finished" || !strings.Contains(string(r.Plan), tb.URL()+"/work") {
		t.Errorf("run: %s %s", r.Status, r.Plan)
	}
	if code, _ := e.do("GET", "/api/v1/runs/"+rc.ID()+"/summary", nil); code != http.StatusOK {
		t.Errorf("summary: %d", code)
	}
}
