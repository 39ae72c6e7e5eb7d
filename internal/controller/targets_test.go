package controller

import (
	"math"
	"testing"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

// The arithmetic of a rebalance, state by state. NaN: given nothing.
func TestTargets(t *testing.T) {
	const (
		R = agentRunning
		D = agentDone
		L = agentLost
	)
	nan := math.NaN()
	for _, tc := range []struct {
		name   string
		model  engine.Model
		v      float64
		status []agentStatus
		policy LossPolicy
		want   []float64
	}{
		{"open, no loss: the whole rate each", engine.Open, 90, []agentStatus{R, R, R}, LossRebalance, []float64{90, 90, 90}},
		{"open, one of 3 lost", engine.Open, 90, []agentStatus{R, L, R}, LossRebalance, []float64{135, nan, 135}},
		{"open, two of 4 lost", engine.Open, 100, []agentStatus{L, R, L, R}, LossRebalance, []float64{nan, 200, nan, 200}},
		{"open, continue", engine.Open, 90, []agentStatus{R, L, R}, LossContinue, []float64{90, nan, 90}},
		{"open, abort", engine.Open, 90, []agentStatus{R, L, R}, LossAbort, []float64{90, nan, 90}},
		// One ended its segment, one was lost: the lost share (1 of 3) goes
		// to the one left, which then runs 2 of 3 stripes' worth.
		{"open, one done, one lost", engine.Open, 90, []agentStatus{D, L, R}, LossRebalance, []float64{nan, nan, 180}},
		{"open, all lost", engine.Open, 90, []agentStatus{L, L}, LossRebalance, []float64{nan, nan}},
		{"closed, no loss: Split's shares", engine.Closed, 10, []agentStatus{R, R, R}, LossRebalance, []float64{4, 3, 3}},
		{"closed, first lost: 10 over 2", engine.Closed, 10, []agentStatus{L, R, R}, LossRebalance, []float64{nan, 5, 5}},
		{"closed, 11 over 2 of 3", engine.Closed, 11, []agentStatus{R, L, R}, LossRebalance, []float64{6, nan, 5}},
		{"closed, continue", engine.Closed, 10, []agentStatus{L, R, R}, LossContinue, []float64{nan, 3, 3}},
		// Agent 0 ended (its 4 VUs ran their course), agent 1 lost: its 3
		// go to agent 2, which runs 6.
		{"closed, one done, one lost", engine.Closed, 10, []agentStatus{D, L, R}, LossRebalance, []float64{nan, nan, 6}},
		{"closed, fractional count", engine.Closed, 7.9, []agentStatus{R, R}, LossRebalance, []float64{4, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := targets(tc.model, tc.v, tc.status, tc.policy)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] && !(math.IsNaN(got[i]) && math.IsNaN(tc.want[i])) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			// What the running agents offer adds up to the plan's load less
			// the shares of the agents that ended (and, unless rebalancing,
			// of the lost ones).
			offered, ended := 0.0, 0.0
			n := len(tc.status)
			for i, s := range tc.status {
				if tc.model == engine.Open {
					if s == R {
						offered += got[i] / float64(n)
					}
					if s == D || (s == L && tc.policy != LossRebalance) {
						ended += tc.v / float64(n)
					}
					continue
				}
				if s == R {
					offered += got[i]
				}
				if s == D || (s == L && tc.policy != LossRebalance) {
					ended += float64(share(int(tc.v), i, n))
				}
			}
			if whole := math.Trunc(tc.v); tc.model == engine.Open {
				whole = tc.v
				if math.Abs(offered-(whole-ended)) > 1e-9 && !allLost(tc.status) {
					t.Fatalf("offered %v, want %v − %v", offered, whole, ended)
				}
			} else if offered != whole-ended && !allLost(tc.status) {
				t.Fatalf("offered %v VUs, want %v − %v", offered, whole, ended)
			}
		})
	}
}

func allLost(s []agentStatus) bool {
	for _, x := range s {
		if x != agentLost {
			return false
		}
	}
	return true
}

func TestVaries(t *testing.T) {
	for _, tc := range []struct {
		p    engine.Profile
		want bool
	}{
		{engine.Constant(5, 0), false},
		{engine.Constant(5, 10), false},
		{engine.Profile{Start: 5, Stages: []engine.Stage{{Duration: 1, Target: 5}, {Duration: 1, Target: 6}}}, true},
		{engine.Profile{Start: 0, Stages: []engine.Stage{{Duration: 1, Target: 5}}}, true},
	} {
		if got := varies(tc.p); got != tc.want {
			t.Errorf("varies(%+v) = %v", tc.p, got)
		}
	}
}

// The load followed after a rebalance: the open model's rate at the
// middle of the next step, the closed model's VUs rounded at the moment;
// a live Adjust's value once one was made.
func TestLoadFollowsTheProfile(t *testing.T) {
	ramp := []engine.Stage{{Duration: 10e9, Target: 100}}
	open := &Controller{plan: scenario.Plan{Load: scenario.Load{Model: engine.Open, Stages: ramp}}}
	if got, want := open.load(2e9), 100*(2e9+float64(followStep)/2)/10e9; math.Abs(got-want) > 1e-9 {
		t.Fatalf("open: %v", got)
	}
	closed := &Controller{plan: scenario.Plan{Load: scenario.Load{Model: engine.Closed, Stages: ramp}}}
	if got := closed.load(2.06e9); got != 21 {
		t.Fatalf("closed: %v, want 20.6 rounded", got)
	}
	closed.fixed, closed.value = true, 7
	if got := closed.load(2e9); got != 7 {
		t.Fatalf("after Adjust: %v", got)
	}
}
