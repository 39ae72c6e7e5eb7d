package remote

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// An agent cut off from its server (no FIN, no RST: a pulled cable, a
// dropping firewall) stops its load by itself once it has heard nothing
// for 3 intervals, as long as the server takes to mark it lost: it does
// not go on loading the target unseen until TCP or HTTP/2 gives up (10 s
// and more). Mended, the link brings it back, and it is told the run is
// over.
func TestCutAgentStopsItsLoadByItself(t *testing.T) {
	const hb = 100 * time.Millisecond
	srv := startServer(t, RegistryOptions{Heartbeat: hb})
	l := newLink(t, strings.TrimPrefix(srv.url, "http://"), 0)
	var logs syncBuffer
	startWorker(t, WorkerOptions{Server: l.url(), Token: srv.token, Name: "cut", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	waitIdle(t, srv.reg, 1)
	as, err := srv.reg.Acquire("run-cut", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := testutil.StartTarget(t, testbed.Options{})
	vus, d := 2, 30*time.Second
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL() + "/delay?ms=5", Method: "GET"}, scenario.Overrides{VUs: &vus, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	seg := agent.Segment{Plan: p, Start: time.Now().Add(50 * time.Millisecond), Interval: hb}
	first := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- as[0].Run(context.Background(), seg, func(metrics.Snapshot) { once.Do(func() { close(first) }) })
	}()
	<-first
	l.setCut(true)
	cut := time.Now()
	select {
	case err := <-errc:
		if !errors.Is(err, agent.ErrLost) {
			t.Fatalf("Run: %v, want ErrLost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cut agent was not lost to the run within 5 s")
	}
	// 3 intervals of silence, one heartbeat to notice, and the iterations
	// in flight (5 ms): the load has stopped well within a second.
	time.Sleep(time.Until(cut.Add(time.Second)))
	n := target.Count()
	time.Sleep(time.Second)
	if more := target.Count() - n; more != 0 {
		t.Fatalf("the cut agent sent %d requests between 1 s and 2 s after the cut: it keeps loading the target unseen", more)
	}
	if !strings.Contains(logs.String(), "the server is out of reach") {
		t.Errorf("the agent's log does not say why it stopped:\n%s", logs.String())
	}
	l.setCut(false)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "run-cut is over for this agent") {
		if time.Now().After(deadline) {
			t.Fatalf("the agent, back, was not told run-cut is over; its log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.reg.Release(as)
	waitIdle(t, srv.reg, 1) // back, and available to the next run
}

// An agent across a slow link (100 ms each way) reports the round trip
// its clock handshake measured, and a run on it starts on time: the
// controller sets the common start ahead by that many round trips, so
// the segment arrives before it.
func TestSlowLinkAgentStartsOnTime(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	const oneWay = 100 * time.Millisecond
	l := newLink(t, strings.TrimPrefix(srv.url, "http://"), oneWay)
	var logs syncBuffer
	startWorker(t, WorkerOptions{Server: l.url(), Token: srv.token, Name: "far", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	waitIdle(t, srv.reg, 1)
	as, err := srv.reg.Acquire("run-far", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rtt := as[0].RoundTrip(); rtt < 2*oneWay || rtt > 2*oneWay+50*time.Millisecond {
		t.Fatalf("round trip %v over a link of %v each way", rtt, oneWay)
	}
	target := testutil.StartTarget(t, testbed.Options{})
	rate, d := 200.0, 500*time.Millisecond
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := controller.New(p, controller.Options{Agents: []agent.Agent{as[0]}, Interval: 100 * time.Millisecond}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := res.Agents[0]
	if a.Iterations+a.Dropped != 100 {
		t.Errorf("%d iterations + %d dropped, want the 100 due", a.Iterations, a.Dropped)
	}
	// The agent had its segment before the start (it logs how long
	// before): with a fixed 50 ms lead it would have come 50 ms after it.
	m := regexp.MustCompile(`running a segment.* starts_in=(-?[0-9.]+[mµn]?s)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("the agent did not log its segment's start:\n%s", logs.String())
	}
	if in, err := time.ParseDuration(m[1]); err != nil || in < 200*time.Millisecond {
		t.Errorf("the segment came %s before the start (%v), want the lead of 4 round trips less the way there (≈ 750 ms)", m[1], err)
	}
	// And a late segment starts its first iterations late: 10 of 100 by
	// up to 50 ms. The generator's own lag on a busy machine is less.
	if a.StartLagP99 > 40*time.Millisecond {
		t.Errorf("start lag p99 %v over a %v round trip: the segment came after the start", a.StartLagP99, 2*oneWay)
	}
}

// A share that takes longer than 3 heartbeats to arrive (a large plan on
// a slow link) is not taken for the server's silence: the agent counts
// its bytes as heard, gets it whole and runs it.
func TestLargeShareOnASlowLinkIsNotSilence(t *testing.T) {
	// Heartbeats of 500 ms: 3 of them are 1.5 s. (The server gzips the
	// share before its first byte goes out, holding the stream up: the
	// race detector makes that slow for a share of MiBs.)
	const hb = 500 * time.Millisecond
	srv := startServer(t, RegistryOptions{Heartbeat: hb})
	// 64 KiB/s: the share below, 192 KiB of body (256 KiB as JSON, about
	// 195 KiB gzipped), takes about 3 s, twice 3 heartbeats.
	l := newSlowLink(t, strings.TrimPrefix(srv.url, "http://"), 0, 64<<10)
	var logs syncBuffer
	startWorker(t, WorkerOptions{Server: l.url(), Token: srv.token, Name: "big", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	waitIdle(t, srv.reg, 1)
	as, err := srv.reg.Acquire("run-big", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	target := testutil.StartTarget(t, testbed.Options{})
	// Random bytes: the stream is gzipped, and a body that compresses
	// would arrive at once.
	body := make([]byte, 192<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	vus, n := 1, int64(2)
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "POST", RawBody: body}, scenario.Overrides{VUs: &vus, Iterations: &n})
	if err != nil {
		t.Fatal(err)
	}
	seg := agent.Segment{Plan: p, Start: time.Now().Add(4 * time.Second), Interval: hb}
	began := time.Now()
	var reqs int64
	if err := as[0].Run(context.Background(), seg, func(s metrics.Snapshot) { reqs += s.Totals().Requests }); err != nil {
		t.Fatalf("Run: %v (after %v); the agent's log:\n%s", err, time.Since(began).Round(time.Millisecond), logs.String())
	}
	if reqs != 2 || target.Count() != 2 {
		t.Errorf("%d requests counted, %d at the target; want the 2 of the share", reqs, target.Count())
	}
	if strings.Contains(logs.String(), "out of reach") {
		t.Errorf("the agent took the server for silent while its share arrived:\n%s", logs.String())
	}
}
