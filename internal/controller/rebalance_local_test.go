package controller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// vanishing is a real in-process agent that is lost after a while: its
// segment is cut off and what it would have sent after that never
// arrives, as when a remote agent's host dies.
type vanishing struct {
	*agent.Local
	after time.Duration
}

func (v *vanishing) Name() string { return "vanishing" }

func (v *vanishing) Run(ctx context.Context, seg agent.Segment, emit func(metrics.Snapshot)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cut := seg.Start.Add(v.after)
	time.AfterFunc(time.Until(cut), cancel)
	err := v.Local.Run(ctx, seg, func(s metrics.Snapshot) {
		if !s.End.After(cut) {
			emit(s)
		}
	})
	return fmt.Errorf("silent since %v (%v): %w", cut, err, agent.ErrLost)
}

// Three real agents share 300 iterations/s; one is lost after 0.5 s. With
// rebalance the two left take its share, and the target keeps receiving
// about 300/s (and the run offers 300/s: the due count follows); with
// continue it gets about 200/s.
func TestRebalanceHoldsTheRateOnRealAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("two 2 s runs")
	}
	tb := testutil.StartTarget(t, testbed.Options{})
	for _, tc := range []struct {
		policy controller.LossPolicy
		want   float64
	}{
		{controller.LossRebalance, 300},
		{controller.LossContinue, 200},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			t.Parallel() // 600 requests/s together: light
			rate, dur := 300.0, 2*time.Second
			plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello", Method: "GET"},
				scenario.Overrides{Rate: &rate, Duration: &dur})
			if err != nil {
				t.Fatal(err)
			}
			agents := []agent.Agent{agent.NewLocal(), &vanishing{Local: agent.NewLocal(), after: 500 * time.Millisecond}, agent.NewLocal()}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := controller.New(plan, controller.Options{Agents: agents, Interval: 250 * time.Millisecond, OnAgentLoss: tc.policy}).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Agents[1].Lost || res.Agents[0].Lost || res.Agents[2].Lost {
				t.Fatalf("agents %+v: want only the second lost", res.Agents)
			}
			// From 0.75 s (the loss is seen at about 0.5 s, after the interval
			// that ends then) to 2 s: five whole intervals.
			var reqs, due int64
			n := 0
			for _, s := range res.Timeline {
				if s.Seq >= 3 && s.Seq <= 7 {
					reqs += s.Totals().Requests
					due += s.Due
					n++
				}
			}
			if n != 5 {
				t.Fatalf("%d intervals from 0.75 s to 2 s in %d", n, len(res.Timeline))
			}
			got, offered := float64(reqs)/1.25, float64(due)/1.25
			if got < tc.want*0.85 || got > tc.want*1.15 {
				t.Fatalf("%s: %.0f requests/s after the loss, want %.0f ± 15%%", tc.policy, got, tc.want)
			}
			if offered < tc.want*0.9 || offered > tc.want*1.1 {
				t.Fatalf("%s: offered %.0f iterations/s after the loss, want %.0f ± 10%%", tc.policy, offered, tc.want)
			}
			// Every iteration a survivor's schedule made due, before and after
			// its new rate, ran or was dropped.
			for _, i := range []int{0, 2} {
				if a := res.Agents[i]; a.Iterations+a.Dropped != a.Due || a.Due == 0 {
					t.Fatalf("agent %d: iterations %d + dropped %d, due %d", i, a.Iterations, a.Dropped, a.Due)
				}
			}
			t.Logf("%s: %.0f requests/s, %.0f offered after the loss; target got %d", tc.policy, got, offered, tb.Count())
		})
	}
}
