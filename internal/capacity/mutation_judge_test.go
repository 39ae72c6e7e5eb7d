package capacity_test

import (
	"bytes"
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// The rules of a step's judgement at their exact limits, on scripted
// targets whose every request in an interval takes the same time (so a
// window's percentiles are exact: a sketch's quantile is clamped to its
// minimum and maximum).

// finite says every figure of every step is a number JSON can hold.
func finite(t *testing.T, res *capacity.Result) {
	t.Helper()
	for _, s := range res.Steps {
		for name, v := range map[string]float64{"achieved_ips": s.AchievedIPS, "achieved_rps": s.AchievedRPS, "p50": s.P50, "p99": s.P99, "error_rate": s.ErrorRate} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("step at %v/s: %s is %v", s.Rate, name, v)
			}
		}
	}
	var b bytes.Buffer
	if err := capacity.WriteJSON(&b, res); err != nil {
		t.Errorf("the result does not encode: %v", err)
	}
}

// zeroLength publishes its script's intervals with no length (a session
// whose clock did not move between two snapshots).
type zeroLength struct{ *script }

func (z zeroLength) Live() ([]metrics.Snapshot, time.Time) {
	snaps, start := z.script.Live()
	for i := range snaps {
		snaps[i].End = snaps[i].Start
	}
	return snaps, start
}

// Intervals of no length have no rate: the step's achieved figures and
// the plateau stay 0, never a division by zero that JSON cannot hold.
func TestZeroLengthIntervalsGiveFiniteFigures(t *testing.T) {
	clock := newClock()
	s := zeroLength{newScript(clock, func(float64, int) iv { return iv{} })}
	res, err := capacity.Search(context.Background(), s, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 100,
		Clock: clock, Warmup: time.Second, Settle: time.Second, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) == 0 {
		t.Fatal("no step")
	}
	finite(t, res)
	for _, s := range res.Steps {
		if s.AchievedIPS != 0 || s.AchievedRPS != 0 || s.WindowS != 0 {
			t.Errorf("step at %v/s over no time: achieved %v iterations/s, %v requests/s in %vs; want 0", s.Rate, s.AchievedIPS, s.AchievedRPS, s.WindowS)
		}
	}
	if res.PlateauRPS != 0 || res.PlateauIPS != 0 {
		t.Errorf("plateau %v/%v over no time; want 0", res.PlateauIPS, res.PlateauRPS)
	}
}

// A target that answers nothing has an error rate of 0 % of no requests,
// not NaN; the step fails for that, and stops after two intervals.
func TestNothingAnsweredHasNoErrorRate(t *testing.T) {
	s := newScript(newClock(), func(float64, int) iv { return iv{N: -1, Due: 100} })
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<100ms", "errors<1%"), Start: 100, Max: 100, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Steps[0]
	if st.OK || !st.Early || st.ErrorRate != 0 || st.AchievedRPS != 0 {
		t.Errorf("step %+v; want failed early with error rate 0 and nothing achieved", st)
	}
	finite(t, res)
}

// At 0.4/s an interval has no iteration due: two intervals with nothing
// due and nothing answered are not a clear failure, but a window in which
// no request completed is no pass either.
func TestAWindowWithNothingDueAndNothingAnsweredFails(t *testing.T) {
	st := oneStep(t, 0.4, capacity.Options{SLO: slo(t, "p99<100ms"), Window: 4 * time.Second}, func(float64, int) iv { return iv{N: -1} })
	if st.OK || st.Early || st.Reason != "no request completed in the window" {
		t.Errorf("ok %v early %v reason %q; want a failure of the whole window: no request completed in the window", st.OK, st.Early, st.Reason)
	}
	if st.WindowS != 4 {
		t.Errorf("judged on %vs; want the 4s window", st.WindowS)
	}
}

// longFlows is a target whose iterations each take D end to end (one
// request of D): an interval finishes the iterations that fell due D
// earlier, at the rate offered then, so after a rate change fewer finish
// than fall due for D, with no queue growing.
type longFlows struct {
	d     time.Duration
	clock *fakeClock
	start time.Time

	mu      sync.Mutex
	adjusts []adjust
	snaps   []metrics.Snapshot
}

func (l *longFlows) Adjust(rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.adjusts = append(l.adjusts, adjust{l.clock.Now(), rate})
}

// rate is the rate offered at t (0 before the first Adjust).
func (l *longFlows) rate(t time.Time) float64 {
	r := 0.0
	for _, a := range l.adjusts {
		if !a.at.After(t) {
			r = a.rate
		}
	}
	return r
}

