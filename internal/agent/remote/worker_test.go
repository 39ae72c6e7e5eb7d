package remote

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/agentpb"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func TestNewWorkerChecksItsOptions(t *testing.T) {
	ok := WorkerOptions{Server: "http://127.0.0.1:8089", Token: "t", Name: "a", Version: "v"}
	with := func(f func(*WorkerOptions)) WorkerOptions {
		o := ok
		f(&o)
		return o
	}
	many := map[string]string{}
	for i := range maxLabels + 1 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, c := range []struct {
		name string
		o    WorkerOptions
		want string // "" = accepted
	}{
		{"loopback h2c", ok, ""},
		{"localhost h2c", with(func(o *WorkerOptions) { o.Server = "http://localhost:8089" }), ""},
		{"IPv6 loopback h2c", with(func(o *WorkerOptions) { o.Server = "http://[::1]:8089" }), ""},
		{"TLS anywhere", with(func(o *WorkerOptions) { o.Server = "https://surge.example:8089/" }), ""},
		{"h2c elsewhere", with(func(o *WorkerOptions) { o.Server = "http://10.1.2.3:8089" }), "loopback only"},
		{"h2c to a name", with(func(o *WorkerOptions) { o.Server = "http://surge.example:8089" }), "loopback only"},
		{"no scheme", with(func(o *WorkerOptions) { o.Server = "127.0.0.1:8089" }), "want a URL"},
		{"other scheme", with(func(o *WorkerOptions) { o.Server = "ftp://127.0.0.1" }), "want a URL"},
		{"no host", with(func(o *WorkerOptions) { o.Server = "http://" }), "want a URL"},
		{"no token", with(func(o *WorkerOptions) { o.Token = "" }), "no agent token"},
		{"bad name", with(func(o *WorkerOptions) { o.Name = "a b" }), "agent name"},
		{"too many labels", with(func(o *WorkerOptions) { o.Labels = many }), "65 labels"},
		{"bad label key", with(func(o *WorkerOptions) { o.Labels = map[string]string{"a b": "v"} }), "label"},
		{"long label value", with(func(o *WorkerOptions) { o.Labels = map[string]string{"k": strings.Repeat("v", maxLabelValue+1)} }), "at most 256 bytes"},
		{"longest label value", with(func(o *WorkerOptions) { o.Labels = map[string]string{"k": strings.Repeat("v", maxLabelValue)} }), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewWorker(c.o)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestNewWorkerDefaults(t *testing.T) {
	w, err := NewWorker(WorkerOptions{Server: "http://127.0.0.1:1", Token: "t", Name: "a", Version: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if w.opts.Cores != runtime.GOMAXPROCS(0) || w.opts.MinBackoff != DefaultMinBackoff || w.opts.MaxBackoff != DefaultMaxBackoff {
		t.Errorf("defaults: cores %d, backoff %v..%v", w.opts.Cores, w.opts.MinBackoff, w.opts.MaxBackoff)
	}
	w, _ = NewWorker(WorkerOptions{Server: "http://127.0.0.1:1", Token: "t", Name: "a", Version: "v", Cores: 3,
		MinBackoff: time.Minute, MaxBackoff: time.Second})
	if w.opts.Cores != 3 || w.opts.MinBackoff != time.Minute || w.opts.MaxBackoff != time.Minute {
		t.Errorf("given: cores %d, backoff %v..%v; want 3, 1m..1m (the max is at least the min)", w.opts.Cores, w.opts.MinBackoff, w.opts.MaxBackoff)
	}
	w, _ = NewWorker(WorkerOptions{Server: "http://127.0.0.1:1", Token: "t", Name: "a", Version: "v",
		MinBackoff: time.Second, MaxBackoff: 5 * time.Second})
	if w.opts.MinBackoff != time.Second || w.opts.MaxBackoff != 5*time.Second {
		t.Errorf("given 1s..5s: %v..%v", w.opts.MinBackoff, w.opts.MaxBackoff)
	}
	w, _ = NewWorker(WorkerOptions{Server: "http://127.0.0.1:1", Token: "t", Name: "a", Version: "v",
		MinBackoff: time.Second, MaxBackoff: time.Second})
	if w.opts.MinBackoff != time.Second || w.opts.MaxBackoff != time.Second {
		t.Errorf("given 1s..1s: %v..%v", w.opts.MinBackoff, w.opts.MaxBackoff)
	}
}

func TestHeartbeatPeriodFromTheWelcome(t *testing.T) {
	w := &Worker{}
	for _, c := range []struct{ in, want time.Duration }{
		{0, DefaultHeartbeat}, {-time.Second, DefaultHeartbeat}, {2 * time.Minute, DefaultHeartbeat},
		{time.Minute, time.Minute}, {250 * time.Millisecond, 250 * time.Millisecond},
		{time.Millisecond, 10 * time.Millisecond}, {10 * time.Millisecond, 10 * time.Millisecond},
	} {
		if got := w.heartbeatEvery(&agentpb.Welcome{HeartbeatNanos: int64(c.in)}); got != c.want {
			t.Errorf("heartbeat %v from a Welcome of %v, want %v", got, c.in, c.want)
		}
	}
}

// A RunOver for the running segment stops it at once, and nothing more
// of it is sent.
func TestRunOverStopsTheSegment(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	var logs syncBuffer
	startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "w", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	waitIdle(t, srv.reg, 1)
	as, _ := srv.reg.Acquire("run-o", 1, nil)
	target := testutil.StartTarget(t, testbed.Options{})
	rate, d := 50.0, 30*time.Second
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	snaps := make(chan struct{}, 100)
	errc := make(chan error, 1)
	go func() {
		errc <- as[0].Run(context.Background(), agent.Segment{Plan: p, Start: time.Now().Add(50 * time.Millisecond), Interval: 100 * time.Millisecond},
			func(metrics.Snapshot) { snaps <- struct{}{} })
	}()
	<-snaps
	// What the registry does when it loses an agent whose stream lives on.
	srv.reg.mu.Lock()
	c := srv.reg.agents["w"]
	c.loseJob(errors.New("lost by the test"))
	srv.reg.mu.Unlock()
	c.enqueue(runOver("run-o", "run run-o is over for this agent: the test says so"))
	if err := <-errc; !errors.Is(err, agent.ErrLost) {
		t.Fatalf("Run: %v, want ErrLost", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "the test says so") {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not log the RunOver:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // in-flight requests end
	before := target.Count()
	time.Sleep(500 * time.Millisecond)
	if after := target.Count(); after != before {
		t.Errorf("the segment sent %d requests after its RunOver", after-before)
	}
}
