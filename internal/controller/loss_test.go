package controller_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
)

func openPlan(rate float64, d time.Duration) scenario.Plan {
	return scenario.Plan{Load: scenario.Load{Model: engine.Open, Rate: rate, Duration: d}}
}

func closedPlan(vus int, d time.Duration) scenario.Plan {
	return scenario.Plan{Load: scenario.Load{Model: engine.Closed, VUs: vus, Duration: d}}
}

// run runs c on a goroutine and returns a function that waits for it.
func run(t *testing.T, c *controller.Controller) func() (*controller.Result, error) {
	t.Helper()
	type out struct {
		res *controller.Result
		err error
	}
	ch := make(chan out, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	go func() {
		res, err := c.Run(ctx)
		ch <- out{res, err}
	}()
	t.Cleanup(cancel)
	return func() (*controller.Result, error) {
		o := <-ch
		return o.res, o.err
	}
}

func eventsOf(res *controller.Result, kind string) []controller.Event {
	var out []controller.Event
	for _, e := range res.Events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// Three agents on an open-model rate of 90/s, one lost: the two left each
// run their stripe (1 of 3) at 135/s, which is 45/s each and 90/s together;
// the lost one is given nothing, then or later. A later Adjust to 120/s
// gives the two 180 each, so that the run offers 120/s.
func TestRebalanceOpenModelKeepsTheRate(t *testing.T) {
	hold, loseB := make(chan struct{}), make(chan struct{})
	a := &fake{name: "a", n: 2, reqs: 10, hold: hold}
	b := &fake{name: "b", n: 2, reqs: 10, lose: true, loseAt: loseB}
	c3 := &fake{name: "c", n: 2, reqs: 10, hold: hold}
	c := controller.New(openPlan(90, time.Minute), controller.Options{Agents: []agent.Agent{a, b, c3}, Interval: 10 * time.Millisecond})
	wait := run(t, c)
	before := time.Now()
	close(loseB)
	if !waitFor(func() bool { return len(a.values()) == 1 && len(c3.values()) == 1 }) {
		t.Fatalf("after the loss the survivors got %v and %v, want one new rate each", a.values(), c3.values())
	}
	if a.values()[0] != 135 || c3.values()[0] != 135 {
		t.Fatalf("survivors given %v and %v, want 135 (90·3/2: stripe 1 of 3 at 135/s is 45/s each)", a.values(), c3.values())
	}
	c.Adjust(120)
	if got := a.values(); len(got) != 2 || got[1] != 180 {
		t.Fatalf("after Adjust(120) agent a got %v, want 180 (120·3/2)", got)
	}
	close(hold)
	res, err := wait()
	if err != nil {
		t.Fatalf("a run that lost one of three agents failed: %v", err)
	}
	if got := b.values(); len(got) != 0 {
		t.Fatalf("the lost agent was given %v", got)
	}
	lost := eventsOf(res, controller.EventAgentLost)
	if len(lost) != 1 || lost[0].Detail != "b" || lost[0].Value != 2 || lost[0].At.Before(before) {
		t.Fatalf("agent_lost events %+v, want one naming b, with 2 agents left, after the loss", lost)
	}
	if len(res.Agents) != 3 {
		t.Fatalf("%d agent results, want 3", len(res.Agents))
	}
	for i, r := range res.Agents {
		if r.Name != []string{"a", "b", "c"}[i] || r.Lost != (i == 1) {
			t.Fatalf("agent %d: %+v", i, r)
		}
	}
	if at := res.Agents[1].LostAt; at.Before(before) || at.After(time.Now()) || !at.Equal(lost[0].At) {
		t.Fatalf("lost at %v, the event at %v, the loss came after %v", at, lost[0].At, before)
	}
	// What b sent before it was lost is kept.
	if got := res.Total.Totals().Requests; got != 60 {
		t.Fatalf("%d requests in the total, want 60 (3 agents × 2 intervals × 10)", got)
	}
}

// The closed model re-splits the VUs over the agents left, as integers
// that add up: 10 VUs on 3 agents are 4+3+3; with the first lost, 5+5.
// Adjusts then split over the two.
func TestRebalanceClosedModelResplitsTheVUs(t *testing.T) {
	hold := make(chan struct{})
	a := &fake{name: "a", n: 1, lose: true}
	b := &fake{name: "b", n: 1, hold: hold}
	c3 := &fake{name: "c", n: 1, hold: hold}
	c := controller.New(closedPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{a, b, c3}, Interval: 10 * time.Millisecond})
	wait := run(t, c)
	if !waitFor(func() bool { return len(b.values()) == 1 && len(c3.values()) == 1 }) {
		t.Fatalf("survivors got %v and %v", b.values(), c3.values())
	}
	if b.values()[0] != 5 || c3.values()[0] != 5 {
		t.Fatalf("survivors given %v and %v VUs, want 5 and 5 (the 10 re-split over 2)", b.values(), c3.values())
	}
	c.Adjust(7.9) // a VU count: 7
	if b.values()[1] != 4 || c3.values()[1] != 3 {
		t.Fatalf("Adjust(7) gave %v and %v, want 4 and 3", b.values(), c3.values())
	}
	close(hold)
	if _, err := wait(); err != nil {
		t.Fatal(err)
	}
	if len(a.values()) != 0 {
		t.Fatalf("the lost agent was given %v", a.values())
	}
}

// Under "continue" the agents left keep their own shares: nothing is sent
// at the loss, and a later Adjust gives each its share of the new load as
// Split would (the lost share stays lost).
func TestContinueKeepsTheShares(t *testing.T) {
	for _, tc := range []struct {
		plan scenario.Plan
		v    float64
		want [2]float64 // agents b and c after Adjust(v)
	}{
		{closedPlan(10, time.Minute), 20, [2]float64{7, 6}}, // share 1 and 2 of 3 of 20
		{openPlan(90, time.Minute), 120, [2]float64{120, 120}},
	} {
		t.Run(tc.plan.Load.Model.String(), func(t *testing.T) {
			hold := make(chan struct{})
			a := &fake{name: "a", n: 1, lose: true}
			b := &fake{name: "b", n: 1, hold: hold}
			c3 := &fake{name: "c", n: 1, hold: hold}
			c := controller.New(tc.plan, controller.Options{Agents: []agent.Agent{a, b, c3}, Interval: 10 * time.Millisecond, OnAgentLoss: controller.LossContinue})
			wait := run(t, c)
			if !waitFor(func() bool { return len(c.Events()) == 1 }) {
				t.Fatal("no agent_lost event")
			}
			time.Sleep(20 * time.Millisecond)
			if len(b.values())+len(c3.values()) != 0 {
				t.Fatalf("continue sent new loads at the loss: %v %v", b.values(), c3.values())
			}
			c.Adjust(tc.v)
			if got := [2][]float64{b.values(), c3.values()}; !reflect.DeepEqual(got, [2][]float64{{tc.want[0]}, {tc.want[1]}}) {
				t.Fatalf("Adjust(%v) gave %v, want %v", tc.v, got, tc.want)
			}
			close(hold)
			if _, err := wait(); err != nil {
				t.Fatal(err)
			}
			if len(a.values()) != 0 {
				t.Fatalf("the lost agent was given %v", a.values())
			}
		})
	}
}

// "abort" stops the run at the first loss, with a cause that names the
// lost agent; the others see that cause and the run returns it.
func TestAbortStopsTheRunNamingTheAgent(t *testing.T) {
	a := &fake{name: "edge-2", n: 1, lose: true}
	b := &fake{name: "edge-1", n: 1, hold: make(chan struct{})} // held until the stop
	c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{b, a}, Interval: 10 * time.Millisecond, OnAgentLoss: controller.LossAbort})
	res, err := run(t, c)()
	if err == nil || !errors.Is(err, agent.ErrLost) || !strings.Contains(err.Error(), "edge-2") {
		t.Fatalf("aborted run returned %v, want an error naming edge-2 that wraps agent.ErrLost", err)
	}
	if res == nil || res.Stopped == nil || !strings.Contains(res.Stopped.Error(), "edge-2") || !strings.Contains(res.Stopped.Error(), "abort") {
		t.Fatalf("Stopped = %v, want the abort naming edge-2", res.Stopped)
	}
	if cause := b.stopCause(); cause == nil || !strings.Contains(cause.Error(), "edge-2") {
		t.Fatalf("the agent left saw cause %v", cause)
	}
	if stops := eventsOf(res, controller.EventStop); len(stops) != 1 || !strings.Contains(stops[0].Detail, "edge-2") {
		t.Fatalf("stop events %+v", stops)
	}
	if got := res.Total.Totals().Requests; got != 0 || len(res.Timeline) != 1 {
		t.Fatalf("timeline %d intervals: what the agents sent is kept", len(res.Timeline))
	}
}