func (l *longFlows) Live() ([]metrics.Snapshot, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		s := l.start.Add(time.Duration(len(l.snaps)) * time.Second)
		e := s.Add(time.Second)
		if e.After(l.clock.Now()) {
			break
		}
		due := int(math.Round(l.rate(s)))
		done := int(math.Round(l.rate(s.Add(-l.d))))
		ep := metrics.Endpoint{Name: "GET /slow", Method: "GET", Latency: metrics.NewSketch()}
		fl := metrics.Flow{Name: "slow", Iterations: int64(done), Requests: int64(done), Duration: metrics.NewSketch()}
		for range done {
			ep.Latency.Add(l.d)
			fl.Duration.Add(l.d)
		}
		ep.Requests, ep.Classes[metrics.OK] = int64(done), int64(done)
		lag := metrics.NewSketch()
		lag.Add(200 * time.Microsecond)
		l.snaps = append(l.snaps, metrics.Snapshot{Seq: len(l.snaps), Start: s, End: e, Endpoints: []metrics.Endpoint{ep},
			Flows: []metrics.Flow{fl}, Iterations: int64(done), Due: int64(due), Lag: lag})
	}
	return append([]metrics.Snapshot(nil), l.snaps...), l.start
}

// Iterations of 3 s with a settle time of 1 s: after each doubling the
// window's first 2 s finish the previous rate's iterations, 20 at 20/s
// short of the due ones, which the completion check allows for (the rate
// × the baseline's iteration time past the settle time: 40). Every step
// passes up to the maximum.
func TestIterationsLongerThanTheSettleTimeAreNotAPileUp(t *testing.T) {
	clock := newClock()
	l := &longFlows{d: 3 * time.Second, clock: clock, start: clock.Now()}
	res, err := capacity.Search(context.Background(), l, capacity.Options{SLO: slo(t, "p99<5s"), Start: 10, Max: 40, Clock: clock,
		Warmup: 3 * time.Second, Settle: time.Second, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Steps {
		if !s.OK {
			t.Errorf("step at %v/s failed (%s %v); want a pass", s.Rate, s.Reason, s.Failed)
		}
	}
	if res.MaxRate != 40 || !res.Confirmed {
		t.Errorf("max rate %v, confirmed %v; want 40, confirmed", res.MaxRate, res.Confirmed)
	}
}

// A window of exactly two intervals is judged for steadiness too: a
// median that climbs from one to the next holds the step longer, and it
// fails if it still climbs.
func TestATwoIntervalWindowIsCheckedForRisingLatency(t *testing.T) {
	st := oneStep(t, 100, capacity.Options{SLO: slo(t, "p99<1s"), Window: 2 * time.Second}, func(_ float64, k int) iv {
		return iv{Latency: time.Duration(20*(k+1)) * time.Millisecond}
	})
	if st.OK || !strings.Contains(st.Reason, "latency still rising after 4s") {
		t.Errorf("ok %v reason %q; want a failure for latency rising through the window held twice", st.OK, st.Reason)
	}
}

// Steady means the second half's median is not above 1.25× the first
// half's plus 2 ms: 8 ms then exactly 12 ms is steady, judged on its
// window; 8 then 12.5 ms is held longer.
func TestSteadyAtExactlyTheRisingLimit(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name   string
		second time.Duration
		steady bool
	}{
		{"12 ms after 8", 12 * ms, true},
		{"12.5 ms after 8", 12500 * time.Microsecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := oneStep(t, 100, capacity.Options{SLO: slo(t, "p99<1s"), Window: 4 * time.Second}, func(_ float64, k int) iv {
				if k >= 3 { // the window is k 1–4: its halves 1–2 and 3–4
					return iv{Latency: tc.second}
				}
				return iv{Latency: 8 * ms}
			})
			judgedOnce := st.OK && st.Steady && st.WindowS == 4
			if judgedOnce != tc.steady {
				t.Errorf("ok %v steady %v window %vs (%s); want steady on its 4s window: %v", st.OK, st.Steady, st.WindowS, st.Reason, tc.steady)
			}
		})
	}
}

