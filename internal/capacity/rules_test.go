package capacity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
)

// oneStep searches a single rate (Start = Max) of a scripted target and
// returns its first step.
func oneStep(t *testing.T, rate float64, o capacity.Options, f func(rate float64, k int) iv) capacity.Step {
	t.Helper()
	s := newScript(newClock(), f)
	o.Start, o.Max = rate, rate
	res, err := s.run(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) == 0 {
		t.Fatal("no step")
	}
	return res.Steps[0]
}

// A step stops early only when it is clearly failing: a latency objective
// over three times its bound in two intervals, or growing past its bound
// over three; errors past max(5× the objective, objective + 10 points) in
// two; nothing completed in two. A step that merely fails is judged on
// its whole window.
func TestStepsStopEarlyOnlyWhenClearlyFailing(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		slo   []string
		f     func(rate float64, k int) iv
		early string // "" : the step runs its window
		ok    bool
	}{
		{"p99 at 3.5× its bound", []string{"p99<100ms"}, func(float64, int) iv { return iv{Latency: 350 * ms} }, "p99 far past its bound: 350 ms, then 350 ms", false},
		{"p99 at 2.5× its bound, flat", []string{"p99<100ms"}, func(float64, int) iv { return iv{Latency: 250 * ms} }, "", false},
		{"p99 at 2.9× a bound of 10ms, flat", []string{"p99<10ms"}, func(float64, int) iv { return iv{Latency: 29 * ms} }, "", false},
		{"p99 growing past its bound", []string{"p99<100ms"}, func(_ float64, k int) iv { return iv{Latency: time.Duration(110+20*k) * ms} }, "p99 growing past its bound", false},
		{"p99 growing below its bound", []string{"p99<100ms"}, func(_ float64, k int) iv { return iv{Latency: time.Duration(20+5*k) * ms} }, "", false},
		{"p99 growing from below its bound", []string{"p99<300ms"}, func(_ float64, k int) iv { return iv{Latency: time.Duration(150+40*k) * ms} }, "", false},
		{"p99 flat past its bound then rising", []string{"p99<100ms"}, func(_ float64, k int) iv {
			return iv{Latency: time.Duration(150+20*max(0, k-1)) * ms}
		}, "p99 growing past its bound", false},
		{"errors at 15% of an objective of 1%", []string{"errors<1%"}, func(float64, int) iv { return iv{Errs: 15} }, "errors far past the objective: 15.0%, then 15.0%", false},
		{"errors at 8% of an objective of 1%", []string{"errors<1%"}, func(float64, int) iv { return iv{Errs: 8} }, "", false},
		{"errors at 20% of an objective of 5%", []string{"errors<5%"}, func(float64, int) iv { return iv{Errs: 20} }, "", false},
		{"errors at 30% of an objective of 5%", []string{"errors<5%"}, func(float64, int) iv { return iv{Errs: 30} }, "errors far past the objective", false},
		{"error_rate at 12% of an objective of 2%", []string{"error_rate<=2%"}, func(float64, int) iv { return iv{Errs: 12} }, "", false},
		{"error_rate at 13% of an objective of 2%", []string{"error_rate<=2%"}, func(float64, int) iv { return iv{Errs: 13} }, "errors far past the objective", false},
		{"nothing completes", []string{"p99<100ms"}, func(float64, int) iv { return iv{N: -1, Due: 100} }, "no request completed in two intervals", false},
		{"a latency objective with > is never early", []string{"p50>1ms"}, func(float64, int) iv { return iv{Latency: 500 * ms} }, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := oneStep(t, 100, capacity.Options{SLO: slo(t, tc.slo...), Window: 4 * time.Second}, tc.f)
			switch {
			case tc.early == "" && st.Early:
				t.Errorf("stopped early (%s); want the whole window judged", st.Reason)
			case tc.early != "" && (!st.Early || !strings.Contains(st.Reason, tc.early)):
				t.Errorf("early %v, reason %q; want stopped early: %q", st.Early, st.Reason, tc.early)
			}
			if st.OK != tc.ok {
				t.Errorf("ok %v (%v); want %v", st.OK, st.Failed, tc.ok)
			}
			if !st.Early && st.WindowS < 4 {
				t.Errorf("a step judged on %vs; want its 4s window", st.WindowS)
			}
		})
	}
}