// A run whose agents are all lost ends with an error that says so, and
// keeps what they sent.
func TestAllAgentsLostFailsWithItsData(t *testing.T) {
	for _, policy := range []controller.LossPolicy{controller.LossRebalance, controller.LossContinue, controller.LossAbort} {
		t.Run(string(policy), func(t *testing.T) {
			a := &fake{name: "a", n: 3, reqs: 5, lose: true}
			b := &fake{name: "b", n: 2, reqs: 5, lose: true}
			c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{a, b}, Interval: 10 * time.Millisecond, OnAgentLoss: policy})
			res, err := run(t, c)()
			if !errors.Is(err, controller.ErrAllAgentsLost) || !strings.Contains(err.Error(), "2 of 2") {
				t.Fatalf("err = %v, want ErrAllAgentsLost (2 of 2)", err)
			}
			if got := res.Total.Totals().Requests; got != 25 || len(res.Timeline) != 3 {
				t.Fatalf("kept %d requests in %d intervals, want 25 in 3", got, len(res.Timeline))
			}
			if len(eventsOf(res, controller.EventAgentLost)) != 2 || !res.Agents[0].Lost || !res.Agents[1].Lost {
				t.Fatalf("events %+v agents %+v", res.Events, res.Agents)
			}
		})
	}
}

