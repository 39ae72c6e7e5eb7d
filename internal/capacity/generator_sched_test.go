package capacity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// schedReason is how a step says its responses waited for Surge's CPU.
const schedReason = "responses waited for Surge's CPU (scheduling latency p99 "

// withSched is a session whose snapshots carry a generator scheduling
// latency (metrics.Snapshot.GeneratorSched) that p99 gives from the
// interval's offered rate (its due iterations per second): most of its
// goroutines' waits short, the slowest 2 % of them p99. A p99 of 0 leaves
// the interval without one, as an agent older than the measurement sends.
type withSched struct {
	capacity.Session
	p99 func(rate float64) time.Duration
}

func (w withSched) Live() ([]metrics.Snapshot, time.Time) {
	snaps, start := w.Session.Live()
	for i := range snaps {
		s := &snaps[i]
		d := s.Duration().Seconds()
		if d <= 0 {
			continue
		}
		if p99 := w.p99(float64(s.Due) / d); p99 > 0 {
			s.GeneratorSched = schedOf(p99, 4*s.Due)
		}
	}
	return snaps, start
}

// schedOf is n scheduling latencies whose p99 is p99: 98 % of them 20 µs.
func schedOf(p99 time.Duration, n int64) *metrics.Sketch {
	s := metrics.NewSketch()
	n = max(n, 100)
	tail := uint64(n / 50)
	s.AddN(20*time.Microsecond, uint64(n)-tail)
	s.AddN(p99, tail)
	return s
}

// schedSearch searches the script of f, its scheduling latency p99(rate),
// with short steps as script.run does.
func schedSearch(t *testing.T, o capacity.Options, f func(rate float64, k int) iv, p99 func(rate float64) time.Duration) *capacity.Result {
	t.Helper()
	clock := newClock()
	s := newScript(clock, f)
	o.Clock = clock
	if o.Settle == 0 {
		o.Settle = time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = time.Second
	}
	res, err := capacity.Search(context.Background(), withSched{s, p99}, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func constSched(d time.Duration) func(float64) time.Duration {
	return func(float64) time.Duration { return d }
}

// One step at 100/s: the scheduling-latency rule's limits, beside the
// other generator reasons.
func TestGeneratorSchedReasonAndItsLimits(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		slo   []string
		o     capacity.Options
		f     func(rate float64, k int) iv
		sched time.Duration // its p99; 0: not measured
		why   string        // "" : not generator-limited
		notOK bool
	}{
		{"late reads explain the p99", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 150 * ms} }, 80 * ms, schedReason + "79.5 ms of the p99's 150 ms rise)", true},
		{"with CPU just under 90 %", []string{"p99<100ms"}, capacity.Options{Cores: 1},
			func(float64, int) iv { return iv{Latency: 150 * ms, CPU: 0.88} }, 80 * ms, schedReason, true},
		{"half the rise", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 158 * ms} }, 80 * ms, "of the p99's 158 ms rise)", true},
		{"under half the rise", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 166 * ms} }, 80 * ms, "", true},
		{"a small part of the rise", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 300 * ms} }, 60 * ms, "", true},
		{"under the 10 ms floor", []string{"p99<15ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 16 * ms} }, 9 * ms, "", true},
		{"past the floor with a tight bound", []string{"p99<15ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 20 * ms} }, 11 * ms, schedReason, true},
		{"the floor is 10 % of a loose bound", []string{"p99<1s"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 1100 * ms} }, 95 * ms, "", true},
		{"with the VU pool full", []string{"p99<100ms"}, capacity.Options{MaxVUs: 50},
			func(float64, int) iv { return iv{Latency: 150 * ms, MaxVUs: 50} }, 80 * ms, schedReason, true},
		{"late starts and late reads together", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 300 * ms, Lag: 90 * ms} }, 80 * ms, schedReason + "79.5 ms, with start-lag p99 90.0 ms, of the p99's 300 ms rise)", true},
		{"late starts explain it, the late reads beside them", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 300 * ms, Lag: 160 * ms} }, 40 * ms, "iterations started late (start-lag p99 160ms > 10ms); " + schedReason + "39.7 ms, with start-lag p99 160 ms, of the p99's 300 ms rise)", true},
		{"late starts, scheduling under the floor", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 300 * ms, Lag: 160 * ms} }, 9 * ms, "iterations started late (start-lag p99 160ms > 10ms)", true},
		{"together, under half the rise", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 400 * ms, Lag: 60 * ms} }, 60 * ms, "", true},
		{"together with the pool full: its lag is the target's", []string{"p99<100ms"}, capacity.Options{MaxVUs: 50},
			func(float64, int) iv { return iv{Latency: 300 * ms, Lag: 90 * ms, MaxVUs: 50} }, 80 * ms, "", true},
		{"errors only", []string{"errors<1%"}, capacity.Options{},
			func(float64, int) iv { return iv{Errs: 5} }, 80 * ms, "", true},
		{"a pass is a pass", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 20 * ms} }, 80 * ms, "", false},
		{"not measured (an older agent)", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 150 * ms} }, 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.SLO, o.Window, o.Start, o.Max = slo(t, tc.slo...), 4*time.Second, 100, 100
			res := schedSearch(t, o, tc.f, constSched(tc.sched))
			checkFirstStep(t, res, tc.why, tc.notOK)
		})
	}
}

