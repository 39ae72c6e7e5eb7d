package controller_test

import (
	"slices"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
)

// One agent of two whose goroutines waited for its CPU (5 % of its
// scheduling latencies at 20 ms: p99 20 ms) beside one that did not
// (100× as many latencies, all 50 µs): merged, the slow agent's delay is
// diluted below the limit (p99 50 µs), so only its own row can say it.
// Its row is limited with sched_latency, the other's is not, and the run
// summary names the agent and the reason; the window rows a server builds
// from the stored parts judge it alike (server tests).
func TestOneAgentsSchedulingDelayIsItsOwn(t *testing.T) {
	schedOf := func(n20ms, n50us uint64) *metrics.Sketch {
		s := metrics.NewSketch()
		s.AddN(20*time.Millisecond, n20ms)
		s.AddN(50*time.Microsecond, n50us)
		return s
	}
	with := func(f *fake, sched func() *metrics.Sketch) *fake {
		f.snap = func(seq int) metrics.Snapshot {
			start := time.Unix(1_700_000_000, 0)
			s := (&fake{reqs: f.reqs}).make(agent.Segment{Start: start, Interval: 10 * time.Millisecond}, seq)
			s.GeneratorSched = sched()
			return s
		}
		return f
	}
	slow := with(&fake{name: "slow", n: 3, reqs: 10}, func() *metrics.Sketch { return schedOf(50, 950) })
	fast := with(&fake{name: "fast", n: 3, reqs: 10}, func() *metrics.Sketch { return schedOf(0, 100_000) })
	c := controller.New(closedPlan(2, time.Minute), controller.Options{Agents: []agent.Agent{slow, fast}, Interval: 10 * time.Millisecond})
	res, err := run(t, c)()
	if err != nil {
		t.Fatal(err)
	}
	if p99 := res.Total.GeneratorSched.Quantile(0.99); p99 > controller.StartLagLimit {
		t.Fatalf("merged scheduling latency p99 %v: the test needs it diluted under the limit", p99)
	}
	if len(res.Agents) != 2 {
		t.Fatalf("agents %+v", res.Agents)
	}
	if s := res.Agents[0]; s.Name != "slow" || !s.Limited || !slices.Equal(s.Reasons, []string{controller.ReasonSchedLatency}) {
		t.Errorf("slow agent: limited %v, reasons %v", s.Limited, s.Reasons)
	}
	if f := res.Agents[1]; f.Limited || len(f.Reasons) != 0 {
		t.Errorf("fast agent: limited %v, reasons %v", f.Limited, f.Reasons)
	}
	sum := report.Build("x", res, 2)
	if !sum.Generator.Limited || !slices.Contains(sum.Generator.Reasons, controller.ReasonSchedLatency) {
		t.Errorf("run summary: limited %v, reasons %v, warnings %v", sum.Generator.Limited, sum.Generator.Reasons, sum.Generator.Warnings)
	}
}
