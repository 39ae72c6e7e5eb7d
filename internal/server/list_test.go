package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The history lists each run's load in the CLI's words and whether its
// thresholds passed; a run's plan reads as a scenario file would.
func TestHistoryShowsLoadAndVerdict(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	start := func(body map[string]any) string {
		var created struct{ ID string }
		e.json("POST", "/api/v1/runs", body, http.StatusCreated, &created)
		e.waitEnded(created.ID, 15*time.Second)
		return created.ID
	}
	passed := start(map[string]any{"url": tb.URL() + "/api/items", "rate": 20, "duration": "1s", "thresholds": []string{"p99<5s"}})
	failed := start(map[string]any{"url": tb.URL() + "/api/items", "vus": 2, "duration": "1s", "thresholds": []string{"rps>1000000"}})
	none := start(map[string]any{"url": tb.URL() + "/api/items", "rate": 10, "stages": "1s:20"})

	var list struct {
		Runs []map[string]json.RawMessage
	}
	e.json("GET", "/api/v1/runs", nil, http.StatusOK, &list)
	got := map[string][2]string{}
	for _, r := range list.Runs {
		var id, load string
		_ = json.Unmarshal(r["id"], &id)
		_ = json.Unmarshal(r["load"], &load)
		got[id] = [2]string{load, string(r["passed"])}
	}
	for id, want := range map[string][2]string{
		passed: {"open · 20/s · 1s", "true"},
		failed: {"closed · 2 VUs · 1s", "false"},
		none:   {"open · stages 10→20/s · 1s", "null"},
	} {
		if got[id] != want {
			t.Errorf("run %s listed with load and passed %q, want %q", id, got[id], want)
		}
	}

	r := e.run(passed)
	for _, want := range []string{`"model":"open"`, `"duration":"1s"`, `"timeout":"10s"`} {
		if !strings.Contains(string(r.Plan), want) {
			t.Errorf("plan lacks %s: %s", want, r.Plan)
		}
	}
	r = e.run(none)
	if !strings.Contains(string(r.Plan), `"stages":[{"duration":"1s","target":20}]`) {
		t.Errorf("plan's stages: %s", r.Plan)
	}
}
