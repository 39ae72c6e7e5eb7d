package capacity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// The search's own rules at their limits: its bound on steps, the
// step-down of a failed confirmation, the deadline of a stalled step,
// the baseline and the recovery.

// A search is bounded by 48 judged steps, whatever its options, plus its
// confirmation: growth by 1 % from 100/s never reaches its maximum; a
// tiny precision never ends its bisection; a generator-limited step at the
// bound is not held again.
func TestASearchIsBoundedBy48StepsAndItsConfirmation(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		o    capacity.Options
		f    func(rate float64, k int) iv
	}{
		{"growth that never reaches the maximum", capacity.Options{Growth: 1.01}, func(float64, int) iv { return iv{} }},
		{"a bisection that never reaches its precision", capacity.Options{Growth: 1.1, Precision: 1e-9}, func(rate float64, _ int) iv {
			if rate > 1700 {
				return iv{Latency: 400 * ms}
			}
			return iv{}
		}},
		{"the generator limits the 48th step", capacity.Options{Growth: 1.01, Cores: 1}, func(rate float64, _ int) iv {
			if rate > 159 { // 100 × 1.01^47 ≈ 159.6
				return iv{N: int(0.8 * rate), CPU: 1}
			}
			return iv{}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.SLO, o.Start, o.Window = slo(t, "p99<100ms"), 100, 2*time.Second
			res, err := newScript(newClock(), tc.f).run(o)
			if err != nil {
				t.Fatal(err)
			}
			judged := 0
			for _, s := range res.Steps {
				if s.Phase != capacity.PhaseConfirm {
					judged++
				}
			}
			last := res.Steps[len(res.Steps)-1]
			if judged != 48 || len(res.Steps) != 49 || last.Phase != capacity.PhaseConfirm || !last.OK {
				t.Errorf("%d steps, %d of them before the confirmation (last %s, ok %v); want 48 and one passing confirmation", len(res.Steps), judged, last.Phase, last.OK)
			}
		})
	}
}