// A lost agent no longer holds back the merge: while it is silent (not yet
// declared lost) the others' later intervals wait for it; once it is lost
// they are merged at once, while the others still run.
func TestLostAgentNoLongerHoldsTheMerge(t *testing.T) {
	loseA, stepB, hold := make(chan struct{}), make(chan struct{}), make(chan struct{})
	a := &fake{name: "a", n: 2, reqs: 1, lose: true, loseAt: loseA}
	b := &fake{name: "b", n: 5, reqs: 1, step: stepB, hold: hold}
	c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{a, b}, Interval: 10 * time.Millisecond})
	wait := run(t, c)
	for range 4 {
		stepB <- struct{}{} // b sends 0..3
	}
	live := func() int { l, _ := c.Live(); return len(l) }
	if !waitFor(func() bool { return live() == 2 }) {
		t.Fatalf("%d intervals merged, want 0 and 1", live())
	}
	time.Sleep(30 * time.Millisecond)
	if n := live(); n != 2 {
		t.Fatalf("%d intervals merged while a (running, silent) had sent only 2", n)
	}
	close(loseA)
	if !waitFor(func() bool { return live() == 4 }) {
		t.Fatalf("%d intervals merged after a was lost, want b's 4", live())
	}
	stepB <- struct{}{}
	if !waitFor(func() bool { return live() == 5 }) {
		t.Fatalf("%d intervals merged, want 5", live())
	}
	close(hold)
	res, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range res.Timeline {
		want := int64(2)
		if i >= 2 {
			want = 1
		}
		if s.Seq != i || s.Totals().Requests != want {
			t.Fatalf("interval %d: seq %d, %d requests, want %d", i, s.Seq, s.Totals().Requests, want)
		}
	}
}