// With a baseline, a climbing median is rising only when the second half
// is also above 1.5× the baseline's median plus 1 ms: after a baseline of
// 20 ms, 20 then 31 ms is steady (31 is not above 31), 20 then 32 ms is
// held longer.
func TestSteadyAtExactlyTheBaselineLimit(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		second time.Duration
		steady bool
	}{
		{31 * ms, true},
		{32 * ms, false},
	} {
		s := newScript(newClock(), func(rate float64, k int) iv {
			if rate > 100 && k >= 3 {
				return iv{Latency: tc.second}
			}
			return iv{Latency: 20 * ms}
		})
		res, err := s.run(capacity.Options{SLO: slo(t, "p99<1s"), Start: 100, Max: 200, Window: 4 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Steps) < 2 || res.Steps[0].P50 != 20 {
			t.Fatalf("steps %+v; want a baseline of 20 ms, then 200/s", res.Steps)
		}
		st := res.Steps[1]
		if judgedOnce := st.OK && st.Steady && st.WindowS == 4; judgedOnce != tc.steady {
			t.Errorf("second half %v: ok %v steady %v window %vs (%s); want steady on its 4s window: %v", tc.second, st.OK, st.Steady, st.WindowS, st.Reason, tc.steady)
		}
	}
}

// flowErrors adds to its script's intervals a flow of one request whose
// every tenth iteration fails a check (its request answered OK).
type flowErrors struct{ *script }

func (f flowErrors) Live() ([]metrics.Snapshot, time.Time) {
	snaps, start := f.script.Live()
	for i := range snaps {
		s := &snaps[i]
		d := metrics.NewSketch()
		d.AddN(10*time.Millisecond, uint64(s.Iterations))
		s.Flows = []metrics.Flow{{Name: "checkout", Iterations: s.Iterations, Requests: s.Iterations, Errors: s.Iterations / 10, Duration: d}}
	}
	return snaps, start
}

// The plateau counts successful iterations: a flow whose checks fail one
// iteration in ten at a capacity of 200/s plateaus at 180 iterations/s,
// while all 200 requests/s succeeded.
func TestThePlateauLeavesOutFailedIterations(t *testing.T) {
	clock := newClock()
	s := flowErrors{newScript(clock, capped(200, 10*time.Millisecond))}
	res, err := capacity.Search(context.Background(), s, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 50, Max: 1000, Clock: clock,
		Warmup: time.Second, Settle: time.Second, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.PlateauIPS != 180 || res.PlateauRPS != 200 {
		t.Errorf("plateau %v iterations/s, %v requests/s; want 180 (a tenth failed) and 200", res.PlateauIPS, res.PlateauRPS)
	}
}

// The early stop's rules at their limits: a latency objective's value
// above 3× its bound in both of the last two intervals (exactly 3× is not
// above); rising over three intervals, the first already above the bound
// (at it is not), each above the one before (equal is not); errors above
// max(5× the objective, objective + 10 points) in both of the last two.
// A step that is not stopped early is judged on its whole window.
func TestEarlyStopsAtTheirExactLimits(t *testing.T) {
	ms := time.Millisecond
	lat := func(seq ...int) func(float64, int) iv {
		return func(_ float64, k int) iv {
			return iv{Latency: time.Duration(seq[min(k, len(seq)-1)]) * ms}
		}
	}
	alternate := func(a, b int) func(float64, int) iv {
		return func(_ float64, k int) iv {
			if k%2 == 0 {
				return iv{Latency: time.Duration(a) * ms}
			}
			return iv{Latency: time.Duration(b) * ms}
		}
	}
	errs := func(a, b int) func(float64, int) iv {
		return func(_ float64, k int) iv {
			if k%2 == 0 {
				return iv{Errs: a}
			}
			return iv{Errs: b}
		}
	}
	for _, tc := range []struct {
		name  string
		slo   string
		f     func(float64, int) iv
		early string // "" : judged on the whole window
	}{
		{"3× the bound, then above it, in turn", "p99<100ms", alternate(300, 350), ""},
		{"above 3× in both", "p99<100ms", alternate(301, 350), "far past its bound: 301 ms, then 350 ms"},
		{"rising over the first three intervals", "p99<100ms", lat(110, 130, 150), "growing past its bound: 110 ms → 130 ms → 150 ms"},
		{"rising from exactly the bound", "p99<100ms", lat(100, 120, 140), ""},
		{"flat, then rising", "p99<100ms", lat(110, 110, 130), ""},
		{"rising, then flat", "p99<100ms", lat(110, 130, 130), ""},
		{"errors at the limit, then above it, in turn", "errors<1%", errs(11, 15), ""},
		{"errors above the limit in both", "errors<1%", errs(12, 15), "errors far past the objective: 12.0%, then 15.0%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := oneStep(t, 100, capacity.Options{SLO: slo(t, tc.slo), Window: 4 * time.Second}, tc.f)
			switch {
			case tc.early == "" && st.Early:
				t.Errorf("stopped early (%s); want the whole window judged", st.Reason)
			case tc.early != "" && (!st.Early || !strings.Contains(st.Reason, tc.early)):
				t.Errorf("early %v, reason %q; want stopped early: %q", st.Early, st.Reason, tc.early)
			}
			if st.OK {
				t.Errorf("a step past its objective passed")
			}
			if tc.early == "" && st.WindowS != 4 {
				t.Errorf("judged on %vs; want its 4s window", st.WindowS)
			}
		})
	}
}