// A confirmation that fails steps down by half the precision: a target
// that passes 200/s for 4 s but not for 8 s, and holds 195/s, is confirmed
// at 195/s (200 × (1 − 0.05/2)).
func TestAFailedConfirmationStepsDownByHalfThePrecision(t *testing.T) {
	ms := time.Millisecond
	s := newScript(newClock(), func(rate float64, k int) iv {
		switch {
		case rate > 200:
			return iv{Latency: 400 * ms}
		case rate > 196 && k >= 5: // a leak: fine for 4 s, then slow
			return iv{Latency: 300 * ms}
		}
		return iv{}
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 1000, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var confirms []float64
	for _, st := range res.Steps {
		if st.Phase == capacity.PhaseConfirm {
			confirms = append(confirms, st.Rate)
		}
	}
	if !equalRates(confirms, []float64{200, 195}) || res.MaxRate != 195 || !res.Confirmed {
		t.Errorf("confirmations at %v, max rate %v, confirmed %v; want 200 then 195, confirmed at 195", confirms, res.MaxRate, res.Confirmed)
	}
}

// stalls publishes its script's intervals up to a time, then nothing.
type stalls struct {
	*script
	until time.Time
}

func (s stalls) Live() ([]metrics.Snapshot, time.Time) {
	snaps, start := s.script.Live()
	for i, sn := range snaps {
		if sn.End.After(s.until) {
			return snaps[:i], start
		}
	}
	return snaps, start
}

// A stalled session: a step whose window never fills is judged on what it
// has once two windows, four intervals and 2 s have passed since its
// settle time; one with nothing at all then ends the search with an
// error. With a warm-up and settle of 1 s and a window of 4 s, the first
// step (two intervals of its window published) is judged at 16 s, the
// confirmation (8 s) gives up 1 + 16 + 4 + 2 = 23 s after it started.
func TestAStalledSessionIsJudgedAtTheDeadline(t *testing.T) {
	clock := newClock()
	start := clock.Now()
	s := stalls{newScript(clock, func(float64, int) iv { return iv{} }), start.Add(4 * time.Second)}
	res, err := capacity.Search(context.Background(), s, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 100, Clock: clock,
		Warmup: time.Second, Settle: time.Second, Window: 4 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "published no intervals") || !strings.Contains(err.Error(), "(rate 100, 23s)") {
		t.Fatalf("err %v; want no intervals published for 23s", err)
	}
	if len(res.Steps) != 1 || res.Steps[0].WindowS != 2 || !res.Steps[0].End.Equal(start.Add(4*time.Second)) {
		t.Errorf("steps %+v; want the one step judged on the 2 s it had", res.Steps)
	}
	if res.DurationS != 39 {
		t.Errorf("the search took %vs; want 1 + (1 + 14) + 23 = 39s", res.DurationS)
	}
}

// snapProber answers, every 500 ms, in the latency of the script's
// requests of the interval it falls in (the health check queues with
// them); a probe in an interval slower than failAbove fails.
type snapProber struct {
	s         *script
	failAbove time.Duration
}

func (p snapProber) Samples(from, to time.Time) []capacity.ProbeSample {
	snaps, _ := p.s.Live()
	var out []capacity.ProbeSample
	for at := from.Truncate(500 * time.Millisecond); at.Before(to); at = at.Add(500 * time.Millisecond) {
		if at.Before(from) {
			continue
		}
		for _, sn := range snaps {
			if at.Before(sn.Start) || !at.Before(sn.End) {
				continue
			}
			ps := capacity.ProbeSample{T: at, Latency: sn.Totals().Latency.Max()}
			if p.failAbove > 0 && ps.Latency > p.failAbove {
				ps.Err = "status 503"
			}
			out = append(out, ps)
		}
	}
	return out
}

// The baseline is the first passing step at the lowest rate: a target
// answering in 20 ms at 100/s until it is overloaded, and in 30 ms at
// 100/s after, has its baseline (and its probe's) at 20 ms, though its
// confirmation at 100/s passed later.
func TestTheBaselineIsTheFirstStepAtTheLowestRate(t *testing.T) {
	ms := time.Millisecond
	overloaded := false
	s := newScript(newClock(), func(rate float64, _ int) iv {
		switch {
		case rate > 100:
			overloaded = true
			return iv{Latency: 400 * ms}
		case overloaded:
			return iv{Latency: 30 * ms}
		}
		return iv{Latency: 20 * ms}
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<100ms"), Start: 100, Max: 1000, Window: 4 * time.Second, Prober: snapProber{s: s}})
	if err != nil {
		t.Fatal(err)
	}
	if res.MaxRate != 100 || !res.Confirmed || res.Steps[len(res.Steps)-1].P50 != 30 {
		t.Fatalf("max rate %v, confirmed %v, steps %v; want 100, confirmed at 30 ms", res.MaxRate, res.Confirmed, res.Steps)
	}
	if !strings.Contains(res.ProbeStarved, "against 20.0 ms at the baseline 100.0/s") {
		t.Errorf("probe starved %q; want it held against the first step's 20 ms", res.ProbeStarved)
	}
}

// A step that passed needs a recovery only when its p99 ended above 2× the
// baseline's plus 5 ms: after a 20 ms baseline, 45 ms is not above; 46 ms
// is. A recovery interval with no request answered is not a recovery, and
// one whose p99 is exactly 2× the baseline's plus 5 ms is.
func TestRecoveryAtItsExactLimits(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name   string
		at200  time.Duration // p99 of the passing step at 200/s
		after  []iv          // the intervals at the start rate after 400/s fails
		rec200 float64       // the recovery after 200/s, s
		rec400 float64       // the recovery after 400/s, s
	}{
		{"200/s at exactly 2× + 5 ms", 45 * ms, nil, 0, 1},
		{"200/s above 2× + 5 ms", 46 * ms, nil, 1, 1},
		{"nothing answered for two intervals", 20 * ms, []iv{{N: -1}, {N: -1}}, 0, 3},
		{"back at exactly 2× + 5 ms", 20 * ms, []iv{{Latency: 45 * ms}}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed := false
			s := newScript(newClock(), func(rate float64, k int) iv {
				switch {
				case rate > 300:
					failed = true
					return iv{Latency: 900 * ms}
				case rate > 100:
					return iv{Latency: tc.at200}
				case failed && k < len(tc.after):
					return tc.after[k]
				}
				return iv{Latency: 20 * ms}
			})
			res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 400, Window: 4 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			rec := map[float64]float64{}
			for _, st := range res.Steps {
				if st.Phase == capacity.PhaseGrow {
					rec[st.Rate] = st.RecoveryS
				}
			}
			if rec[200] != tc.rec200 || rec[400] != tc.rec400 {
				t.Errorf("recovery after 200/s %vs, after 400/s %vs; want %vs and %vs", rec[200], rec[400], tc.rec200, tc.rec400)
			}
		})
	}
}

// A first step that met its objectives but that Surge could not offer in
// full (its CPU busy, 90 of 100 iterations/s made due) is held again at
// once: with no baseline yet there is no latency to recover to.
func TestAGeneratorLimitedFirstStepIsHeldAgainAtOnce(t *testing.T) {
	s := newScript(newClock(), func(float64, int) iv { return iv{N: 90, Due: 90, CPU: 1} })
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 400, Cores: 1, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 2 || !res.Steps[0].OK || !res.Steps[0].GeneratorLimited || res.Steps[0].RecoveryS != 0 {
		t.Fatalf("steps %+v; want the start step met but limited, held again with no recovery", res.Steps)
	}
	if res.Bottleneck.Kind != capacity.KindGenerator || !res.StartMissed {
		t.Errorf("bottleneck %s (%s), start missed %v; want generator, the start missed", res.Bottleneck.Kind, res.Bottleneck.Evidence, res.StartMissed)
	}
}
