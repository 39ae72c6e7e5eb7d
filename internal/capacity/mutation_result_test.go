package capacity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// The result's analysis and output at their limits: the step line, the
// curve, the plateau's wording, the knee, Little's law and the
// bottleneck's rules.

func intp(v int) *int           { return &v }
func floatp(v float64) *float64 { return &v }

// A step's line shows requests/s beside iterations/s only above 1.05
// requests an iteration (and never with no iteration finished), and
// failed probes only when some failed.
func TestStepLineAtItsLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      capacity.Step
		has    []string
		hasNot []string
	}{
		{"1.05 requests an iteration", capacity.Step{Phase: "grow", Rate: 100, AchievedIPS: 100, AchievedRPS: 105, OK: true}, nil, []string{"req/s"}},
		{"1.06 requests an iteration", capacity.Step{Phase: "grow", Rate: 100, AchievedIPS: 100, AchievedRPS: 106, OK: true}, []string{"(  106.0 req/s)"}, nil},
		{"requests but no iteration finished", capacity.Step{Phase: "grow", Rate: 100, AchievedRPS: 5}, []string{"FAIL"}, []string{"req/s"}},
		{"probes all answered", capacity.Step{Phase: "grow", Rate: 100, AchievedIPS: 100, AchievedRPS: 100, OK: true,
			ProbeN: intp(8), ProbeErrors: intp(0), ProbeP50: floatp(2), ProbeP99: floatp(3)}, []string{"probe p50 2.00 ms p99 3.00 ms"}, []string{"failed"}},
		{"one probe of eight failed", capacity.Step{Phase: "grow", Rate: 100, AchievedIPS: 100, AchievedRPS: 100, OK: true,
			ProbeN: intp(8), ProbeErrors: intp(1), ProbeP50: floatp(2), ProbeP99: floatp(3)}, []string{"probe p50 2.00 ms p99 3.00 ms (1 of 8 failed)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := capacity.StepLine(tc.s)
			for _, w := range tc.has {
				if !strings.Contains(line, w) {
					t.Errorf("line lacks %q: %s", w, line)
				}
			}
			for _, w := range tc.hasNot {
				if strings.Contains(line, w) {
					t.Errorf("line has %q: %s", w, line)
				}
			}
		})
	}
}

// curveRows is the curve's rows of WriteText's output for r, or nil.
func curveRows(t *testing.T, r *capacity.Result) []string {
	t.Helper()
	var b strings.Builder
	if err := capacity.WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	_, curve, ok := strings.Cut(b.String(), "the curve, by offered rate")
	if !ok {
		return nil
	}
	curve, _, _ = strings.Cut(curve, "\n\n")
	return strings.Split(strings.TrimSpace(curve), "\n")[1:]
}

// bars is the number of p99 bar cells in a curve row.
func bars(row string) int { return strings.Count(row, "▬") }

// The curve is drawn from two rates up, its p99 bars on a log scale from
// the lowest p99 (no bar) to the highest (24 cells); a step with no p99
// (nothing answered) has no bar and leaves the scale alone, and rates
// whose p99s are all the same have no bars.
func TestTheCurveAtItsLimits(t *testing.T) {
	step := func(rate, p99 float64) capacity.Step {
		return capacity.Step{Phase: "grow", Rate: rate, AchievedIPS: rate, AchievedRPS: rate, P50: p99, P99: p99, OK: p99 > 0}
	}
	for _, tc := range []struct {
		name  string
		steps []capacity.Step
		bars  []int // by rate, lowest first; nil: no curve
	}{
		{"one rate", []capacity.Step{step(100, 10)}, nil},
		{"two rates", []capacity.Step{step(100, 10), step(200, 100)}, []int{0, 24}},
		{"a step with nothing answered", []capacity.Step{step(100, 10), step(200, 100), step(400, 0)}, []int{0, 24, 0}},
		{"the same p99 at every rate", []capacity.Step{step(100, 10), step(200, 10)}, []int{0, 0}},
		{"a p99 halfway on the log scale", []capacity.Step{step(100, 10), step(200, 100), step(300, 1000)}, []int{0, 12, 24}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := curveRows(t, &capacity.Result{SLO: []string{"p99<250ms"}, Steps: tc.steps, MaxRate: 100})
			if len(rows) != len(tc.bars) {
				t.Fatalf("%d curve rows; want %d: %q", len(rows), len(tc.bars), rows)
			}
			for i, row := range rows {
				if bars(row) != tc.bars[i] {
					t.Errorf("row %d: %d p99 cells; want %d: %s", i, bars(row), tc.bars[i], row)
				}
			}
		})
	}
}

