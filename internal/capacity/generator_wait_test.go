package capacity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// waitReason is how a step says Surge's threads waited for a CPU.
const waitReason = "Surge's threads waited for a CPU ("

// withWait is a session whose snapshots carry a generator CPU wait
// (metrics.Snapshot.GeneratorWait) that wait gives from the interval's
// offered rate (its due iterations per second) and number (Seq).
type withWait struct {
	capacity.Session
	wait func(rate float64, seq int) float64
}

func (w withWait) Live() ([]metrics.Snapshot, time.Time) {
	snaps, start := w.Session.Live()
	for i := range snaps {
		s := &snaps[i]
		if d := s.Duration().Seconds(); d > 0 {
			s.GeneratorWait = w.wait(float64(s.Due)/d, s.Seq)
		}
	}
	return snaps, start
}

func waitSearch(t *testing.T, o capacity.Options, f func(rate float64, k int) iv, wait func(rate float64, k int) float64) *capacity.Result {
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
	var sess capacity.Session = s
	if wait != nil {
		sess = withWait{s, wait}
	}
	res, err := capacity.Search(context.Background(), sess, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func constWait(c float64) func(float64, int) float64 { return func(float64, int) float64 { return c } }

// One step at 100/s: the wait rule's limits.
func TestGeneratorWaitReasonAndItsLimits(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		slo   []string
		o     capacity.Options
		f     func(rate float64, k int) iv
		wait  func(rate float64, k int) float64
		why   string // "": not generator-limited
		notOK bool
	}{
		{"latency failed, the threads waited", []string{"p99<100ms"}, capacity.Options{Cores: 1},
			func(float64, int) iv { return iv{Latency: 150 * ms, CPU: 0.4} }, constWait(0.6),
			waitReason + "0.60 cores of wait: other processes held its cores)", true},
		{"at the threshold", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 150 * ms} }, constWait(0.25), waitReason + "0.25 cores", true},
		{"below the threshold", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 150 * ms} }, constWait(0.24), "", true},
		{"latency held (errors failed)", []string{"errors<1%"}, capacity.Options{},
			func(float64, int) iv { return iv{Errs: 5} }, constWait(0.9), "", true},
		{"a pass is a pass", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 20 * ms} }, constWait(0.9), "", false},
		{"with the VU pool full", []string{"p99<100ms"}, capacity.Options{MaxVUs: 50},
			func(float64, int) iv { return iv{Latency: 150 * ms, MaxVUs: 50} }, constWait(0.5), waitReason + "0.50 cores", true},
		// The window's mean, not its peak: one interval of 0.9 in a
		// 4-interval window of otherwise 0.05 is (0.9+3×0.05)/4 = 0.26;
		// of 0.8, 0.2375.
		{"one interval's burst, mean over", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 150 * ms} }, burst(0.9), waitReason + "0.26 cores", true},
		{"one interval's burst, mean under", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 150 * ms} }, burst(0.8), "", true},
		{"not measured (not Linux, an older agent)", []string{"p99<100ms"}, capacity.Options{},
			func(float64, int) iv { return iv{Latency: 150 * ms} }, nil, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.SLO, o.Window, o.Start, o.Max = slo(t, tc.slo...), 4*time.Second, 100, 100
			res := waitSearch(t, o, tc.f, tc.wait)
			checkFirstStep(t, res, tc.why, tc.notOK)
		})
	}
}

// burst is a wait of peak in one interval of every four (so in one of a
// 4 s window's) and 0.05 cores in the others.
func burst(peak float64) func(float64, int) float64 {
	return func(_ float64, seq int) float64 {
		if seq%4 == 3 {
			return peak
		}
		return 0.05
	}
}

// heldOff is the live case: a target that answers in 5 ms at any rate,
// behind a generator pinned to one core that another process competes
// for. Its threads get a part of the core, enough to read 300 responses a
// second: past that rate it reads them at 300/s, later and later interval
// by interval, as a target of that capacity would answer them (capped),
// and its threads wait for the core (0.5 cores of wait) while its CPU
// reads ~40 % and its runtime's scheduling latency stays an idle one's
// (not measured here). Iterations start on time and none is dropped; the
// late reads hold their VUs, under the cap of 2000.
func heldOff() (func(rate float64, k int) iv, func(rate float64, seq int) float64) {
	target := capped(300, 5*time.Millisecond)
	f := func(rate float64, k int) iv {
		v := target(rate, k)
		v.CPU = 0.4 * min(1, rate/300)
		v.MaxVUs = min(2000, int(rate*v.Latency.Seconds())+1)
		return v
	}
	wait := func(rate float64, _ int) float64 {
		if rate <= 300 {
			return 0.05 * rate / 300
		}
		return 0.5
	}
	return f, wait
}

// The search: with the wait measured, the generator; without it (an
// older agent's snapshots) the same run reads as the target's
// concurrency, the false finding seen live.
func TestSearchNamesTheGeneratorWhenItsThreadsWait(t *testing.T) {
	f, wait := heldOff()
	o := capacity.Options{SLO: slo(t, "p99<100ms"), Start: 100, Max: 2000, Cores: 1, MaxVUs: 2000}
	for _, tc := range []struct {
		name string
		wait func(float64, int) float64
		kind string
	}{
		{"without the wait", nil, capacity.KindConcurrency},
		{"with the wait", wait, capacity.KindGenerator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := waitSearch(t, o, f, tc.wait)
			defer func() {
				if t.Failed() {
					for _, s := range res.Steps {
						t.Log(capacity.StepLine(s))
					}
				}
			}()
			if res.Bottleneck.Kind != tc.kind {
				t.Fatalf("bottleneck %s (%s); want %s", res.Bottleneck.Kind, res.Bottleneck.Evidence, tc.kind)
			}
			if tc.kind != capacity.KindGenerator {
				return
			}
			if !res.LowerBound || !strings.Contains(res.Bottleneck.Evidence, waitReason) {
				t.Errorf("lower bound %v, evidence %s; want a lower bound that says the threads waited", res.LowerBound, res.Bottleneck.Evidence)
			}
			if res.MaxRate > 310 || res.MaxRate < 100 {
				t.Errorf("max rate %v; want at most the 300/s the generator reads", res.MaxRate)
			}
		})
	}
}
