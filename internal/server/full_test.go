package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The disk fills during a run: SQLite answers SQLITE_FULL (the store is
// capped at its size with PRAGMA max_page_count, the path a full disk takes
// through SQLite). The run stops and is failed with the reason, no load is
// sent for nothing, new runs are refused with a 503 until there is room
// again, and the failed run can be deleted.
func TestRunStopsWhenTheStoreIsFull(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	ctx := context.Background()
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/api/items", "rate": 50, "duration": "30s"},
		http.StatusCreated, &created)
	id := created.ID
	fill(t, e.st)

	r := e.waitEnded(id, 10*time.Second)
	if r.Status != "failed" || !strings.Contains(r.Error, "cannot write") {
		t.Fatalf("run on a full store: status %q, error %q; want failed, saying the store cannot write", r.Status, r.Error)
	}
	// It ended: no more load goes out.
	sent := tb.Count()
	time.Sleep(1500 * time.Millisecond)
	if more := tb.Count() - sent; more > 0 {
		t.Errorf("%d requests sent after the run failed", more)
	}
	var list struct{ Runs []runInfo }
	e.json("GET", "/api/v1/runs", nil, http.StatusOK, &list)
	for _, r := range list.Runs {
		if r.ID == id && r.Status != "failed" {
			t.Errorf("run list: %+v", r)
		}
	}
	if s := e.summary(id); s.Run.Status != "failed" {
		t.Errorf("summary status %q, want failed", s.Run.Status)
	}
	// Stopping it says it has ended, not "is not running (running)".
	status, body := e.do("POST", "/api/v1/runs/"+id+"/stop", nil)
	if status != http.StatusConflict || strings.Contains(string(body), "(running)") {
		t.Errorf("stop a failed run: %d %s", status, body)
	}

	// No new run while nothing can be recorded.
	status, body = e.do("POST", "/api/v1/runs", map[string]any{"url": tb.URL(), "rate": 1, "duration": "1s"})
	var apiErr struct{ Error string }
	if status != http.StatusServiceUnavailable || json.Unmarshal(body, &apiErr) != nil || !strings.Contains(apiErr.Error, "cannot write") {
		t.Errorf("start on a full store: %d %s, want 503 with a JSON error", status, body)
	}
	if n := tb.Count(); n != sent {
		t.Errorf("a refused start sent %d requests", n-sent)
	}
	// The readiness check says so, without credentials and without the
	// store's path; the liveness check stays ok (a restart frees no disk).
	status, body = e.do("GET", "/api/v1/ready", nil, "none")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), `"store_unwritable"`) || strings.Contains(string(body), "/") {
		t.Errorf("ready on a full store: %d %s, want 503 store_unwritable and no path", status, body)
	}
	if status, body := e.do("GET", "/api/v1/health", nil, "none"); status != http.StatusOK {
		t.Errorf("health on a full store: %d %s, want 200", status, body)
	}

	// Room again: the failed run can go, and runs start.
	if err := e.st.SetMaxSize(ctx, -1); err != nil {
		t.Fatal(err)
	}
	if status, body := e.do("GET", "/api/v1/ready", nil, "none"); status != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("ready once there is room: %d %s", status, body)
	}
	if status, body := e.do("DELETE", "/api/v1/runs/"+id, nil); status != http.StatusNoContent {
		t.Errorf("delete the failed run: %d %s", status, body)
	}
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL(), "rate": 5, "duration": "1s"}, http.StatusCreated, &created)
	if r := e.waitEnded(created.ID, 10*time.Second); r.Status != "finished" {
		t.Errorf("a run once there is room: %+v", r)
	}
}

// fill caps st at its size and writes until not even a small row fits.
func fill(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.SetMaxSize(ctx, 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	for size := 256 << 10; size >= 16; size /= 4 {
		for {
			n++
			r := store.Run{ID: fmt.Sprintf("filler-%d", n), Status: store.Finished, Source: store.SourceServer, Model: "open",
				Started: time.Unix(0, 0), Ended: time.Unix(1, 0), Plan: json.RawMessage(`"` + strings.Repeat("x", size) + `"`)}
			err := st.Create(ctx, r)
			if errors.Is(err, store.ErrWrite) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n > 10000 {
				t.Fatal("the capped store never filled")
			}
		}
	}
}
