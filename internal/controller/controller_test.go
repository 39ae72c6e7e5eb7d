package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func TestSplitAddsUpToThePlan(t *testing.T) {
	p := scenario.Plan{Load: scenario.Load{Model: engine.Closed, VUs: 10, Iterations: 1001,
		Stages: []engine.Stage{{Duration: time.Second, Target: 7}, {Duration: time.Second, Target: 0}}}}
	for n := 1; n <= 4; n++ {
		segs := controller.Split(p, n)
		var vus, iters int
		stage0 := 0.0
		for _, s := range segs {
			vus += s.Load.VUs
			iters += int(s.Load.Iterations)
			stage0 += s.Load.Stages[0].Target
			if s.Load.Stages[0].Target != float64(int(s.Load.Stages[0].Target)) {
				t.Fatalf("n=%d: fractional VU target %v", n, s.Load.Stages[0].Target)
			}
		}
		if vus != 10 || iters != 1001 || stage0 != 7 {
			t.Fatalf("n=%d: shares add to vus %d iterations %d stage %v", n, vus, iters, stage0)
		}
	}
	// The open model's shares keep the whole rate and stripe its schedule.
	open := scenario.Plan{Load: scenario.Load{Model: engine.Open, Rate: 100, MaxVUs: 9, Iterations: 10}}
	var maxVUs, iters int
	for i, s := range controller.Split(open, 3) {
		maxVUs += s.Load.MaxVUs
		iters += int(s.Load.Iterations)
		if s.Load.Rate != 100 || s.Load.Stripe != (engine.Stripe{Index: i, Count: 3}) {
			t.Fatalf("open share %d: rate %v stripe %+v, want 100 and stripe %d of 3", i, s.Load.Rate, s.Load.Stripe, i)
		}
	}
	if maxVUs != 9 || iters != 10 {
		t.Fatalf("open shares add to max VUs %d iterations %d", maxVUs, iters)
	}
	if one := controller.Split(open, 1)[0]; one.Load.Stripe != (engine.Stripe{}) {
		t.Fatalf("a single share is striped: %+v", one.Load.Stripe)
	}
}

// Two in-process agents split one plan: the merged totals equal what the
// target received and what the plan asked for, and the timeline arrives in
// order, one merged snapshot per interval: 2 s in 500 ms intervals is 4
// intervals and perhaps a partial fifth, numbered 0, 1, 2, … without a gap,
// each starting where the previous ended and lasting one interval (the
// last at most one), each holding both agents' shares (300/s × 500 ms =
// 150 requests), and the sink sees exactly the timeline.
func TestTwoAgentsMergeExactly(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate := 300.0
	dur := 2 * time.Second
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
		scenario.Overrides{Rate: &rate, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	var sunk []metrics.Snapshot
	s := sink.Func(func(_ context.Context, snap metrics.Snapshot) error {
		sunk = append(sunk, snap)
		return nil
	})
	const interval = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := controller.New(plan, controller.Options{Agents: []agent.Agent{agent.NewLocal(), agent.NewLocal()}, Sink: s, Interval: interval})
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Total.Totals()
	if tot.Requests != 600 || tb.Count() != 600 {
		t.Fatalf("merged %d, target received %d; want 600", tot.Requests, tb.Count())
	}
	tl := res.Timeline
	if len(tl) < 4 || len(tl) > 5 {
		t.Fatalf("%d intervals of 500 ms in a 2 s run, want 4 or 5", len(tl))
	}
	if len(sunk) != len(tl) {
		t.Fatalf("the sink saw %d snapshots, the timeline has %d", len(sunk), len(tl))
	}
	const slack = 10 * time.Millisecond
	var sum int64
	for i, snap := range tl {
		n := snap.Totals().Requests
		if snap.Seq != i || sunk[i].Seq != i || sunk[i].Totals().Requests != n || !sunk[i].Start.Equal(snap.Start) {
			t.Fatalf("interval %d: Seq %d with %d requests from %v; the sink's: Seq %d with %d from %v",
				i, snap.Seq, n, snap.Start, sunk[i].Seq, sunk[i].Totals().Requests, sunk[i].Start)
		}
		prev := res.Started // the first interval starts with the run
		if i > 0 {
			prev = tl[i-1].End
		}
		if !snap.Start.Equal(prev) {
			t.Fatalf("interval %d starts at %v, want %v (the run's start or the previous interval's end)", i, snap.Start, prev)
		}
		d := snap.Duration()
		if d > interval+slack || d <= 0 || (i < len(tl)-1 && d < interval-slack) {
			t.Fatalf("interval %d lasted %v, want %v (the last at most that)", i, d, interval)
		}
		if i < 3 && (n < 110 || n > 190) {
			t.Fatalf("interval %d holds %d requests, want ≈ 150 (both agents' shares)", i, n)
		}
		sum += n
	}
	if sum != 600 {
		t.Fatalf("the intervals add up to %d requests, want 600", sum)
	}
	if !res.Ended.Equal(tl[len(tl)-1].End) {
		t.Fatalf("the run ended at %v, its last interval at %v", res.Ended, tl[len(tl)-1].End)
	}
}

func TestAdjustDuringARun(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	vus := 1
	dur := 1500 * time.Millisecond
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/delay?ms=10", Method: "GET"},
		scenario.Overrides{VUs: &vus, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	c := controller.New(plan, controller.Options{Interval: 250 * time.Millisecond})
	time.AfterFunc(500*time.Millisecond, func() { c.Adjust(6) })
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.MaxVUs != 6 {
		t.Fatalf("peak VUs %d, want 6 after Adjust", res.Total.MaxVUs)
	}
}
