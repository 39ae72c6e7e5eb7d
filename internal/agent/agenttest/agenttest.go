// Package agenttest is the conformance suite every agent.Agent passes:
// the in-process agent.Local and the remote agent of package agent/remote
// alike, in the manner of litestream's shared replica-client tests. A new
// transport starts from this suite failing.
//
//	func TestConformance(t *testing.T) {
//		agenttest.Run(t, func(t *testing.T) agent.Agent { return agent.NewLocal() })
//	}
//
// Each case starts its own target with testutil.StartTarget on 127.0.0.1
// and runs a small, bounded segment on a fresh agent from the constructor.
package agenttest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// Bounds of the suite's runs.
const (
	interval = 200 * time.Millisecond // snapshot interval of every case
	startIn  = 50 * time.Millisecond  // the segments' start, from now
	// runLimit bounds any one Run: every case's segment is done well
	// within it, so a Run that outlives it is a failure, not a slow box.
	runLimit = 15 * time.Second
)

// Run runs the suite against agents made by newAgent, one per case. The
// constructor registers its own cleanup with t.
func Run(t *testing.T, newAgent func(t *testing.T) agent.Agent) {
	t.Run("budget: every request counted once", func(t *testing.T) { testBudget(t, newAgent(t)) })
	t.Run("intervals: contiguous, on the segment's start, last one partial", func(t *testing.T) { testIntervals(t, newAgent(t)) })
	t.Run("adjust while running", func(t *testing.T) { testAdjust(t, newAgent(t), false) })
	t.Run("adjust before the run starts", func(t *testing.T) { testAdjust(t, newAgent(t), true) })
	t.Run("cancel stops gracefully", func(t *testing.T) { testCancel(t, newAgent(t)) })
	t.Run("two runs on one agent", func(t *testing.T) { testTwice(t, newAgent(t)) })
	t.Run("a plan that cannot run is an error", func(t *testing.T) { testBadPlan(t, newAgent(t)) })
}

// collector gathers what emit sends; emit must come from one goroutine,
// but the test reads from another.
type collector struct {
	mu    sync.Mutex
	snaps []metrics.Snapshot
	ch    chan metrics.Snapshot // each snapshot, for cases that wait on them
}

func newCollector() *collector { return &collector{ch: make(chan metrics.Snapshot, 1024)} }

func (c *collector) emit(s metrics.Snapshot) {
	c.mu.Lock()
	c.snaps = append(c.snaps, s)
	c.mu.Unlock()
	select {
	case c.ch <- s:
	default:
	}
}

func (c *collector) all() []metrics.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]metrics.Snapshot(nil), c.snaps...)
}

func requests(snaps []metrics.Snapshot) int64 {
	var n int64
	for i := range snaps {
		t := snaps[i].Totals()
		n += t.Requests
	}
	return n
}

func quick(t *testing.T, url string, o scenario.Overrides) scenario.Plan {
	t.Helper()
	timeout := 5 * time.Second
	o.Timeout = &timeout
	p, err := scenario.Quick(scenario.QuickRequest{URL: url + "/conformance", Method: "GET"}, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs seg on a within runLimit and returns Run's error.
func run(t *testing.T, ctx context.Context, a agent.Agent, seg agent.Segment, c *collector) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, runLimit)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx, seg, c.emit) }()
	select {
	case err := <-errc:
		return err
	case <-time.After(runLimit + 5*time.Second):
		t.Fatalf("Run did not return %v after its context ended", 5*time.Second)
		return nil
	}
}

func segment(p scenario.Plan) agent.Segment {
	return agent.Segment{Plan: p, Start: time.Now().Add(startIn), Interval: interval}
}

func ptr[T any](v T) *T { return &v }

func testBudget(t *testing.T, a agent.Agent) {
	target := testutil.StartTarget(t, testbed.Options{Latency: 2 * time.Millisecond})
	p := quick(t, target.URL(), scenario.Overrides{VUs: ptr(3), Iterations: ptr(int64(60))})
	c := newCollector()
	began := time.Now()
	if err := run(t, context.Background(), a, segment(p), c); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := requests(c.all()); got != 60 {
		t.Errorf("snapshots count %d requests, want the budget's 60", got)
	}
	if got := target.Count(); got != 60 {
		t.Errorf("the target saw %d requests, want 60", got)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("60 requests of 2 ms on 3 VUs took %v: Run did not return when the budget was spent", d)
	}
}