// After a rebalance, a ramping open-model profile is followed: the agents
// left are given the ramp's rate times 3/2 as it climbs, every followStep
// (100 ms), until a live Adjust holds the load.
func TestRebalanceFollowsARamp(t *testing.T) {
	p := scenario.Plan{Load: scenario.Load{Model: engine.Open, Rate: 0,
		Stages: []engine.Stage{{Duration: 2 * time.Second, Target: 200}, {Duration: time.Minute, Target: 200}}}}
	hold := make(chan struct{})
	a := &fake{name: "a", n: 1, lose: true}
	b := &fake{name: "b", n: 1, hold: hold}
	c3 := &fake{name: "c", n: 1, hold: hold}
	c := controller.New(p, controller.Options{Agents: []agent.Agent{a, b, c3}, Interval: 10 * time.Millisecond})
	wait := run(t, c)
	if !waitFor(func() bool { return len(b.values()) >= 6 }) {
		t.Fatalf("b got %v while the ramp climbs", b.values())
	}
	_, start := c.Live()
	b.mu.Lock()
	adj := append([]adjustment(nil), b.adjusts...)
	b.mu.Unlock()
	for i, x := range adj {
		// Sent at offset t for the step [t, t+100ms): the ramp (100/s²) at
		// its middle, times 3/2; the ticker may run a little late.
		ramp := x.v / 1.5
		at := x.at.Sub(start)
		lo, hi := 100*(at.Seconds()-0.1), 100*(at.Seconds()+0.1)
		if ramp < lo || ramp > hi {
			t.Fatalf("adjustment %d at %v: %v (ramp %v), want ramp in [%v, %v]", i, at, x.v, ramp, lo, hi)
		}
		if i > 0 && x.v <= adj[i-1].v {
			t.Fatalf("the rate did not climb: %v", b.values())
		}
	}
	c.Adjust(40)
	n := len(b.values())
	time.Sleep(250 * time.Millisecond)
	if got := b.values(); len(got) != n || got[n-1] != 60 {
		t.Fatalf("after Adjust(40): %v, want it held at 60 (40·3/2)", got)
	}
	close(hold)
	if _, err := wait(); err != nil {
		t.Fatal(err)
	}
}

// Each agent's truth comes from its own snapshots, before merging: counts,
// dropped iterations, start lag, CPU against its own cores, and whether
// it was limited and why.
func TestAgentResultsAreEachAgentsOwn(t *testing.T) {
	lagged := func(seq int) metrics.Snapshot {
		lag := metrics.NewSketch()
		for range 100 {
			lag.Add(50 * time.Millisecond)
		}
		ep := metrics.Endpoint{Name: "GET /", Method: "GET", Requests: 3, Latency: metrics.NewSketch()}
		ep.Classes[metrics.OK] = 2
		ep.Classes[metrics.Timeout] = 1
		return metrics.Snapshot{Seq: seq, Endpoints: []metrics.Endpoint{ep}, Dropped: 2, Due: 7, Iterations: 3, Lag: lag, GeneratorCPU: 1.9}
	}
	easy := &fake{name: "easy", n: 3, reqs: 10, fails: 1, cores: 2}
	hard := &fake{name: "hard", n: 3, snap: lagged, cores: 2}
	c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{easy, hard}, Interval: 10 * time.Millisecond})
	res, err := run(t, c)()
	if err != nil {
		t.Fatal(err)
	}
	e, h := res.Agents[0], res.Agents[1]
	if e.Requests != 30 || e.Errors != 3 || e.Iterations != 30 || e.Dropped != 0 || e.Intervals != 3 || e.Limited || len(e.Reasons) != 0 || e.StartLagP99 != 0 || e.Cores != 2 || e.Local {
		t.Fatalf("easy agent: %+v", e)
	}
	if h.Requests != 9 || h.Errors != 3 || h.Dropped != 6 || h.Due != 21 || h.CPUMax != 1.9 || !h.Limited {
		t.Fatalf("hard agent: %+v", h)
	}
	if want := []string{controller.ReasonStartLag, controller.ReasonDropped, controller.ReasonCPU}; !reflect.DeepEqual(h.Reasons, want) {
		t.Fatalf("hard agent's reasons %v, want %v", h.Reasons, want)
	}
	if math.Abs(float64(h.StartLagP99-50*time.Millisecond)) > float64(time.Millisecond) {
		t.Fatalf("hard agent's lag p99 %v, want 50ms", h.StartLagP99)
	}
	if got := res.Total.Totals().Requests; got != e.Requests+h.Requests {
		t.Fatalf("merged %d requests, agents' own add to %d", got, e.Requests+h.Requests)
	}
}