// The plateau is given in requests too only above 1.05 requests an
// iteration.
func TestThePlateauLineAtItsLimit(t *testing.T) {
	for _, tc := range []struct {
		per  float64
		want string
	}{
		{1.05, "throughput plateau 200.0/s\n"},
		{1.06, "throughput plateau 200.0/s (212.0 requests/s, 1.06 per iteration)\n"},
	} {
		var b strings.Builder
		r := &capacity.Result{SLO: []string{"p99<250ms"}, MaxRate: 190, KneeRate: 150, PlateauIPS: 200, PlateauRPS: 200 * tc.per, RequestsPerIteration: tc.per, Confirmed: true}
		if err := capacity.WriteText(&b, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%v requests an iteration: %s; want %q", tc.per, b.String(), tc.want)
		}
	}
}

// attempts counts how many times the search set each rate, for targets
// that behave differently on a step's first hold and its second.
func attempts(s *script, rate float64) int {
	n := 0
	for _, r := range s.adjusts {
		if r == rate {
			n++
		}
	}
	return n
}

// A step the generator limited at the rate the search then confirmed
// (held again, it passed) says nothing of the target: the bottleneck is
// the target's pool at 300/s, not the generator, and no lower bound.
func TestALimitedStepAtTheMaxRateSaysNothing(t *testing.T) {
	var s *script
	s = newScript(newClock(), func(rate float64, k int) iv {
		if rate == 300 && attempts(s, 300) == 2 { // the confirmation's first hold
			return iv{N: 200, CPU: 1}
		}
		return capped(300, 10*time.Millisecond)(rate, k)
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 75, Max: 1000, Cores: 1, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	limited := 0
	for _, st := range res.Steps {
		if st.GeneratorLimited && st.Rate == res.MaxRate {
			limited++
		}
	}
	if res.MaxRate != 300 || !res.Confirmed || limited != 1 {
		t.Fatalf("max rate %v, confirmed %v, %d limited steps at it: %v; want 300 confirmed after one limited hold", res.MaxRate, res.Confirmed, limited, steps(res))
	}
	if res.Bottleneck.Kind != capacity.KindConcurrency || res.LowerBound {
		t.Errorf("bottleneck %s (%s), lower bound %v; want concurrency, not a lower bound", res.Bottleneck.Kind, res.Bottleneck.Evidence, res.LowerBound)
	}
}

// A search stopped before any step has found no rate, not a lower bound
// of one.
func TestACancelledSearchIsNoLowerBound(t *testing.T) {
	clock := newClock()
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped by the test")
	cancel(stop)
	res, err := capacity.Search(ctx, newFake(model{Workers: 4, Service: 20 * time.Millisecond}, clock, time.Second), capacity.Options{SLO: slo(t, "p99<250ms"), Clock: clock})
	if !errors.Is(err, stop) {
		t.Fatalf("err %v", err)
	}
	if res.LowerBound || res.Confirmed || res.KneeRate != 0 {
		t.Errorf("lower bound %v, confirmed %v, knee %v; want none of them", res.LowerBound, res.Confirmed, res.KneeRate)
	}
}

// The knee is the highest rate up to which every step's median stayed
// within 1.5× the baseline's plus 2 ms: after 20 ms at 100/s, 32 ms at
// 200/s is within (the knee is 200/s), 33 ms is not (100/s).
func TestTheKneeAtItsLimit(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		at200 time.Duration
		knee  float64
	}{
		{32 * ms, 200},
		{33 * ms, 100},
	} {
		s := newScript(newClock(), func(rate float64, _ int) iv {
			switch {
			case rate <= 100:
				return iv{Latency: 20 * ms}
			case rate <= 200:
				return iv{Latency: tc.at200}
			}
			return iv{Latency: 400 * ms}
		})
		res, err := s.run(capacity.Options{SLO: slo(t, "p99<100ms"), Start: 100, Max: 1000, Window: 4 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.MaxRate != 200 || res.KneeRate != tc.knee {
			t.Errorf("%v at 200/s: max rate %v, knee %v; want 200 and %v", tc.at200, res.MaxRate, res.KneeRate, tc.knee)
		}
	}
}

// withPending adds to the intervals of f one request in twenty of
// iterations still running (carried over from interval to interval, so
// that every window has its share): 1.05 requests an iteration, which is
// still a flow of one request.
func withPending(f func(float64, int) iv) func(float64, int) iv {
	finished, pending := 0, 0
	return func(rate float64, k int) iv {
		v := f(rate, k)
		n := v.N
		if n == 0 {
			n = int(rate + 0.5)
		}
		finished += n
		v.Pending = finished/20 - pending
		pending += v.Pending
		return v
	}
}

// At 1.05 requests an iteration a search is of requests, not of flows:
// Little's law on requests, the plateau and achieved rates in plain
// figures; a server busy with hidden work says so of "each answer".
func TestAtExactly105RequestsAnIterationTheSearchIsOfRequests(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		f    func(float64, int) iv
		says []string
	}{
		{"a pool", withPending(capped(200, 20*ms)), []string{"Little's law on requests", "throughput flat at 200.0/s while"}},
		{"hidden work", withPending(capped(50, 2*ms)), []string{"yet each answer took only 2.00 ms"}},
		{"hidden work, one request an iteration", capped(50, 2*ms), []string{"yet each answer took only 2.00 ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := newScript(newClock(), tc.f).run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 25, Max: 1000, Window: 4 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			want := 1.0
			if tc.name != "hidden work, one request an iteration" {
				want = 1.05
			}
			if res.RequestsPerIteration != want {
				t.Fatalf("requests per iteration %v; want %v", res.RequestsPerIteration, want)
			}
			for _, w := range tc.says {
				if !strings.Contains(res.Bottleneck.Evidence, w) {
					t.Errorf("evidence lacks %q: %s", w, res.Bottleneck.Evidence)
				}
			}
			var b strings.Builder
			if err := capacity.WriteText(&b, res); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "per iteration)") || strings.Contains(res.Bottleneck.Evidence, "iteration") {
				t.Errorf("a search of requests told in iterations:\n%s", b.String())
			}
		})
	}
}

// Throughput stopped following the offered rate when a failing step
// offered more than 5 % above the plateau: a target that finishes 200/s
// and fails at exactly 210/s (5 % above) has not saturated, as far as the
// search can tell.
func TestSaturationNeedsMoreThan5PercentAboveThePlateau(t *testing.T) {
	for _, tc := range []struct {
		max  float64
		kind string
	}{
		{210, capacity.KindUnknown},
		{212, capacity.KindConcurrency},
	} {
		res, err := newScript(newClock(), capped(200, 10*time.Millisecond)).run(capacity.Options{SLO: slo(t, "p99<100ms"), Start: 200, Max: tc.max,
			Growth: tc.max / 200, Precision: 0.1, Window: 4 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.PlateauIPS != 200 || res.MaxRate != 200 {
			t.Fatalf("max %v: plateau %v, max rate %v; want 200 and 200 (%s)", tc.max, res.PlateauIPS, res.MaxRate, steps(res))
		}
		if res.Bottleneck.Kind != tc.kind {
			t.Errorf("failing at %v/s: bottleneck %s (%s); want %s", tc.max, res.Bottleneck.Kind, res.Bottleneck.Evidence, tc.kind)
		}
	}
}

// Little's service time is the lowest mean latency of the steps at up to
// half the knee's rate and the baseline: a target answering in 30 ms up
// to 50/s and 20 ms from 100/s, saturating at 150/s (knee 150/s), has a
// service time of 30 ms — the 20 ms past half the knee are not counted.
func TestLittlesServiceTimeLeavesOutTheStepsPastHalfTheKnee(t *testing.T) {
	ms := time.Millisecond
	s := newScript(newClock(), func(rate float64, k int) iv {
		switch {
		case rate <= 50:
			return iv{Latency: 30 * ms}
		case rate <= 150:
			return iv{Latency: 20 * ms}
		}
		return capped(150, 20*ms)(rate, k)
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 25, Max: 1000, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bottleneck
	if res.KneeRate != 150 || b.Kind != capacity.KindConcurrency || b.ServiceMS == nil || *b.ServiceMS != 30 {
		t.Errorf("knee %v, bottleneck %s, service %v ms (%s); want 150, concurrency, 30 ms", res.KneeRate, b.Kind, b.ServiceMS, b.Evidence)
	}
}

// An error objective counts by either name ("errors" or "error_rate");
// errors within it at the bound are not the bottleneck.
func TestErrorObjectivesByEitherName(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		slo  []string
		errs int // per 100 requests past 150/s
		kind string
	}{
		{"error_rate failed", []string{"p99<250ms", "error_rate<1%"}, 10, capacity.KindErrors},
		{"errors within their objective, latency failed", []string{"p99<250ms", "errors<5%"}, 1, capacity.KindConcurrency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(newClock(), func(rate float64, k int) iv {
				if rate <= 150 {
					return iv{Latency: 20 * ms}
				}
				v := capped(150, 20*ms)(rate, k)
				if tc.errs > 1 { // errors at once, latency bounded
					v = iv{Latency: 20 * ms}
				}
				v.Errs = tc.errs * int(rate) / 100
				return v
			})
			res, err := s.run(capacity.Options{SLO: slo(t, tc.slo...), Start: 75, Max: 1000, Window: 4 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if res.Bottleneck.Kind != tc.kind {
				t.Errorf("bottleneck %s (%s); want %s", res.Bottleneck.Kind, res.Bottleneck.Evidence, tc.kind)
			}
		})
	}
}

// Errors that fail the bounding step are the bottleneck even when the
// deepest overload failed on latency too: 5 % of requests fail from
// 150/s, and at 400/s latency fails as well.
func TestErrorsAtTheBoundWhateverTheDeepestStep(t *testing.T) {
	ms := time.Millisecond
	s := newScript(newClock(), func(rate float64, _ int) iv {
		switch {
		case rate <= 150:
			return iv{Latency: 20 * ms}
		case rate <= 300:
			return iv{Latency: 20 * ms, Errs: int(rate) / 20}
		}
		return iv{Latency: 600 * ms, Errs: int(rate) / 20}
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<500ms", "errors<1%"), Start: 100, Max: 1000, Growth: 4, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bottleneck
	if b.Kind != capacity.KindErrors || !strings.Contains(b.Evidence, "the most as status_5xx") || !strings.Contains(b.Evidence, `mostly "status_5xx: 500 scripted"`) {
		t.Errorf("bottleneck %s (%s); want errors, the class and message named", b.Kind, b.Evidence)
	}
}

// noMessages is a script whose errors come without messages.
type noMessages struct{ *script }

func (n noMessages) Live() ([]metrics.Snapshot, time.Time) {
	snaps, start := n.script.Live()
	for i := range snaps {
		snaps[i].Messages = nil
	}
	return snaps, start
}

// Errors without messages are named by their class alone.
func TestErrorsWithoutMessages(t *testing.T) {
	clock := newClock()
	s := noMessages{newScript(clock, func(rate float64, _ int) iv {
		if rate > 150 {
			return iv{Errs: int(rate) / 10}
		}
		return iv{}
	})}
	res, err := capacity.Search(context.Background(), s, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Start: 100, Max: 400, Clock: clock,
		Warmup: time.Second, Settle: time.Second, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bottleneck
	if b.Kind != capacity.KindErrors || !strings.Contains(b.Evidence, "the most as status_5xx") || strings.Contains(b.Evidence, "mostly") {
		t.Errorf("bottleneck %s (%s); want errors by class, no message", b.Kind, b.Evidence)
	}
}

// Fewer than 0.75 requests in service with throughput flat is work the
// responses do not show; 0.75 exactly (50/s × 15 ms) is a pool of ~1.
func TestAPoolOfThreeQuartersIsStillAPool(t *testing.T) {
	res, err := newScript(newClock(), capped(50, 15*time.Millisecond)).run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 12.5, Max: 1000, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bottleneck
	if b.Concurrency == nil || *b.Concurrency != 0.75 {
		t.Fatalf("concurrency %v (%s); want 50/s × 15 ms = 0.75", b.Concurrency, b.Evidence)
	}
	if b.Kind != capacity.KindConcurrency || !strings.Contains(b.Evidence, "a pool of ~1") {
		t.Errorf("bottleneck %s (%s); want concurrency, a pool of ~1", b.Kind, b.Evidence)
	}
}