// Fewer iterations finished than fell due beyond max(5 %, 3 iterations) is
// a queue growing: the step fails whatever its percentiles say. Due counts
// iterations, so finished iterations are what it is held against, however
// many requests each sends: a flow of three requests whose iterations fall
// behind fails although its requests outnumber the due iterations, and
// one that keeps up passes although they do.
func TestStepsFailWhenCompletionsFallBehindTheDue(t *testing.T) {
	for _, tc := range []struct {
		rate      float64
		completed int // iterations finished per interval
		perIter   int // requests each sent
		pending   int // requests per interval of iterations not finished
		ok        bool
	}{
		{100, 99, 1, 0, true},  // 4 of 400 behind: ≤ 5 % (20)
		{100, 95, 1, 0, true},  // 20 of 400: exactly 5 %
		{100, 94, 1, 0, false}, // 24 of 400
		{10, 10, 1, 0, true},
		{10, 9, 1, 0, false}, // 4 of 40 behind: > 3 (5 % is 2)
		{20, 20, 1, 0, true},
		{100, 100, 3, 0, true},   // 1200 requests, 400 of 400 iterations
		{100, 95, 3, 0, true},    // 20 of 400 iterations behind
		{100, 94, 3, 30, false},  // 1248 requests ≥ 400 due, yet 24 of 400 iterations behind
		{100, 80, 3, 100, false}, // 1360 requests, 80 of 400 iterations behind
		{10, 9, 3, 5, false},     // 128 requests, 4 of 40 iterations behind
	} {
		st := oneStep(t, tc.rate, capacity.Options{SLO: slo(t, "p99<1s"), Window: 4 * time.Second}, func(float64, int) iv {
			return iv{N: tc.completed, PerIter: tc.perIter, Pending: tc.pending}
		})
		if st.OK != tc.ok {
			t.Errorf("rate %v, %d iterations of %d requests finished per second: ok %v (%s); want %v", tc.rate, tc.completed, tc.perIter, st.OK, st.Reason, tc.ok)
		}
		if !tc.ok && !strings.Contains(st.Reason, "iterations pile up") {
			t.Errorf("rate %v: reason %q", tc.rate, st.Reason)
		}
		if want := float64(tc.completed); st.AchievedIPS != want {
			t.Errorf("rate %v: achieved %v iterations/s; want %v", tc.rate, st.AchievedIPS, want)
		}
		if want := float64(tc.completed*tc.perIter + tc.pending); st.AchievedRPS != want {
			t.Errorf("rate %v: achieved %v requests/s; want %v", tc.rate, st.AchievedRPS, want)
		}
	}
}

// A window whose median climbs (second half above 1.25× the first plus
// 2 ms, and above 1.5× the baseline's plus 1 ms) is held once more and
// fails if it still climbs; a flat or barely rising one passes.
func TestStepsFailWhileLatencyStillRises(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		f    func(rate float64, k int) iv
		ok   bool
	}{
		{"flat", func(float64, int) iv { return iv{Latency: 20 * ms} }, true},
		{"climbing all the time", func(_ float64, k int) iv { return iv{Latency: time.Duration(20*(k+1)) * ms} }, false},
		{"rising by 1.2× + 1 ms", func(_ float64, k int) iv {
			if k >= 3 {
				return iv{Latency: 25 * ms}
			}
			return iv{Latency: 20 * ms}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Windows of 4 intervals after a settle of 1: the intervals at
			// k = 1..4 are the window; its halves are k 1–2 and 3–4.
			st := oneStep(t, 100, capacity.Options{SLO: slo(t, "p99<1s")}, tc.f)
			if st.OK != tc.ok {
				t.Errorf("ok %v (%s); want %v", st.OK, st.Reason, tc.ok)
			}
			if !tc.ok && !strings.Contains(st.Reason, "latency still rising after 8s") {
				t.Errorf("reason %q; want the window held twice (8s)", st.Reason)
			}
		})
	}
}

