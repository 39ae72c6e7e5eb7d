package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The property Surge is built on (coordinated omission): in the open
// model, latency is measured from the time an iteration was due. With
// --rate 100 --max-vus 2 on a 100 ms endpoint, two VUs can run 20
// iterations a second; the other 80 wait for a VU, and that wait is part
// of their latency. A generator that measured from the send would report
// p50 ≈ 100 ms here; the truth is several hundred.
func TestOpenModelLatencyCountsFromTheDueTime(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate, maxVUs := 100.0, 2
	dur, timeout := time.Second, time.Second
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/delay?ms=100", Method: "GET"},
		scenario.Overrides{Rate: &rate, MaxVUs: &maxVUs, Duration: &dur, Timeout: &timeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := controller.New(plan, controller.Options{Interval: 250 * time.Millisecond}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Total.Totals()
	if tot.Requests < 10 {
		t.Fatalf("only %d requests completed", tot.Requests)
	}
	// Iteration i (from 0) starts at about i·50 ms (two VUs, 100 ms each)
	// and was due at i·10 ms: it waited ≈ 40·i ms, then took 100 ms. Those
	// that would wait a whole timeout (1 s) are dropped, so the ~25 measured
	// ones span 100 ms … 1.1 s, and their median is ≈ 600 ms.
	p50 := tot.Latency.Quantile(0.5)
	if p50 < 300*time.Millisecond {
		t.Fatalf("p50 %v with an exhausted VU pool: the wait for a VU is not in the latency (measured from the send, not the due time?)", p50)
	}
	if max := tot.Latency.Max(); max < 700*time.Millisecond || max > 1500*time.Millisecond {
		t.Fatalf("max latency %v, want ≈ 1.1 s (timeout 1 s + 100 ms)", max)
	}
	// Nothing is lost: every due iteration ran or was dropped.
	if got := res.Total.Iterations + res.Total.Dropped; got != 100 {
		t.Fatalf("iterations %d + dropped %d = %d, want the 100 due", res.Total.Iterations, res.Total.Dropped, got)
	}
	if res.Total.Dropped < 50 {
		t.Fatalf("dropped %d, want most of the 100 (2 VUs × 100 ms serve ≈ 20/s)", res.Total.Dropped)
	}
	// The start lag tells the same story: the generator started iterations
	// long after they were due.
	if res.Total.Lag == nil || res.Total.Lag.Count() == 0 {
		t.Fatal("no start lag recorded in the open model")
	}
	if lag := res.Total.Lag.Quantile(0.5); lag < 200*time.Millisecond {
		t.Fatalf("start-lag p50 %v, want hundreds of ms (iterations waited for a VU)", lag)
	}
}

// An iteration budget with no duration must still be paced at the rate:
// --rate 200 --requests 400 takes ≈ 2 s, not as long as the target needs
// to answer 400 requests back to back.
func TestOpenModelBudgetKeepsTheRate(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate := 200.0
	iters := int64(400)
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
		scenario.Overrides{Rate: &rate, Iterations: &iters})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t0 := time.Now()
	res, err := controller.New(plan, controller.Options{Interval: 500 * time.Millisecond}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	if n := res.Total.Totals().Requests; n != 400 || tb.Count() != 400 {
		t.Fatalf("recorded %d, target saw %d, want 400", n, tb.Count())
	}
	// The 400th is due at 1.995 s; the run ends when it has been answered.
	if took < 1800*time.Millisecond || took > 3500*time.Millisecond {
		t.Fatalf("400 iterations at 200/s took %v, want ≈ 2 s", took)
	}
}

// The timeline is one merged snapshot per interval: numbered 0, 1, 2, …
// without a gap, each starting where the previous ended, each an interval
// long but the last (partial) one, and together holding every request once.
// With two agents each interval's merge holds both agents' shares.
func TestTimelineIsOneSnapshotPerInterval(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate := 200.0
	dur := 2 * time.Second
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
		scenario.Overrides{Rate: &rate, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	const interval = 250 * time.Millisecond
	var sunk []metrics.Snapshot
	s := sink.Func(func(_ context.Context, snap metrics.Snapshot) error { sunk = append(sunk, snap); return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := controller.New(plan, controller.Options{Agents: []agent.Agent{agent.NewLocal(), agent.NewLocal()}, Interval: interval, Sink: s})
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tl := res.Timeline
	// 2 s in 250 ms intervals: 8, and perhaps a last partial one.
	if len(tl) < 8 || len(tl) > 9 {
		t.Fatalf("%d intervals of 250 ms in a 2 s run, want 8 or 9", len(tl))
	}
	if len(sunk) != len(tl) {
		t.Fatalf("the sink saw %d snapshots, the timeline has %d", len(sunk), len(tl))
	}
	var sum int64
	for i, snap := range tl {
		if snap.Seq != i || sunk[i].Seq != i {
			t.Fatalf("interval %d has Seq %d (sink: %d)", i, snap.Seq, sunk[i].Seq)
		}
		if i == 0 && !snap.Start.Equal(res.Started) {
			t.Fatalf("the first interval starts at %v, the run at %v", snap.Start, res.Started)
		}
		if i > 0 && !snap.Start.Equal(tl[i-1].End) {
			t.Fatalf("interval %d starts at %v, the previous ended at %v", i, snap.Start, tl[i-1].End)
		}
		if d := snap.Duration(); i < len(tl)-1 && (d < interval-5*time.Millisecond || d > interval+5*time.Millisecond) {
			t.Fatalf("interval %d lasted %v, want %v", i, d, interval)
		}
		n := snap.Totals().Requests
		// 200/s × 250 ms = 50 due per interval; in the full intervals
		// most complete within them (the rest in the next).
		if i < 7 && (n < 35 || n > 65) {
			t.Fatalf("interval %d holds %d requests, want ≈ 50", i, n)
		}
		sum += n
	}
	if sum != 400 || res.Total.Totals().Requests != 400 || tb.Count() != 400 {
		t.Fatalf("intervals add up to %d, total %d, target saw %d; want 400", sum, res.Total.Totals().Requests, tb.Count())
	}
	if !res.Ended.Equal(tl[len(tl)-1].End) {
		t.Fatalf("the run ended at %v, its last interval at %v", res.Ended, tl[len(tl)-1].End)
	}
}

// Adjust in the open model changes the rate on every agent, and the run
// records the change as a rate event.
func TestAdjustTheRateOfAnOpenRun(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate := 40.0
	dur := 1500 * time.Millisecond
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
		scenario.Overrides{Rate: &rate, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	c := controller.New(plan, controller.Options{Agents: []agent.Agent{agent.NewLocal(), agent.NewLocal()}, Interval: 250 * time.Millisecond})
	time.AfterFunc(550*time.Millisecond, func() { c.Adjust(200) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// ≈ 0.5 s at 40/s and ≈ 1 s at 200/s
	if n := res.Total.Totals().Requests; n < 180 || n > 250 {
		t.Fatalf("%d requests, want ≈ 220 after raising the rate to 200/s", n)
	}
	if len(res.Events) != 1 || res.Events[0].Kind != controller.EventRate || res.Events[0].Value != 200 {
		t.Fatalf("events %+v, want one rate change to 200", res.Events)
	}
}

// The zero Options work: one local agent, one-second intervals, and a sink
// that fails is logged (to nowhere), not fatal.
func TestZeroOptionsAndAFailingSink(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	vus := 1
	dur := 1200 * time.Millisecond
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
		scenario.Overrides{VUs: &vus, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	failing := sink.Func(func(context.Context, metrics.Snapshot) error { calls++; return fmt.Errorf("disk full") })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := controller.New(plan, controller.Options{Sink: failing}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Timeline) != 2 || res.Timeline[0].Duration() != time.Second {
		t.Fatalf("%d intervals (the first %v) in a 1.2 s run, want 2 of the default 1 s", len(res.Timeline), res.Timeline[0].Duration())
	}
	if calls != len(res.Timeline) {
		t.Fatalf("the sink was called %d times for %d intervals", calls, len(res.Timeline))
	}
}

// failAgent fails its segment at once.
type failAgent struct{}

func (failAgent) Run(context.Context, agent.Segment, func(metrics.Snapshot)) error {
	return fmt.Errorf("no route to the target")
}
func (failAgent) Adjust(float64) {}
func (failAgent) Name() string   { return "remote-1" }

// An agent that fails makes Run fail, naming the agent; the other agent's
// data is still in the result. A run stopped through its context says so.
func TestAgentFailureAndStop(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	vus := 1
	dur := 600 * time.Millisecond
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
		scenario.Overrides{VUs: &vus, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	plan.Load.VUs = 2
	res, err := controller.New(plan, controller.Options{Agents: []agent.Agent{agent.NewLocal(), failAgent{}}, Interval: 200 * time.Millisecond}).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "remote-1") || !strings.Contains(err.Error(), "no route") {
		t.Fatalf("Run error %v, want the failing agent's", err)
	}
	if res == nil || res.Total.Totals().Requests == 0 || res.Stopped != nil {
		t.Fatalf("result %+v: want the local agent's requests, not stopped", res)
	}
	stop, cancelStop := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancelStop)
	plan.Load.VUs, plan.Load.Duration = 1, 10*time.Second
	res, err = controller.New(plan, controller.Options{Interval: 200 * time.Millisecond}).Run(stop)
	if err != nil || res.Stopped == nil {
		t.Fatalf("a cancelled run: error %v, Stopped %v; want no error and a reason", err, res.Stopped)
	}
	if d := res.Ended.Sub(res.Started); d > 3*time.Second {
		t.Fatalf("a run cancelled at 300 ms lasted %v", d)
	}
}
