package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The summary of a window of a run on two agents has each agent's row for
// that window: the merged snapshots keep each agent's part of every
// interval, so the rows add up to the window's totals, as the whole run's
// rows add up to its.
func TestWindowSummaryHasAgentRows(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	e := startAgentServer(t)
	startWorker(t, e, "w1", testAgentToken, nil)
	startWorker(t, e, "w2", testAgentToken, nil)
	e.waitAgents(t, idle("w1", "w2"))
	code, body := e.do("POST", "/api/v1/runs", map[string]any{"url": target.URL() + "/x", "rate": 100, "duration": "3s", "agents": 2})
	if code != http.StatusCreated {
		t.Fatalf("POST /api/v1/runs: %d %s", code, body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(body, &created)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := e.st.Get(context.Background(), created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != store.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not end within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rows := func(path string) report.Summary {
		code, body := e.do("GET", path, nil)
		var s report.Summary
		if code != http.StatusOK || json.Unmarshal(body, &s) != nil {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return s
	}
	whole := rows("/api/v1/runs/" + created.ID + "/summary")
	win := rows("/api/v1/runs/" + created.ID + "/summary?from=1&to=2")
	for name, s := range map[string]report.Summary{"whole run": whole, "window": win} {
		if len(s.Agents) != 2 || s.Agents[0].Name != "w1" || s.Agents[1].Name != "w2" {
			t.Fatalf("%s: agents %+v", name, s.Agents)
		}
		var reqs, errs int64
		for _, a := range s.Agents {
			if a.Requests == 0 || a.Lost || a.CPUMax <= 0 {
				t.Errorf("%s: agent row %+v", name, a)
			}
			reqs, errs = reqs+a.Requests, errs+a.Errors
		}
		if reqs != s.Totals.Requests || errs != s.Totals.Errors {
			t.Errorf("%s: the agents' rows add up to %d requests (%d errors), its totals say %d (%d)", name, reqs, errs, s.Totals.Requests, s.Totals.Errors)
		}
	}
	if win.Totals.Requests >= whole.Totals.Requests || win.Agents[0].Requests >= whole.Agents[0].Requests {
		t.Errorf("the window's rows %+v are the whole run's %+v", win.Agents, whole.Agents)
	}
}
