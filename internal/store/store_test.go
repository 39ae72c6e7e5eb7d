package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/store"
)

func open(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

func newRun(id string, started time.Time) store.Run {
	return store.Run{ID: id, Name: "run " + id, Source: store.SourceServer, Model: "open",
		Started: started, Plan: json.RawMessage(`{"name":"x"}`)}
}

func summary(requests int64, points int) *report.Summary {
	s := &report.Summary{Schema: report.Schema, Totals: report.Totals{Requests: requests}}
	for i := range points {
		s.Timeline = append(s.Timeline, report.Point{Elapsed: float64(i + 1), Requests: 10})
	}
	return s
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	defer st.Close()
	t0 := time.Now().Add(-time.Minute)
	for i, id := range []string{"a", "b", "c"} {
		if err := st.Create(ctx, newRun(id, t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	for seq := range 3 {
		if err := st.Append(ctx, "b", seq, report.Point{Elapsed: float64(seq + 1), Requests: 10}, summary(int64(10*(seq+1)), 0)); err != nil {
			t.Fatal(err)
		}
	}
	sum, ok, err := st.Summary(ctx, "b")
	if err != nil || !ok {
		t.Fatalf("Summary: ok %v, %v", ok, err)
	}
	if sum.Totals.Requests != 30 || len(sum.Timeline) != 3 || sum.Run.Status != "running" || sum.Run.ID != "b" {
		t.Errorf("summary so far: requests %d, %d points, status %q, id %q", sum.Totals.Requests, len(sum.Timeline), sum.Run.Status, sum.Run.ID)
	}
	if err := st.Finish(ctx, "b", store.Stopped, "stopped from the API", summary(40, 4)); err != nil {
		t.Fatal(err)
	}
	if err := st.Append(ctx, "b", 9, report.Point{}, summary(1, 0)); !errors.Is(err, store.ErrNotRunning) {
		t.Errorf("Append after Finish: %v, want ErrNotRunning", err)
	}
	if err := st.Append(ctx, "nope", 0, report.Point{}, summary(1, 0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Append to unknown run: %v, want ErrNotFound", err)
	}
	tl, err := st.Timeline(ctx, "b")
	if err != nil || len(tl) != 4 {
		t.Errorf("timeline after Finish: %d points, %v; want the final 4", len(tl), err)
	}
	r, err := st.Get(ctx, "b")
	if err != nil || r.Status != store.Stopped || r.Error != "stopped from the API" || r.Ended.IsZero() || r.Figures.Requests != 40 {
		t.Errorf("Get: %+v, %v", r, err)
	}
	runs, err := st.List(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != "c" || ids[2] != "a" {
		t.Errorf("List order = %v, want newest first [c b a]", ids)
	}
	if err := st.Delete(ctx, "c"); !errors.Is(err, store.ErrNotRunning) {
		t.Errorf("Delete of a running run: %v, want ErrNotRunning", err)
	}
	if err := st.Delete(ctx, "b"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := st.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
}

// A run in progress when the process dies is interrupted at the next Open,
// with the points and summary it had.
func TestInterruptedOnReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := open(t, dir)
	if err := st.Create(ctx, newRun("r1", time.Now())); err != nil {
		t.Fatal(err)
	}
	for seq := range 2 {
		if err := st.Append(ctx, "r1", seq, report.Point{Elapsed: float64(seq + 1), Requests: 5}, summary(int64(5*(seq+1)), 0)); err != nil {
			t.Fatal(err)
		}
	}
	// A second process cannot open the same directory.
	if _, err := store.Open(ctx, dir, nil); !errors.Is(err, store.ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
	st.Close() // the "crash": nothing was finished

	st = open(t, dir)
	defer st.Close()
	r, err := st.Get(ctx, "r1")
	if err != nil || r.Status != store.Interrupted || r.Ended.IsZero() {
		t.Fatalf("after reopen: %+v, %v; want interrupted with an end", r, err)
	}
	sum, ok, err := st.Summary(ctx, "r1")
	if err != nil || !ok || sum.Totals.Requests != 10 || len(sum.Timeline) != 2 || sum.Run.Status != "interrupted" {
		t.Errorf("interrupted summary: ok %v requests %d points %d status %q, %v", ok, sum.Totals.Requests, len(sum.Timeline), sum.Run.Status, err)
	}
	ev, err := st.Events(ctx, "r1")
	if err != nil || len(ev) != 1 || ev[0].Kind != "interrupted" {
		t.Errorf("events: %+v, %v", ev, err)
	}
}
