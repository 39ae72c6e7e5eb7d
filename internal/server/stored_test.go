package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// sameMeasurements compares what two summaries measured: counts exactly,
// percentiles exactly (the sketches are the same bins), rates within the
// rounding that separates a monotonic from a wall-clock duration.
func sameMeasurements(t *testing.T, want, got report.Summary) {
	t.Helper()
	if got.Totals.Requests != want.Totals.Requests || got.Totals.Errors != want.Totals.Errors ||
		got.Totals.Iterations != want.Totals.Iterations || got.Totals.DroppedIterations != want.Totals.DroppedIterations ||
		got.Totals.DueIterations != want.Totals.DueIterations || got.Totals.BytesSent != want.Totals.BytesSent ||
		got.Totals.BytesReceived != want.Totals.BytesReceived {
		t.Errorf("totals:\n got %+v\nwant %+v", got.Totals, want.Totals)
	}
	if math.Abs(got.Totals.RPS-want.Totals.RPS) > 0.011 {
		t.Errorf("rps %v, want %v", got.Totals.RPS, want.Totals.RPS)
	}
	if g, w := jsonOf(t, got.Latency), jsonOf(t, want.Latency); g != w {
		t.Errorf("latency:\n got %s\nwant %s", g, w)
	}
	for _, f := range []struct {
		name string
		g, w any
	}{
		{"errors", got.Errors, want.Errors}, {"messages", got.Messages, want.Messages},
		{"checks", got.Checks, want.Checks}, {"thresholds", got.Thresholds, want.Thresholds},
		{"generator", got.Generator, want.Generator}, {"events", got.Events, want.Events},
		{"run.max_vus", got.Run.MaxVUs, want.Run.MaxVUs}, {"run.status", got.Run.Status, want.Run.Status},
		{"run.started", got.Run.Started, want.Run.Started}, {"run.ended", got.Run.Ended, want.Run.Ended},
	} {
		if g, w := jsonOf(t, f.g), jsonOf(t, f.w); g != w {
			t.Errorf("%s:\n got %s\nwant %s", f.name, g, w)
		}
	}
	if len(got.Endpoints) != len(want.Endpoints) || len(got.Timeline) != len(want.Timeline) || len(got.Windows) != len(want.Windows) {
		t.Fatalf("%d endpoints, %d points, %d windows; want %d, %d, %d", len(got.Endpoints), len(got.Timeline), len(got.Windows),
			len(want.Endpoints), len(want.Timeline), len(want.Windows))
	}
	for i := range want.Endpoints {
		g, w := got.Endpoints[i], want.Endpoints[i]
		g.RPS, w.RPS = 0, 0
		if a, b := jsonOf(t, g), jsonOf(t, w); a != b {
			t.Errorf("endpoint %d:\n got %s\nwant %s", i, a, b)
		}
	}
	for i := range want.Timeline {
		g, w := got.Timeline[i], want.Timeline[i]
		if a, b := jsonOf(t, g), jsonOf(t, w); a != b {
			t.Errorf("point %d:\n got %s\nwant %s", i, a, b)
		}
	}
	for i := range want.Windows {
		g, w := got.Windows[i], want.Windows[i]
		if g.Requests != w.Requests || g.Errors != w.Errors || jsonOf(t, g.P50) != jsonOf(t, w.P50) || jsonOf(t, g.P99) != jsonOf(t, w.P99) {
			t.Errorf("window %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The server's own run: the summary rebuilt from the stored snapshots is
// the one built from the live snapshots at its end, and is what the API
// serves once the run has ended.
func TestStoredSummaryOfServerRun(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/api/items", "rate": 60, "duration": "3s",
		"thresholds": []string{"p95 < 2s", "errors < 1%"}}, http.StatusCreated, &created)
	if r := e.waitEnded(created.ID, 20*time.Second); r.Status != "finished" {
		t.Fatalf("run: %+v", r)
	}
	ctx := context.Background()
	live, ok, err := e.st.Summary(ctx, created.ID) // report.Build on the controller's Result
	if err != nil || !ok {
		t.Fatalf("stored summary: %v %v", ok, err)
	}
	rebuilt, err := server.StoredSummary(ctx, e.st, created.ID, server.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Totals.Requests == 0 || rebuilt.Totals.Requests != tb.Count() {
		t.Errorf("rebuilt summary counts %d requests, the target saw %d", rebuilt.Totals.Requests, tb.Count())
	}
	sameMeasurements(t, live, rebuilt)
	if len(rebuilt.Thresholds) != 2 {
		t.Errorf("thresholds: %+v", rebuilt.Thresholds)
	}
	served := e.summary(created.ID)
	sameMeasurements(t, rebuilt, served)
	if served.Run.ID != created.ID || served.Run.Status != "finished" {
		t.Errorf("served summary: run %+v", served.Run)
	}
	checkWindows(t, e, created.ID, live)
}

// checkWindows asks for windows of a finished run and checks them against
// its live timeline: requests add up exactly, a one-interval window has
// that interval's percentiles, and a window over everything is the run.
func checkWindows(t *testing.T, e *env, id string, live report.Summary) {
	t.Helper()
	tl := live.Timeline
	if len(tl) < 3 {
		t.Fatalf("%d points: too short a run to test windows", len(tl))
	}
	from, to := tl[0].Elapsed, tl[2].Elapsed // intervals 1 and 2
	// ... and the last, partial interval when the run ended within a
	// millisecond of interval 2's end (elapsed times are ms): a window
	// holds the points whose elapsed, to the ms, is in (from, to].
	want, points := int64(0), 0
	for _, p := range tl {
		if p.Elapsed > from+0.0005 && p.Elapsed <= to+0.0005 {
			want += p.Requests
			points++
		}
	}
	var w report.Summary
	e.json("GET", fmt.Sprintf("/api/v1/runs/%s/summary?from=%g&to=%g", id, from, to), nil, http.StatusOK, &w)
	if w.Totals.Requests != want || len(w.Timeline) != points || points < 2 {
		var got, live []string
		for _, p := range w.Timeline {
			got = append(got, fmt.Sprintf("%v:%d", p.Elapsed, p.Requests))
		}
		for _, p := range tl[:min(len(tl), 5)] {
			live = append(live, fmt.Sprintf("%v:%d", p.Elapsed, p.Requests))
		}
		t.Errorf("window (%g, %g]: %d requests in %d points %v, want %d in %d (live points %v)", from, to, w.Totals.Requests, len(w.Timeline), got, want, points, live)
	}
	e.json("GET", fmt.Sprintf("/api/v1/runs/%s/summary?from=%g&to=%g", id, tl[0].Elapsed, tl[1].Elapsed), nil, http.StatusOK, &w)
	if p := tl[1]; w.Totals.Requests != p.Requests || w.Latency.P50 != p.P50 || w.Latency.P99 != p.P99 || w.Latency.Max != p.Max {
		t.Errorf("one-interval window: requests %d p50 %v p99 %v max %v; the live point: %d %v %v %v",
			w.Totals.Requests, w.Latency.P50, w.Latency.P99, w.Latency.Max, p.Requests, p.P50, p.P99, p.Max)
	}
	e.json("GET", fmt.Sprintf("/api/v1/runs/%s/summary?from=0&to=%g", id, tl[len(tl)-1].Elapsed), nil, http.StatusOK, &w)
	if w.Totals.Requests != live.Totals.Requests || jsonOf(t, w.Latency) != jsonOf(t, live.Latency) {
		t.Errorf("window over the whole run: %d requests, latency %s; want %d, %s",
			w.Totals.Requests, jsonOf(t, w.Latency), live.Totals.Requests, jsonOf(t, live.Latency))
	}
	// The report takes the same window.
	if status, body := e.do("GET", fmt.Sprintf("/api/v1/runs/%s/report?format=csv&from=%g&to=%g", id, from, to), nil); status != http.StatusOK || len(body) == 0 {
		t.Errorf("windowed report: %d %s", status, body)
	}
	for _, q := range []string{"from=-1", "to=abc", "from=3&to=2", "from=NaN", fmt.Sprintf("from=%g", tl[len(tl)-1].Elapsed+10)} {
		status, body := e.do("GET", "/api/v1/runs/"+id+"/summary?"+q, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"field"`) {
			t.Errorf("?%s: %d %s, want a 400 naming the field", q, status, body)
		}
	}
}

// A run recorded by `surge run --server` (a Recorder sink) sends its
// snapshots with its intervals: the server's rebuilt summary is the
// recorder's own final one.
func TestStoredSummaryOfRecordedRun(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	rate, d := 50.0, 3*time.Second
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/api/items", Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := server.NewRecorder(ctx, e.ts.URL, testSecret, plan, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controller.New(plan, controller.Options{Sink: rec}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	sent, ok, err := e.st.Summary(ctx, rec.ID()) // the recorder's final summary
	if err != nil || !ok {
		t.Fatalf("stored summary: %v %v", ok, err)
	}
	rebuilt, err := server.StoredSummary(ctx, e.st, rec.ID(), server.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Totals.Requests == 0 || rebuilt.Totals.Requests != tb.Count() {
		t.Errorf("rebuilt summary counts %d requests, the target saw %d", rebuilt.Totals.Requests, tb.Count())
	}
	sameMeasurements(t, sent, rebuilt)
	checkWindows(t, e, rec.ID(), sent)
}

// An older `surge run --server` sends no snapshots: its run is served from
// the stored summary, and a window, which needs them, is refused. A
// snapshot that does not decode is a 400 naming the field.
func TestRecordedIntervalsWithoutSnapshots(t *testing.T) {
	e := startServer(t, server.Options{})
	plan, err := scenario.Quick(scenario.QuickRequest{URL: "http://127.0.0.1:1/", Method: "GET"}, scenario.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(plan)
	var created struct{ ID string }
	e.json("POST", "/api/v1/recordings", map[string]any{"name": "old", "plan": json.RawMessage(pj)}, http.StatusCreated, &created)
	path := "/api/v1/runs/" + created.ID
	// As an older client sends it: no "snapshot".
	iv := map[string]any{"seq": 0, "point": map[string]any{"elapsed": 1, "requests": 7}, "summary": map[string]any{"totals": map[string]any{"requests": 7}}}
	if status, body := e.do("POST", path+"/intervals", iv); status != http.StatusNoContent {
		t.Fatalf("interval without snapshot: %d %s", status, body)
	}
	for _, bad := range []string{base64.StdEncoding.EncodeToString([]byte("not a snapshot")), ""} {
		iv["snapshot"] = bad
		status, body := e.do("POST", path+"/intervals", iv)
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"field":"snapshot"`) {
			t.Errorf("bad snapshot %q: %d %s, want a 400 naming snapshot", bad, status, body)
		}
	}
	delete(iv, "snapshot")
	finish := map[string]any{"status": "finished", "summary": map[string]any{"schema": report.Schema, "totals": map[string]any{"requests": 7}}}
	if status, body := e.do("POST", path+"/finish", finish); status != http.StatusOK {
		t.Fatalf("finish: %d %s", status, body)
	}
	if sum := e.summary(created.ID); sum.Totals.Requests != 7 {
		t.Errorf("served summary: %d requests, want the stored 7", sum.Totals.Requests)
	}
	if _, err := server.StoredSummary(context.Background(), e.st, created.ID, server.Window{}); err == nil {
		t.Error("StoredSummary of a run without snapshots: no error")
	}
	if status, body := e.do("GET", path+"/summary?from=0&to=1", nil); status != http.StatusConflict {
		t.Errorf("window of a run without snapshots: %d %s, want 409", status, body)
	}
	if _, err := server.StoredSummary(context.Background(), e.st, "nope", server.Window{}); err == nil || !strings.Contains(err.Error(), store.ErrNotFound.Error()) {
		t.Errorf("unknown run: %v", err)
	}
}