// lateReads is a target that answers in 5 ms at any rate, behind a
// generator whose CPU reads its answers late past 300/s: past it every
// request waits for the generator's CPU, growing with the rate, and so
// does the scheduling latency (0.6 of that wait, at p99). Iterations start
// on time, none is dropped, and the CPU stays just under 90 % of one
// core: only the scheduling latency shows the generator.
func lateReads(pool int) (func(rate float64, k int) iv, func(rate float64) time.Duration) {
	wait := func(rate float64) time.Duration {
		if rate <= 300 {
			return 0
		}
		return time.Duration((rate - 300) / 100 * float64(80*time.Millisecond))
	}
	f := func(rate float64, _ int) iv {
		v := iv{Latency: 5*time.Millisecond + wait(rate), CPU: 0.88 * min(1, rate/300)}
		if pool > 0 {
			// Little's law: requests in flight at once, at most the pool.
			v.MaxVUs = min(pool, int(rate*v.Latency.Seconds())+1)
		}
		return v
	}
	p99 := func(rate float64) time.Duration {
		if w := wait(rate); w > 0 {
			return w * 6 / 10
		}
		return 150 * time.Microsecond // an idle generator's: far below the floor
	}
	return f, p99
}

// The live case: near Surge's own CPU limit responses read late fail
// p99<100ms, with little start lag and the CPU just under 90 %. That is
// the generator's limit, never the target's capacity — also when the late
// reads hold every VU of a capped pool.
func TestSearchNamesTheGeneratorWhenItsCPUReadsLate(t *testing.T) {
	for _, tc := range []struct {
		name string
		pool int // MaxVUs; 0: no cap
	}{
		{"VUs free", 0},
		{"the VU pool full", 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, p99 := lateReads(tc.pool)
			res := schedSearch(t, capacity.Options{SLO: slo(t, "p99<100ms"), Start: 100, Max: 2000, Cores: 1, MaxVUs: tc.pool}, f, p99)
			defer func() {
				if t.Failed() {
					for _, s := range res.Steps {
						t.Log(capacity.StepLine(s))
					}
				}
			}()
			if res.Bottleneck.Kind != capacity.KindGenerator || !res.LowerBound {
				t.Fatalf("bottleneck %s, lower bound %v (%s); want generator, a lower bound", res.Bottleneck.Kind, res.LowerBound, res.Bottleneck.Evidence)
			}
			if !strings.Contains(res.Bottleneck.Evidence, schedReason) {
				t.Errorf("evidence does not say the responses waited for Surge's CPU: %s", res.Bottleneck.Evidence)
			}
			if res.MaxRate > 450 || res.MaxRate < 100 { // p99 passes 100 ms past 418/s
				t.Errorf("max rate %v; want at most the ~418/s past which the generator fails p99", res.MaxRate)
			}
		})
	}
}

// The rule's control: a target whose own queue makes the latency, behind
// a generator whose scheduling latency is some ms (a busy machine), is
// the target's — the scheduling latency explains a small part of its rise.
func TestSearchLeavesTheTargetsQueueToTheTarget(t *testing.T) {
	res := schedSearch(t, capacity.Options{SLO: slo(t, "p99<100ms"), Start: 100, Max: 2000, Cores: 1},
		capped(400, 5*time.Millisecond), constSched(12*time.Millisecond))
	if res.Bottleneck.Kind == capacity.KindGenerator || res.LowerBound {
		t.Errorf("bottleneck %s, lower bound %v (%s); want the target's", res.Bottleneck.Kind, res.LowerBound, res.Bottleneck.Evidence)
	}
	if res.MaxRate < 350 || res.MaxRate > 420 {
		t.Errorf("max rate %v; want about the target's 400/s", res.MaxRate)
	}
	for _, s := range res.Steps {
		if s.GeneratorLimited {
			t.Errorf("step at %v/s limited by %v; its latency is the target's queue", s.Rate, s.GeneratorReasons)
		}
	}
}

// checkFirstStep checks the generator verdict of res's first step: not
// generator-limited when why is "", else limited with reasons that hold
// why, as many as why has parts ("a; b" is two); and its pass or fail.
func checkFirstStep(t *testing.T, res *capacity.Result, why string, notOK bool) {
	t.Helper()
	if len(res.Steps) == 0 {
		t.Fatal("no step")
	}
	st := res.Steps[0]
	got := strings.Join(st.GeneratorReasons, "; ")
	switch {
	case why == "" && st.GeneratorLimited:
		t.Errorf("generator-limited (%s); want the target's own failure", got)
	case why != "" && (!st.GeneratorLimited || !strings.Contains(got, why)):
		t.Errorf("limited %v (%s); want %q", st.GeneratorLimited, got, why)
	}
	if n := strings.Count(why, "; ") + 1; why != "" && len(st.GeneratorReasons) != n {
		t.Errorf("reasons %q; want %d", st.GeneratorReasons, n)
	}
	if st.OK == notOK {
		t.Errorf("ok %v; want %v", st.OK, !notOK)
	}
}