// The start-lag limit is max(10 ms, 10 % of the tightest latency bound,
// "<" or "<="): starts 20 ms late are within a bound of 250 ms's 25 ms,
// 30 ms late are not. The step fell behind (90 of 100/s finished), so
// only the lag decides whether Surge limited it.
func TestTheStartLagLimitFollowsTheLatencyBound(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		slo     string
		lag     time.Duration
		limited bool
	}{
		{"p99<250ms", 20 * ms, false},
		{"p99<=250ms", 20 * ms, false},
		{"p99<250ms", 30 * ms, true},
		{"p99<=250ms", 30 * ms, true},
	} {
		st := oneStep(t, 100, capacity.Options{SLO: slo(t, tc.slo), Window: 4 * time.Second}, func(float64, int) iv {
			return iv{N: 90, Latency: 40 * ms, Lag: tc.lag}
		})
		if st.OK {
			t.Errorf("%s, lag %v: a step 10 %% behind passed", tc.slo, tc.lag)
		}
		if late := st.GeneratorLimited && strings.Contains(strings.Join(st.GeneratorReasons, "; "), "started late"); late != tc.limited {
			t.Errorf("%s, lag %v: limited by late starts %v (%v); want %v", tc.slo, tc.lag, late, st.GeneratorReasons, tc.limited)
		}
	}
}

// A search that reaches its maximum offers each rate once and confirms
// the maximum once: 100, 200, 400, then 400 held to confirm it.
func TestReachingTheMaximumOffersItOnce(t *testing.T) {
	s := newScript(newClock(), func(float64, int) iv { return iv{} })
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 400, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var rates []float64
	for _, st := range res.Steps {
		rates = append(rates, st.Rate)
	}
	if want := []float64{100, 200, 400, 400}; !equalRates(rates, want) || res.Steps[len(res.Steps)-1].Phase != capacity.PhaseConfirm {
		t.Errorf("rates %v; want %v, the last a confirmation", rates, want)
	}
	if res.MaxRate != 400 || !res.LowerBound {
		t.Errorf("max rate %v, lower bound %v; want 400, a lower bound", res.MaxRate, res.LowerBound)
	}
}

func equalRates(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// timedFlows adds to its script's intervals a flow whose finished
// iterations took d each end to end (their requests' latencies and the
// pauses between them).
type timedFlows struct {
	*script
	d time.Duration
}

func (f timedFlows) Live() ([]metrics.Snapshot, time.Time) {
	snaps, start := f.script.Live()
	for i := range snaps {
		s := &snaps[i]
		d := metrics.NewSketch()
		d.AddN(f.d, uint64(s.Iterations))
		s.Flows = []metrics.Flow{{Name: "order", Iterations: s.Iterations, Requests: s.Totals().Requests, Duration: d}}
	}
	return snaps, start
}

// For a flow of several requests a VU is held for an iteration's whole
// time, not one request's: 5 VUs at 100 iterations/s of three 10 ms
// requests that take 40 ms end to end need 100 × 40 ms × 1.5 = 6, so the
// full pool is the generator's limit; for requests of 10 ms alone they
// would need 1.5.
func TestTheVUCapOfAFlowOfSeveralRequestsCountsItsIterationTime(t *testing.T) {
	clock := newClock()
	s := timedFlows{newScript(clock, func(float64, int) iv { return iv{N: 80, PerIter: 3, MaxVUs: 5} }), 40 * time.Millisecond}
	res, err := capacity.Search(context.Background(), s, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 100, MaxVUs: 5, Clock: clock,
		Warmup: time.Second, Settle: time.Second, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Steps[0]
	if why := strings.Join(st.GeneratorReasons, "; "); !st.GeneratorLimited || !strings.Contains(why, "the VU cap (5) was reached, below the 6") {
		t.Errorf("limited %v (%s); want the VU cap, below the 6 the rate needs", st.GeneratorLimited, why)
	}
}
