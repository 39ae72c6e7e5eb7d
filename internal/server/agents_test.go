package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/surgeload/surge/internal/agent/agentpb"
	"github.com/surgeload/surge/internal/agent/agentpb/agentpbconnect"
	"github.com/surgeload/surge/internal/agent/remote"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

const (
	testAgentToken = "test-agent-token-0123456789"
	testVersion    = "v0.0.0-server-test"
)

// startAgentServer is startServer on a listener that speaks h2c as well,
// as `surge server` does on loopback, with an agent token.
func startAgentServer(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Store: st, Secret: testSecret,
		Agents: server.AgentOptions{Token: testAgentToken, Version: testVersion}})
	ts := httptest.NewUnstartedServer(srv.Handler())
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
	return e
}

// startWorker runs an in-process agent against e until the test ends.
func startWorker(t *testing.T, e *env, name, token string, labels map[string]string) <-chan error {
	t.Helper()
	w, err := remote.NewWorker(remote.WorkerOptions{Server: e.ts.URL, Token: token, Name: name, Labels: labels,
		Version: testVersion, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() { errc <- w.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the worker did not stop within 20 s")
		}
	})
	return errc
}

func (e *env) agents() map[string]remote.Info {
	e.t.Helper()
	code, body := e.do("GET", "/api/v1/agents", nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET /api/v1/agents: %d %s", code, body)
	}
	var list struct{ Agents []remote.Info }
	if err := json.Unmarshal(body, &list); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]remote.Info{}
	for _, a := range list.Agents {
		out[a.Name] = a
	}
	return out
}

