package remote

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/agentpb"
	"github.com/surgeload/surge/internal/agent/agentpb/agentpbconnect"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// rawAgent speaks the protocol by hand, to play agents that misbehave.
type rawAgent struct {
	st *connect.BidiStreamForClient[agentpb.AgentMessage, agentpb.ServerMessage]
}

func dialRaw(t *testing.T, srv *testServer, name string) *rawAgent {
	t.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	client := agentpbconnect.NewAgentServiceClient(&http.Client{Transport: &http.Transport{Protocols: &protos}}, srv.url, connect.WithGRPC())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st := client.Connect(ctx)
	st.RequestHeader().Set("Authorization", "Bearer "+srv.token)
	a := &rawAgent{st: st}
	a.send(t, &agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{Name: name, Version: testVersion, Cores: 1}}})
	if m := a.recv(t); m.GetWelcome() == nil {
		t.Fatalf("first message %v, want a Welcome", m)
	}
	a.send(t, &agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Ready{Ready: &agentpb.Ready{}}})
	return a
}

func (a *rawAgent) send(t *testing.T, m *agentpb.AgentMessage) {
	t.Helper()
	if err := a.st.Send(m); err != nil {
		t.Fatal(err)
	}
}

func (a *rawAgent) recv(t *testing.T) *agentpb.ServerMessage {
	t.Helper()
	m, err := a.st.Receive()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func lossPlan(t *testing.T) scenario.Plan {
	t.Helper()
	target := testutil.StartTarget(t, testbed.Options{})
	vus, d := 1, 30*time.Second
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "GET"}, scenario.Overrides{VUs: &vus, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// An agent that stops talking once it has its segment (a hung host) is
// lost to the run after 3 intervals — heartbeats, or the run's snapshot
// intervals when those are longer: Run returns ErrLost, and the agent
// finds a RunOver waiting when it wakes.
func TestSilentAgentIsLostAfterThreeIntervals(t *testing.T) {
	for _, c := range []struct {
		name         string
		hb, interval time.Duration
	}{
		{"heartbeats", 100 * time.Millisecond, 100 * time.Millisecond},
		{"snapshot intervals longer than heartbeats", 100 * time.Millisecond, 300 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startServer(t, RegistryOptions{Heartbeat: c.hb})
			raw := dialRaw(t, srv, "hung")
			waitIdle(t, srv.reg, 1)
			as, err := srv.reg.Acquire("run-1", 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			seg := agent.Segment{Plan: lossPlan(t), Start: time.Now().Add(50 * time.Millisecond), Interval: c.interval}
			errc := make(chan error, 1)
			go func() { errc <- as[0].Run(context.Background(), seg, func(metrics.Snapshot) {}) }()
			if m := raw.recv(t); m.GetSegment() == nil {
				t.Fatalf("got %v, want the Segment", m)
			}
			// One heartbeat, and from here the agent says nothing.
			raw.send(t, &agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Heartbeat{Heartbeat: &agentpb.Heartbeat{}}})
			began := time.Now()
			limit := LostAfter * max(c.hb, c.interval)
			select {
			case err := <-errc:
				took := time.Since(began)
				if !errors.Is(err, agent.ErrLost) {
					t.Fatalf("Run: %v, want ErrLost", err)
				}
				if took < limit || took > limit+500*time.Millisecond {
					t.Errorf("lost after %v, want just past %v", took, limit)
				}
				if !strings.Contains(err.Error(), "silent") {
					t.Errorf("error %q does not say the agent was silent", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a silent agent was not lost within 5 s")
			}
			if m := raw.recv(t); m.GetRunOver().GetRun() != "run-1" {
				t.Errorf("after its loss the agent reads %v, want RunOver for run-1", m)
			}
			if got := srv.reg.List()[0].State; got != StateLost {
				t.Errorf("state %q after the loss, want lost", got)
			}
		})
	}
}

// An agent whose stream breaks mid-run (a killed process) is lost at once.
func TestBrokenStreamIsLostAtOnce(t *testing.T) {
	srv := startServer(t, RegistryOptions{Heartbeat: time.Second})
	raw := dialRaw(t, srv, "killed")
	waitIdle(t, srv.reg, 1)
	as, _ := srv.reg.Acquire("run-1", 1, nil)
	seg := agent.Segment{Plan: lossPlan(t), Start: time.Now().Add(50 * time.Millisecond), Interval: time.Second}
	errc := make(chan error, 1)
	go func() { errc <- as[0].Run(context.Background(), seg, func(metrics.Snapshot) {}) }()
	raw.recv(t) // the Segment
	cut := time.Now()
	_ = raw.st.CloseRequest()
	_ = raw.st.CloseResponse()
	select {
	case err := <-errc:
		if !errors.Is(err, agent.ErrLost) {
			t.Fatalf("Run: %v, want ErrLost", err)
		}
		if d := time.Since(cut); d > 500*time.Millisecond {
			t.Errorf("lost %v after the stream broke, want at once", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an agent whose stream broke was not lost within 5 s")
	}
}

// syncBuffer is a log sink the test reads while the worker writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A worker whose stream breaks mid-run stops its segment, reconnects,
// and is told that run is over; the server's Run has returned ErrLost.
func TestReconnectAfterLossIsToldRunIsOver(t *testing.T) {
	srv := startServer(t, RegistryOptions{Heartbeat: 100 * time.Millisecond})
	var logs syncBuffer
	startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "flaky", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	waitIdle(t, srv.reg, 1)
	as, _ := srv.reg.Acquire("run-7", 1, nil)
	seg := agent.Segment{Plan: lossPlan(t), Start: time.Now().Add(50 * time.Millisecond), Interval: 100 * time.Millisecond}
	first := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- as[0].Run(context.Background(), seg, func(metrics.Snapshot) { once.Do(func() { close(first) }) })
	}()
	<-first
	srv.reg.mu.Lock()
	c := srv.reg.agents["flaky"]
	srv.reg.mu.Unlock()
	c.end(errors.New("cut by the test"))
	if err := <-errc; !errors.Is(err, agent.ErrLost) {
		t.Fatalf("Run: %v, want ErrLost", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "run-7 is over for this agent") {
		if time.Now().After(deadline) {
			t.Fatalf("the reconnected worker was not told run-7 is over; its log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitIdle(t, srv.reg, 1) // back, and available to the next run
}

// The segment starts at the server's instant whatever the agent's wall
// clock says: the handshake measures the offset.
func TestSkewedClockStartsOnTheServersInstant(t *testing.T) {
	for _, skew := range []time.Duration{7 * time.Second, -7 * time.Second} {
		t.Run(skew.String(), func(t *testing.T) {
			srv := startServer(t, RegistryOptions{})
			o := WorkerOptions{Server: srv.url, Token: srv.token, Name: "skewed"}
			o.now = func() time.Time { return time.Now().Add(skew) }
			startWorker(t, o)
			waitIdle(t, srv.reg, 1)
			info := srv.reg.List()[0]
			if got := time.Duration(info.ClockOffsetMS * 1e6); got < -skew-20*time.Millisecond || got > -skew+20*time.Millisecond {
				t.Errorf("measured offset %v, want %v (±20 ms)", got, -skew)
			}
			as, _ := srv.reg.Acquire("run-s", 1, nil)
			target := testutil.StartTarget(t, testbed.Options{})
			vus, n := 1, int64(3)
			p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "GET"}, scenario.Overrides{VUs: &vus, Iterations: &n})
			if err != nil {
				t.Fatal(err)
			}
			seg := agent.Segment{Plan: p, Start: time.Now().Add(time.Second), Interval: 200 * time.Millisecond}
			var firstStart time.Time
			if err := as[0].Run(context.Background(), seg, func(s metrics.Snapshot) {
				if firstStart.IsZero() {
					firstStart = s.Start
				}
			}); err != nil {
				t.Fatal(err)
			}
			ended := time.Now()
			if d := ended.Sub(seg.Start); d < 0 || d > time.Second {
				t.Errorf("3 requests ended %v after the start instant, want just after it", d)
			}
			if d := firstStart.Sub(seg.Start); d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("first interval starts %v off the start instant, on the server's clock", d)
			}
		})
	}
}

func TestAcquireSaysHowManyAreAvailable(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "a1", Labels: map[string]string{"zone": "eu"}})
	startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "a2", Labels: map[string]string{"zone": "us"}})
	waitIdle(t, srv.reg, 2)
	_, err := srv.reg.Acquire("r", 2, map[string]string{"zone": "eu"})
	var few *TooFewError
	if !errors.As(err, &few) {
		t.Fatalf("Acquire: %v, want a TooFewError", err)
	}
	if want := "2 agents asked for, but 1 agent is idle with labels zone=eu (of 2 connected)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	as, err := srv.reg.Acquire("r", 1, map[string]string{"zone": "us"})
	if err != nil || as[0].Name() != "a2" {
		t.Fatalf("Acquire zone=us: %v, %v", as, err)
	}
	if _, err := srv.reg.Acquire("r2", 1, map[string]string{"zone": "us"}); err == nil {
		t.Error("a reserved agent was acquired again")
	}
	srv.reg.Release(as)
	if _, err := srv.reg.Acquire("r2", 1, map[string]string{"zone": "us"}); err != nil {
		t.Errorf("after Release: %v", err)
	}
}

func TestSecondAgentOfOneNameIsTurnedAway(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "same"})
	waitIdle(t, srv.reg, 1)
	var logs syncBuffer
	_, errc := startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "same", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "an agent named same is connected already") {
		if time.Now().After(deadline) {
			t.Fatalf("the second agent was not told its name is taken; its log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-errc:
		t.Fatalf("the second agent gave up (%v): a taken name may free up, it should retry", err)
	default:
	}
	if n := len(srv.reg.List()); n != 1 {
		t.Errorf("%d agents listed, want 1", n)
	}
}

// An agent shut down mid-run (SIGTERM) stops its share gracefully: its
// last snapshot arrives, then Run returns ErrLost so the loss policy
// hands the share on.
func TestAgentShutDownMidRunIsLostWithItsData(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	w, err := NewWorker(WorkerOptions{Server: srv.url, Token: srv.token, Name: "leaving", Version: testVersion})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	waitIdle(t, srv.reg, 1)
	as, _ := srv.reg.Acquire("run-l", 1, nil)
	target := testutil.StartTarget(t, testbed.Options{Latency: 10 * time.Millisecond})
	rate, d := 50.0, 30*time.Second
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var requests int64
	snaps := make(chan struct{}, 100)
	errc := make(chan error, 1)
	go func() {
		errc <- as[0].Run(context.Background(), agent.Segment{Plan: p, Start: time.Now().Add(50 * time.Millisecond), Interval: 200 * time.Millisecond},
			func(s metrics.Snapshot) {
				mu.Lock()
				requests += s.Totals().Requests
				mu.Unlock()
				snaps <- struct{}{}
			})
	}()
	<-snaps
	<-snaps
	cancel() // SIGTERM
	select {
	case err := <-errc:
		if !errors.Is(err, agent.ErrLost) || !strings.Contains(err.Error(), "shut down") {
			t.Fatalf("Run: %v, want ErrLost saying the agent was shut down", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of the agent's shutdown")
	}
	if err := <-ran; err != nil {
		t.Errorf("the worker's Run after its cancel: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := target.Count(); requests != got || got == 0 {
		t.Errorf("snapshots count %d requests, the target saw %d: a shutdown keeps every request counted", requests, got)
	}
}

// An agent is reserved from Acquire to Release, busy while it runs, and
// told why its share was stopped.
func TestStatesThroughARun(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	var logs syncBuffer
	startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "s1", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	waitIdle(t, srv.reg, 1)
	state := func() Info { return srv.reg.List()[0] }
	as, _ := srv.reg.Acquire("run-s", 1, nil)
	if i := state(); i.State != StateIdle || i.Run != "run-s" || i.Share != "1/1" {
		t.Errorf("reserved: %+v, want idle, run-s, 1/1", i)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	first := make(chan struct{}, 100)
	errc := make(chan error, 1)
	go func() {
		errc <- as[0].Run(ctx, agent.Segment{Plan: lossPlan(t), Start: time.Now().Add(50 * time.Millisecond), Interval: 100 * time.Millisecond},
			func(metrics.Snapshot) { first <- struct{}{} })
	}()
	<-first
	if i := state(); i.State != StateBusy {
		t.Errorf("running: state %q, want busy", i.State)
	}
	cancel(errors.New("stopped by the test"))
	if err := <-errc; err != nil {
		t.Fatalf("Run after a stop: %v", err)
	}
	if !strings.Contains(logs.String(), "stopped by the test") {
		t.Errorf("the agent was not told why it was stopped; its log:\n%s", logs.String())
	}
	if i := state(); i.State != StateIdle || i.Run != "run-s" {
		t.Errorf("after Run: %+v, want idle and still reserved for run-s", i)
	}
	srv.reg.Release(as)
	if i := state(); i.State != StateIdle || i.Run != "" {
		t.Errorf("after Release: %+v, want idle and free", i)
	}
}
