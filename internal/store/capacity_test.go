package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/store"
)

// A capacity search's result is kept with its run: rewritten step by step,
// then final and fixed; it survives the process, and a search whose
// process died is interrupted with the steps it had saved.
func TestCapacityResultLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := open(t, dir)
	t0 := time.Now().Add(-time.Minute)
	load := newRun("load", t0)
	search := newRun("search", t0.Add(time.Second))
	search.Kind = store.KindCapacity
	died := newRun("died", t0.Add(2*time.Second))
	died.Kind = store.KindCapacity
	for _, r := range []store.Run{load, search, died} {
		if err := st.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.Capacity(ctx, "search"); !errors.Is(err, store.ErrNoCapacity) {
		t.Errorf("before the first step: %v, want ErrNoCapacity", err)
	}
	if _, _, err := st.Capacity(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no such run: %v, want ErrNotFound", err)
	}
	if err := st.SaveCapacity(ctx, "nope", json.RawMessage(`{}`), false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("saving for no run: %v, want ErrNotFound", err)
	}
	if err := st.SaveCapacity(ctx, "search", json.RawMessage(`{"steps":[`), false); err == nil {
		t.Error("saving broken JSON: no error")
	}
	for _, c := range []struct {
		id, result string
		final      bool
	}{
		{"search", `{"steps":[1]}`, false},
		{"search", `{"steps":[1,2]}`, false},
		{"search", `{"steps":[1,2,3],"max_rate":20,"lower_bound":true,"bottleneck":{"kind":"cpu"}}`, true},
		{"died", `{"steps":[1]}`, false},
	} {
		if err := st.SaveCapacity(ctx, c.id, json.RawMessage(c.result), c.final); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SaveCapacity(ctx, "search", json.RawMessage(`{"steps":[]}`), false); !errors.Is(err, store.ErrCapacityFinal) {
		t.Errorf("rewriting a final result: %v, want ErrCapacityFinal", err)
	}
	if err := st.Finish(ctx, "search", store.Finished, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open(t, dir) // "died" was running: now interrupted
	defer st.Close()
	for _, c := range []struct {
		id, kind, status, result string
		final                    bool
	}{
		{"load", store.KindLoad, "interrupted", "", false},
		{"search", store.KindCapacity, "finished", `{"steps":[1,2,3],"max_rate":20,"lower_bound":true,"bottleneck":{"kind":"cpu"}}`, true},
		{"died", store.KindCapacity, "interrupted", `{"steps":[1]}`, false},
	} {
		r, err := st.Get(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != c.kind || string(r.Status) != c.status {
			t.Errorf("%s: kind %q, status %q; want %q, %q", c.id, r.Kind, r.Status, c.kind, c.status)
		}
		res, final, err := st.Capacity(ctx, c.id)
		switch {
		case c.result == "" && !errors.Is(err, store.ErrNoCapacity):
			t.Errorf("%s: capacity %s, %v; want ErrNoCapacity", c.id, res, err)
		case c.result != "" && (err != nil || string(res) != c.result || final != c.final):
			t.Errorf("%s: capacity %s final %v (%v); want %s final %v", c.id, res, final, err, c.result, c.final)
		}
	}
	runs, err := st.List(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, r := range runs {
		kinds[r.ID] = r.Kind
	}
	if kinds["load"] != store.KindLoad || kinds["search"] != store.KindCapacity {
		t.Errorf("listed kinds %v", kinds)
	}
	heads, err := st.CapacityHeadlines(ctx, []string{"load", "search", "died", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 2 || heads["search"] != (store.CapacityHeadline{MaxRate: 20, LowerBound: true, Bottleneck: "cpu", Steps: 3, Final: true}) || heads["died"] != (store.CapacityHeadline{Steps: 1}) {
		t.Errorf("headlines %+v", heads)
	}
	// Deleting the run deletes its result.
	if err := st.Delete(ctx, "search"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Capacity(ctx, "search"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}
