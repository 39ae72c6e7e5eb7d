package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent/remote"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A search on two connected agents: the search sets the rate of the one
// run, which the agents carry in exact shares; every request is counted
// once, by agent.
func TestCapacitySearchOnTwoAgents(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Store: st, Secret: testSecret, Interval: capacityInterval, NoUI: true,
		Agents: server.AgentOptions{Token: testAgentToken, Version: testVersion}})
	ts := httptest.NewUnstartedServer(srv.Handler()) // h2c as well, as surge server on loopback
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	ts.Config.Protocols = &p
	ts.Start()
	e := &env{t: t, srv: srv, st: st, ts: ts, dir: dir, client: &http.Client{Timeout: 40 * time.Second}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing server: %v", err)
		}
		ts.Close()
		st.Close()
	})
	startWorker(t, e, "a1", testAgentToken, map[string]string{"zone": "eu"})
	startWorker(t, e, "a2", testAgentToken, map[string]string{"zone": "eu"})
	e.waitAgents(t, idle("a1", "a2"))

	id := e.startCapacity(map[string]any{"url": tb.URL() + "/work", "slo": []string{"p99<500ms", "errors<1%"},
		"start": 100, "max": 200, "step": "1200ms", "agents": 2, "agent_labels": map[string]string{"zone": "eu"}})
	busy := e.waitAgents(t, func(as map[string]remote.Info) bool { return as["a1"].Run == id && as["a2"].Run == id })
	if busy["a1"].Share != "1/2" || busy["a2"].Share != "2/2" {
		t.Errorf("shares %q and %q, want 1/2 and 2/2", busy["a1"].Share, busy["a2"].Share)
	}
	if r := e.waitEnded(id, 30*time.Second); r.Status != "finished" {
		t.Fatalf("the search on agents ended %s: %s", r.Status, r.Error)
	}
	res := e.capacity(id)
	if res.MaxRate != 200 || !res.Confirmed || len(res.Steps) < 3 {
		t.Errorf("result: max %v, confirmed %v, %d steps", res.MaxRate, res.Confirmed, len(res.Steps))
	}
	var load report.Summary
	e.json("GET", "/api/v1/runs/"+id+"/summary?of=load", nil, http.StatusOK, &load)
	var byAgent int64
	for _, a := range load.Agents {
		byAgent += a.Requests
		if a.Requests == 0 || a.Lost {
			t.Errorf("agent %+v", a)
		}
	}
	if n := tb.CountPath("/work"); len(load.Agents) != 2 || load.Totals.Requests != n || byAgent != n {
		t.Errorf("%d agents carried %d requests, the summary counts %d, the target saw %d", len(load.Agents), byAgent, load.Totals.Requests, n)
	}
	e.waitAgents(t, idle("a1", "a2")) // given back
}