// The generator limited a step that failed when its starts were late by
// more than max(10 ms, 10 % of the tightest latency bound) and that
// lateness is at least half the p99's rise; when iterations were dropped
// with VUs free; when its CPU was ≥ 90 % of its cores in a third of the
// intervals; when the VU cap was reached below what the rate needs.
func TestGeneratorReasonsAndTheirLimits(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		slo   []string
		o     capacity.Options
		f     func(rate float64, k int) iv
		why   string // "" : not generator-limited
		notOK bool
	}{
		{"late by 40ms of a 300ms p99", []string{"p99<250ms"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 70 * ms, Lag: 40 * ms, N: 90} }, "iterations started late (start-lag p99 40", true},
		{"late by 20ms, under 10% of the bound", []string{"p99<250ms"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 300 * ms, Lag: 20 * ms} }, "", true},
		{"late by 12ms with a tight bound", []string{"p99<20ms"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 22 * ms, Lag: 12 * ms} }, "iterations started late", true},
		{"late by 9ms with a tight bound", []string{"p99<15ms"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 25 * ms, Lag: 9 * ms} }, "", true},
		{"the tightest bound sets the limit", []string{"p99<1s", "p95<100ms"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 120 * ms, Lag: 70 * ms} }, "iterations started late", true},
		{"an error objective is no latency bound", []string{"p99<500ms", "errors<1%"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 600 * ms, Lag: 30 * ms} }, "", true},
		{"late, but a small part of the rise", []string{"p99<250ms"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 400 * ms, Lag: 60 * ms} }, "", true},
		{"late, half the rise", []string{"p99<250ms"}, capacity.Options{}, func(float64, int) iv { return iv{Latency: 300 * ms, Lag: 150 * ms} }, "iterations started late", true},
		{"late starts with errors only", []string{"errors<1%"}, capacity.Options{}, func(float64, int) iv { return iv{Errs: 5, Lag: 80 * ms} }, "", true},
		{"dropped with VUs free", []string{"p99<250ms"}, capacity.Options{}, func(float64, int) iv { return iv{Dropped: 10, N: 90} }, "40 of 400 due iterations dropped with VUs free", true},
		{"dropped with the pool full", []string{"p99<250ms"}, capacity.Options{MaxVUs: 50}, func(float64, int) iv { return iv{Dropped: 10, N: 90, MaxVUs: 50} }, "", true},
		{"CPU busy in half the intervals", []string{"p99<250ms"}, capacity.Options{Cores: 2}, func(_ float64, k int) iv {
			return iv{Latency: 300 * ms, CPU: []float64{1.9, 1.0}[k%2]}
		}, "generator CPU ≥ 90% of its 2 cores in 2 of 4 intervals", true},
		{"CPU at 90% in a quarter", []string{"p99<250ms"}, capacity.Options{Cores: 2}, func(_ float64, k int) iv {
			return iv{Latency: 300 * ms, CPU: []float64{1.8, 1.0, 1.0, 1.0}[k%4]}
		}, "", true},
		{"CPU at 89% throughout", []string{"p99<250ms"}, capacity.Options{Cores: 2}, func(float64, int) iv { return iv{Latency: 300 * ms, CPU: 1.78} }, "", true},
		{"a pass is a pass whatever the CPU", []string{"p99<250ms"}, capacity.Options{Cores: 2}, func(float64, int) iv { return iv{CPU: 2} }, "", false},
		{"VU cap below what the rate needs", []string{"p99<250ms"}, capacity.Options{MaxVUs: 5}, func(float64, int) iv { return iv{Latency: 300 * ms, MaxVUs: 5, N: 17} }, "the VU cap (5) was reached, below the 45", true},
		{"VU cap above what the rate needs", []string{"p99<250ms"}, capacity.Options{MaxVUs: 60}, func(float64, int) iv { return iv{Latency: 300 * ms, MaxVUs: 60} }, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.SLO, o.Window = slo(t, tc.slo...), 4*time.Second
			st := oneStep(t, 100, o, tc.f)
			got := strings.Join(st.GeneratorReasons, "; ")
			switch {
			case tc.why == "" && st.GeneratorLimited:
				t.Errorf("generator-limited (%s); want the target's own failure", got)
			case tc.why != "" && (!st.GeneratorLimited || !strings.Contains(got, tc.why)):
				t.Errorf("limited %v (%s); want %q", st.GeneratorLimited, got, tc.why)
			}
			if st.OK == tc.notOK {
				t.Errorf("ok %v; want %v", st.OK, !tc.notOK)
			}
		})
	}
}