func testIntervals(t *testing.T, a agent.Agent) {
	target := testutil.StartTarget(t, testbed.Options{})
	p := quick(t, target.URL(), scenario.Overrides{Rate: ptr(50.0), Duration: ptr(time.Second)})
	seg := segment(p)
	c := newCollector()
	if err := run(t, context.Background(), a, seg, c); err != nil {
		t.Fatalf("Run: %v", err)
	}
	snaps := c.all()
	if len(snaps) < 5 {
		t.Fatalf("%d snapshots of a 1 s segment at %v intervals, want at least 5", len(snaps), interval)
	}
	for i, s := range snaps {
		if s.Seq != i {
			t.Fatalf("snapshot %d has Seq %d: want contiguous numbers from 0 (%v)", i, s.Seq, seqs(snaps))
		}
	}
	if d := snaps[0].Start.Sub(seg.Start); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("the first interval starts %v after the segment's start, want 0 (±1 ms)", d)
	}
	for i, s := range snaps[:len(snaps)-1] {
		if s.Duration() != interval {
			t.Errorf("interval %d lasts %v, want %v", i, s.Duration(), interval)
		}
		if next := snaps[i+1].Start; !next.Equal(s.End) {
			t.Errorf("interval %d ends at %v but %d starts at %v", i, s.End, i+1, next)
		}
	}
	if last := snaps[len(snaps)-1]; last.Duration() > interval || last.Duration() < 0 {
		t.Errorf("the last, partial interval lasts %v, want at most %v", last.Duration(), interval)
	}
	if got, want := requests(snaps), target.Count(); got != want || got < 45 {
		t.Errorf("snapshots count %d requests, the target saw %d; want equal and about 50", got, want)
	}
}

func testAdjust(t *testing.T, a agent.Agent, early bool) {
	target := testutil.StartTarget(t, testbed.Options{Latency: 5 * time.Millisecond})
	p := quick(t, target.URL(), scenario.Overrides{VUs: ptr(1), Duration: ptr(8 * time.Second)})
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if early {
		a.Adjust(3)
	}
	errc := make(chan error, 1)
	go func() { errc <- run(t, ctx, a, segment(p), c) }()
	if !early {
		select {
		case <-c.ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no snapshot within 5 s")
		}
		a.Adjust(3)
	}
	deadline := time.After(3 * time.Second)
	for seen := false; !seen; {
		select {
		case s := <-c.ch:
			seen = s.VUs == 3
		case <-deadline:
			t.Fatalf("no snapshot with 3 VUs within 3 s of Adjust(3): %v", vus(c.all()))
		}
	}
	cancel()
	if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func testCancel(t *testing.T, a agent.Agent) {
	target := testutil.StartTarget(t, testbed.Options{Latency: 20 * time.Millisecond})
	p := quick(t, target.URL(), scenario.Overrides{Rate: ptr(40.0), Duration: ptr(time.Minute)})
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- run(t, ctx, a, segment(p), c) }()
	for range 2 {
		select {
		case <-c.ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no snapshot within 5 s")
		}
	}
	cancel()
	stopped := time.Now()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of its context's cancel")
	}
	if d := time.Since(stopped); d > 2*time.Second {
		t.Errorf("Run took %v to return after the cancel; in-flight requests take 20 ms", d)
	}
	snaps := c.all()
	if got, want := requests(snaps), target.Count(); got != want {
		t.Errorf("snapshots count %d requests, the target saw %d: a graceful stop counts every request it sent", got, want)
	}
	if last := snaps[len(snaps)-1]; last.Duration() >= interval {
		t.Errorf("the last interval lasts %v: want the partial interval up to the stop", last.Duration())
	}
}

func testTwice(t *testing.T, a agent.Agent) {
	target := testutil.StartTarget(t, testbed.Options{})
	for i := range 2 {
		p := quick(t, target.URL(), scenario.Overrides{VUs: ptr(2), Iterations: ptr(int64(25))})
		c := newCollector()
		if err := run(t, context.Background(), a, segment(p), c); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if got := requests(c.all()); got != 25 {
			t.Errorf("run %d: snapshots count %d requests, want 25", i+1, got)
		}
	}
	if got := target.Count(); got != 50 {
		t.Errorf("the target saw %d requests over two runs of 25", got)
	}
}

func testBadPlan(t *testing.T, a agent.Agent) {
	target := testutil.StartTarget(t, testbed.Options{})
	p := quick(t, target.URL(), scenario.Overrides{VUs: ptr(1), Iterations: ptr(int64(5))})
	p.Target = "http://[::1" // a base URL that does not parse: the plan does not compile
	c := newCollector()
	if err := run(t, context.Background(), a, segment(p), c); err == nil {
		t.Fatal("Run of a plan whose target does not parse returned nil, want an error")
	}
	if n := target.Count(); n != 0 {
		t.Errorf("a plan that cannot run sent %d requests", n)
	}
}

func seqs(snaps []metrics.Snapshot) []int {
	out := make([]int, len(snaps))
	for i, s := range snaps {
		out[i] = s.Seq
	}
	return out
}

func vus(snaps []metrics.Snapshot) []int {
	out := make([]int, len(snaps))
	for i, s := range snaps {
		out[i] = s.VUs
	}
	return out
}
