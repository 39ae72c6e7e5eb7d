package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// flowPart is one agent's interval of an order flow: n iterations of
// base+1ms … base+n ms, the first failed, one cut short; and its poll
// step, whose first poll timed out.
func flowPart(seq, n int, base time.Duration) metrics.Snapshot {
	order, poll := metrics.NewSketch(), metrics.NewSketch()
	for i := 1; i <= n; i++ {
		order.Add(base + time.Duration(i)*time.Millisecond)
		if i > 1 {
			poll.Add(base + time.Duration(i)*time.Millisecond - time.Millisecond)
		}
	}
	ep := metrics.Endpoint{Name: "place", Method: "POST", Requests: int64(n), Latency: metrics.NewSketch()}
	ep.Classes[metrics.OK] = int64(n)
	return metrics.Snapshot{Seq: seq, Endpoints: []metrics.Endpoint{ep}, Iterations: int64(n),
		Flows: []metrics.Flow{{Name: "order", Iterations: int64(n), Errors: 1, Requests: 5 * int64(n), Cut: 1, Duration: order}},
		Polls: []metrics.Flow{{Name: "wait for order", Iterations: int64(n), Errors: 1, Requests: 4 * int64(n), Duration: poll}}}
}

// Flows from two agents merge exactly: each interval of the timeline and
// the run's total hold both agents' counts, and their durations' sketches
// are the sketch of every agent's durations together, bin for bin.
func TestTwoAgentsFlowsMergeExactly(t *testing.T) {
	const intervals = 3
	a := &fake{name: "a", n: intervals}
	a.snap = func(seq int) metrics.Snapshot { return flowPart(seq, 10, 100*time.Millisecond) }
	b := &fake{name: "b", n: intervals}
	b.snap = func(seq int) metrics.Snapshot { return flowPart(seq, 30, time.Second) }
	c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{a, b}, Interval: 10 * time.Millisecond})
	res, err := run(t, c)()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Timeline) != intervals {
		t.Fatalf("%d intervals, want %d", len(res.Timeline), intervals)
	}
	want := metrics.NewSketch() // every duration of both agents in the run
	for range intervals {
		want.MergeFrom(flowPart(0, 10, 100*time.Millisecond).Flows[0].Duration)
		want.MergeFrom(flowPart(0, 30, time.Second).Flows[0].Duration)
	}
	for i, s := range res.Timeline {
		if len(s.Flows) != 1 || len(s.Polls) != 1 {
			t.Fatalf("interval %d: flows %+v, polls %+v", i, s.Flows, s.Polls)
		}
		if f := s.Flows[0]; f.Iterations != 40 || f.Errors != 2 || f.Requests != 200 || f.Cut != 2 || f.Duration.Count() != 40 {
			t.Errorf("interval %d: order %+v, want both agents' 40 iterations, 2 errors, 200 requests, 2 cut", i, f)
		}
	}
	f, p := res.Total.Flows[0], res.Total.Polls[0]
	if f.Name != "order" || f.Iterations != 120 || f.Errors != 6 || f.Requests != 600 || f.Cut != 6 {
		t.Errorf("total order %+v", f)
	}
	if p.Name != "wait for order" || p.Iterations != 120 || p.Errors != 6 || p.Requests != 480 || p.Duration.Count() != 114 {
		t.Errorf("total poll %+v, want 120 polls, 6 timeouts, 480 attempts, 114 durations", p)
	}
	if f.Duration.Count() != want.Count() || f.Duration.Min() != want.Min() || f.Duration.Max() != want.Max() || f.Duration.Mean() != want.Mean() {
		t.Errorf("order durations: count %d min %v max %v mean %v; want %d %v %v %v", f.Duration.Count(), f.Duration.Min(),
			f.Duration.Max(), f.Duration.Mean(), want.Count(), want.Min(), want.Max(), want.Mean())
	}
	for _, q := range []float64{0.01, 0.25, 0.5, 0.9, 0.99, 1} {
		if g, w := f.Duration.Quantile(q), want.Quantile(q); g != w {
			t.Errorf("order q%v = %v, want %v (one sketch of every duration)", q, g, w)
		}
	}
	// A quarter of the iterations are a's, at about 100 ms; the p50 is b's.
	if p50 := f.Duration.Quantile(0.5); p50 < time.Second || p50 > 1031*time.Millisecond {
		t.Errorf("order p50 %v, want b's, 1.001–1.03 s", p50)
	}
}

// Two real in-process agents, each its share of an open-model order flow
// against the testbed's queue: the merged flows count every iteration
// once, every poll attempt is one request the target received, and no
// flow is faster than the consumer's job.
func TestTwoLocalAgentsRecordFlows(t *testing.T) {
	const job = 5 * time.Millisecond
	tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: job}})
	file := filepath.Join(t.TempDir(), "orders.yaml")
	if err := os.WriteFile(file, []byte(`name: orders
target: `+tb.URL()+`
load: {model: open, rate: 40, duration: 1s}
flows:
  - name: order
    steps:
      - name: place
        post: /orders
        extract: {order: "json:id"}
        check: {status: 202}
      - name: wait for order
        get: /orders/{{order}}
        until: {json: {status: done}}
        every: 5ms
        within: 5s
`), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenario.LoadFile(file, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := controller.New(plan, controller.Options{Agents: []agent.Agent{agent.NewLocal(), agent.NewLocal()}, Interval: 250 * time.Millisecond})
	res, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Total.Totals()
	if len(res.Total.Flows) != 1 || len(res.Total.Polls) != 1 {
		t.Fatalf("flows %+v, polls %+v", res.Total.Flows, res.Total.Polls)
	}
	f, p := res.Total.Flows[0], res.Total.Polls[0]
	if f.Iterations != 40 || f.Errors != 0 || f.Cut != 0 || f.Duration.Count() != 40 {
		t.Errorf("order %+v: want 40 iterations of both agents, none failed or cut", f)
	}
	if f.Requests != tot.Requests || tot.Requests != tb.Count() {
		t.Errorf("the flow sent %d requests, the endpoints counted %d, the target received %d", f.Requests, tot.Requests, tb.Count())
	}
	if got := tb.CountPath("/orders"); p.Requests+40 != tot.Requests || got != 40 {
		t.Errorf("poll attempts %d + 40 orders ≠ %d requests; POST /orders received %d", p.Requests, tot.Requests, got)
	}
	if p.Iterations != 40 || p.Errors != 0 || p.Duration.Count() != 40 {
		t.Errorf("poll %+v: want 40 polls whose condition held", p)
	}
	if min := f.Duration.Min(); min < job {
		t.Errorf("the fastest order took %v, less than the consumer's job of %v", min, job)
	}
}