func (e *env) waitAgents(t *testing.T, want func(map[string]remote.Info) bool) map[string]remote.Info {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		as := e.agents()
		if want(as) {
			return as
		}
		if time.Now().After(deadline) {
			t.Fatalf("agents after 10 s: %+v", as)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func idle(names ...string) func(map[string]remote.Info) bool {
	return func(as map[string]remote.Info) bool {
		for _, n := range names {
			if as[n].State != remote.StateIdle || as[n].Run != "" {
				return false
			}
		}
		return true
	}
}

// A run started through the API with "agents": 2 runs on the two
// connected agents, is recorded like any run, and gives them back.
func TestRunOnAgentsThroughTheAPI(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	e := startAgentServer(t)
	startWorker(t, e, "a1", testAgentToken, map[string]string{"zone": "eu"})
	startWorker(t, e, "a2", testAgentToken, map[string]string{"zone": "eu"})
	as := e.waitAgents(t, idle("a1", "a2"))
	if a := as["a1"]; a.Version != testVersion || a.Labels["zone"] != "eu" || a.Cores < 1 {
		t.Errorf("a1 is listed as %+v", a)
	}
	code, body := e.do("POST", "/api/v1/runs", map[string]any{"url": target.URL() + "/x", "rate": 100, "duration": "2s", "agents": 2})
	if code != http.StatusCreated {
		t.Fatalf("POST /api/v1/runs: %d %s", code, body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(body, &created)
	busy := e.waitAgents(t, func(as map[string]remote.Info) bool {
		return as["a1"].Run == created.ID && as["a2"].Run == created.ID
	})
	if busy["a1"].Share != "1/2" || busy["a2"].Share != "2/2" {
		t.Errorf("shares %q and %q, want 1/2 and 2/2", busy["a1"].Share, busy["a2"].Share)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := e.st.Get(context.Background(), created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != store.Running {
			if r.Status != store.Finished {
				t.Fatalf("run ended %s", r.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run on agents did not end within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body = e.do("GET", "/api/v1/runs/"+created.ID+"/summary", nil)
	var sum struct {
		Totals struct{ Requests int64 } `json:"totals"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &sum) != nil {
		t.Fatalf("summary: %d %s", code, body)
	}
	if got := target.Count(); sum.Totals.Requests != got || got != 200 {
		t.Errorf("the summary counts %d requests, the target saw %d; want 200 (100/s for 2 s)", sum.Totals.Requests, got)
	}
	e.waitAgents(t, idle("a1", "a2")) // given back
}

func TestStartOnAgentsRefusesBadFields(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	e := startAgentServer(t)
	startWorker(t, e, "a1", testAgentToken, map[string]string{"zone": "eu"})
	e.waitAgents(t, idle("a1"))
	for _, c := range []struct {
		name   string
		extra  map[string]any
		status int
		field  string
		msg    string
	}{
		{"no agent", map[string]any{"agents": 0}, 400, "agents", "want 1 to 1000 agents, got 0"},
		{"too many", map[string]any{"agents": 1001}, 400, "agents", "want 1 to 1000 agents"},
		{"loss policy alone", map[string]any{"on_agent_loss": "abort"}, 400, "on_agent_loss", "is for runs on agents"},
		{"unknown loss policy", map[string]any{"agents": 1, "on_agent_loss": "sometimes"}, 400, "on_agent_loss", `"sometimes" is not an agent-loss policy`},
		{"more than connected", map[string]any{"agents": 2}, 409, "agents", "2 agents asked for, but 1 agent is idle (of 1 connected)"},
		{"no agent with the label", map[string]any{"agent_labels": map[string]string{"zone": "us"}}, 409, "agents", "1 agent asked for, but 0 agents are idle with labels zone=us (of 1 connected)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"url": target.URL(), "rate": 10, "duration": "1s"}
			for k, v := range c.extra {
				body[k] = v
			}
			code, b := e.do("POST", "/api/v1/runs", body)
			var got struct{ Error, Field string }
			_ = json.Unmarshal(b, &got)
			if code != c.status || got.Field != c.field || !strings.Contains(got.Error, c.msg) {
				t.Errorf("%d %s, want %d on %s saying %q", code, b, c.status, c.field, c.msg)
			}
		})
	}
	if n := target.Count(); n != 0 {
		t.Errorf("refused starts sent %d requests", n)
	}
	if code, b := e.do("GET", "/api/v1/runs", nil); code != 200 || strings.Contains(string(b), `"id"`) {
		t.Errorf("refused starts left runs: %s", b)
	}
	e.waitAgents(t, idle("a1")) // a refused start reserves nothing
}

// The agent token and the secret open different doors.
func TestAgentTokenIsNotTheSecret(t *testing.T) {
	e := startAgentServer(t)
	if code, _ := e.do("GET", "/api/v1/agents", nil, "Bearer "+testAgentToken); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/agents with the agent token: %d, want 401", code)
	}
	if code, _ := e.do("GET", "/api/v1/agents", nil, "none"); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/agents without auth: %d, want 401", code)
	}
	errc := startWorker(t, e, "a1", testSecret, nil)
	select {
	case err := <-errc:
		if !errors.Is(err, remote.ErrRefused) || !strings.Contains(err.Error(), "wrong agent token") {
			t.Errorf("an agent holding the secret: %v, want refused for a wrong agent token", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an agent holding the secret instead of the token is still running")
	}
}

// Ten wrong agent tokens a minute per client; then even the right one
// waits, while the dashboard's secret still works (a limiter apart).
func TestWrongAgentTokensAreLimited(t *testing.T) {
	e := startAgentServer(t)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	client := agentpbconnect.NewAgentServiceClient(&http.Client{Transport: &http.Transport{Protocols: &p}}, e.ts.URL, connect.WithGRPC())
	try := func(token string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st := client.Connect(ctx)
		st.RequestHeader().Set("Authorization", "Bearer "+token)
		_ = st.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{Name: "x", Version: testVersion}}})
		m, err := st.Receive()
		if err == nil && m.GetWelcome() == nil {
			err = errors.New("no welcome")
		}
		_ = st.CloseRequest()
		_ = st.CloseResponse()
		return err
	}
	for i := range 10 {
		if err := try("wrong"); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Fatalf("wrong token %d: %v, want unauthenticated", i+1, err)
		}
	}
	err := try(testAgentToken)
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "too many wrong agent tokens") {
		t.Errorf("the right token after 10 wrong ones: %v, want resource_exhausted", err)
	}
	if code, _ := e.do("GET", "/api/v1/runs", nil); code != http.StatusOK {
		t.Errorf("the dashboard's secret after 10 wrong agent tokens: %d, want 200", code)
	}
}

// A server shutting down stops its run on agents as it stops a local one:
// the agents send their last intervals before their streams end, so the
// run is stopped, not failed, and counts every request the target saw.
func TestShutdownStopsARunOnAgentsWithItsData(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{Latency: 5 * time.Millisecond})
	e := startAgentServer(t)
	startWorker(t, e, "a1", testAgentToken, nil)
	e.waitAgents(t, idle("a1"))
	code, body := e.do("POST", "/api/v1/runs", map[string]any{"url": target.URL(), "rate": 50, "duration": "1m", "agents": 1})
	if code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(body, &created)
	for deadline := time.Now().Add(10 * time.Second); target.Count() < 50; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no load reached the target")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := e.st.Get(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.Stopped {
		t.Errorf("after a shutdown the run is %s (%s), want stopped", r.Status, r.Error)
	}
	sum, err := server.StoredSummary(context.Background(), e.st, created.ID, server.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if got := target.Count(); sum.Totals.Requests != got {
		t.Errorf("the stopped run counts %d requests, the target saw %d", sum.Totals.Requests, got)
	}
}
