package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A run made elsewhere is recorded live through a Recorder sink: the
// server has it running while it runs, and finished with exact totals after.
func TestRecordedRun(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	rate, d := 30.0, 2500*time.Millisecond
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/api/items", Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := server.NewRecorder(ctx, e.ts.URL, "wrong", plan, 2, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("recorder with a wrong secret: %v, want a 401", err)
	}
	rec, err := server.NewRecorder(ctx, e.ts.URL, testSecret, plan, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(rec.URL(), "/#/runs/"+rec.ID()) {
		t.Errorf("URL %q", rec.URL())
	}
	events := e.stream(ctx, "/api/v1/runs/"+rec.ID()+"/events")
	next(t, events, 5*time.Second, "state")

	done := make(chan error, 1)
	go func() {
		_, err := controller.New(plan, controller.Options{Sink: rec}).Run(ctx)
		done <- err
	}()
	next(t, events, 5*time.Second, "interval")
	r := e.run(rec.ID())
	if r.Status != "running" || r.Source != "cli" || r.Control != "" {
		t.Errorf("while recording: %+v", r)
	}
	// The server cannot steer a run it does not run.
	if status, body := e.do("PATCH", "/api/v1/runs/"+rec.ID(), map[string]any{"rate": 5}); status != http.StatusConflict {
		t.Errorf("PATCH of a recorded run: %d %s", status, body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	next(t, events, 5*time.Second, "end")
	r = e.run(rec.ID())
	sum := e.summary(rec.ID())
	if r.Status != "finished" || sum.Run.Status != "finished" || sum.Run.ID != rec.ID() {
		t.Errorf("after the run: %+v, summary status %q id %q", r, sum.Run.Status, sum.Run.ID)
	}
	if sum.Totals.Requests == 0 || sum.Totals.Requests != tb.Count() {
		t.Errorf("recorded %d requests, the target received %d", sum.Totals.Requests, tb.Count())
	}
	if len(sum.Timeline) < 2 {
		t.Errorf("timeline: %d points", len(sum.Timeline))
	}
	// The server's own runs take no recorded data.
	var own struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL(), "rate": 5, "requests": 2}, http.StatusCreated, &own)
	if status, _ := e.do("POST", "/api/v1/runs/"+own.ID+"/intervals", `{"seq":0}`); status != http.StatusConflict {
		t.Errorf("intervals for a server run: %d, want 409", status)
	}
	e.waitEnded(own.ID, 10*time.Second)
}
