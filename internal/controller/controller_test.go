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
// order, one merged snapshot per interval.
func TestTwoAgentsMergeExactly(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate := 300.0
	dur := 2 * time.Second
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
		scenario.Overrides{Rate: &rate, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	var consumed int64
	s := sink.Func(func(_ context.Context, snap metrics.Snapshot) error {
		seqs = append(seqs, snap.Seq)
		consumed += snap.Totals().Requests
		return nil
	})
	c := controller.New(plan, controller.Options{Agents: []agent.Agent{agent.NewLocal(), agent.NewLocal()}, Sink: s, Interval: 500 * time.Millisecond})
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Total.Totals()
	if tot.Requests != 600 || tb.Count() != 600 || consumed != 600 {
		t.Fatalf("merged %d, sink saw %d, target received %d; want 600", tot.Requests, consumed, tb.Count())
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("timeline out of order: %v", seqs)
		}
	}
	if len(res.Timeline) < 4 {
		t.Fatalf("%d intervals of 500ms in a 2s run", len(res.Timeline))
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
