package engine_test

import (
	"math"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// dues returns the first n due offsets of p (fewer if it ends).
func dues(p engine.Pacer, n int) []time.Duration {
	var out []time.Duration
	for len(out) < n {
		off, ok := p.Next()
		if !ok {
			break
		}
		out = append(out, off)
	}
	return out
}

func near(a, b, tol time.Duration) bool { return a-b <= tol && b-a <= tol }

// A profile with no stages holds its rate forever: iteration n (from 0) is
// due at exactly n/R. An off-by-one (the first due at 1/R, or two
// iterations at once) or a doubled rate fails here.
func TestRatePacerConstantRateForever(t *testing.T) {
	for _, rate := range []float64{1, 7, 200, 1000, 0.5} {
		p := engine.NewRatePacer(engine.Profile{Start: rate})
		got := dues(p, 2000)
		if len(got) != 2000 {
			t.Fatalf("rate %v: the pacer ended after %d iterations; an unbounded profile never ends", rate, len(got))
		}
		for n, off := range got {
			want := time.Duration(float64(n) / rate * float64(time.Second))
			if !near(off, want, time.Microsecond) {
				t.Fatalf("rate %v: iteration %d due at %v, want %v", rate, n, off, want)
			}
		}
	}
}

// The same holds for a constant stage, and the stage ends after exactly
// R·D iterations, the last due before the end.
func TestRatePacerConstantStage(t *testing.T) {
	p := engine.NewRatePacer(engine.Constant(200, 2*time.Second))
	got := dues(p, 10000)
	if len(got) != 400 {
		t.Fatalf("%d iterations in 2 s at 200/s, want 400", len(got))
	}
	for n, off := range got {
		if want := time.Duration(n) * 5 * time.Millisecond; !near(off, want, time.Microsecond) {
			t.Fatalf("iteration %d due at %v, want %v", n, off, want)
		}
	}
	if _, ok := p.Next(); ok {
		t.Fatal("Next returned an iteration after the profile ended")
	}
}

// A zero rate with no stages makes nothing due, ever.
func TestRatePacerZeroRate(t *testing.T) {
	if got := dues(engine.NewRatePacer(engine.Profile{Start: 0}), 10); len(got) != 0 {
		t.Fatalf("zero rate made %d iterations due", len(got))
	}
	if got := dues(engine.NewRatePacer(engine.Profile{}), 10); len(got) != 0 {
		t.Fatalf("empty profile made %d iterations due", len(got))
	}
}

// A linear ramp from 0 to R over D makes iteration n due where the area
// under the ramp reaches n: t = D·√(2n/(R·D)).
func TestRatePacerRampDueTimes(t *testing.T) {
	const R, D = 100.0, 10.0
	p := engine.NewRatePacer(engine.Profile{Start: 0, Stages: []engine.Stage{{Duration: 10 * time.Second, Target: R}}})
	got := dues(p, 1000)
	if len(got) != 500 {
		t.Fatalf("%d iterations, want 500", len(got))
	}
	for n, off := range got {
		want := time.Duration(math.Sqrt(2*float64(n)*D/R) * float64(time.Second))
		if !near(off, want, 10*time.Microsecond) {
			t.Fatalf("iteration %d due at %v, want %v", n, off, want)
		}
	}
	// A ramp down mirrors it: from R to 0, iteration n is due at
	// D − √(D² − 2nD/R).
	p = engine.NewRatePacer(engine.Profile{Start: R, Stages: []engine.Stage{{Duration: 10 * time.Second, Target: 0}}})
	got = dues(p, 1000)
	if len(got) != 500 {
		t.Fatalf("ramp down: %d iterations, want 500", len(got))
	}
	for n, off := range got {
		want := time.Duration((D - math.Sqrt(D*D-2*float64(n)*D/R)) * float64(time.Second))
		if !near(off, want, 10*time.Microsecond) {
			t.Fatalf("ramp down: iteration %d due at %v, want %v", n, off, want)
		}
	}
}

// A ramp that starts above zero: R0 → R1 over D makes (R0+R1)/2·D due, and
// the first is due at 0.
func TestRatePacerRampFromNonZero(t *testing.T) {
	p := engine.NewRatePacer(engine.Profile{Start: 100, Stages: []engine.Stage{{Duration: 2 * time.Second, Target: 300}}})
	got := dues(p, 10000)
	if len(got) != 400 {
		t.Fatalf("%d iterations, want (100+300)/2·2 = 400", len(got))
	}
	if got[0] != 0 {
		t.Fatalf("first due at %v, want 0", got[0])
	}
	// The first gaps are ≈ 1/100 s, the last ≈ 1/300 s.
	if g := got[1] - got[0]; !near(g, 10*time.Millisecond, 100*time.Microsecond) {
		t.Fatalf("first gap %v, want ≈ 10 ms", g)
	}
	if g := got[399] - got[398]; !near(g, 3333*time.Microsecond, 100*time.Microsecond) {
		t.Fatalf("last gap %v, want ≈ 3.33 ms", g)
	}
	// Half the iterations are due where the ramp's area is 200:
	// 100t + 50t² = 200 → t = −1 + √5 ≈ 1.236 s.
	if want := time.Duration((math.Sqrt(5) - 1) * float64(time.Second)); !near(got[200], want, 10*time.Microsecond) {
		t.Fatalf("iteration 200 due at %v, want %v", got[200], want)
	}
}

// Stages follow one another on the clock: the second stage's iterations
// are due after the first stage's duration.
func TestRatePacerStagesInSequence(t *testing.T) {
	p := engine.NewRatePacer(engine.Profile{Start: 10, Stages: []engine.Stage{
		{Duration: time.Second, Target: 10}, {Duration: time.Second, Target: 0}, {Duration: time.Second, Target: 0}, {Duration: time.Second, Target: 20}}})
	got := dues(p, 1000)
	// 10 + 5 + 0 + 10
	if len(got) != 25 {
		t.Fatalf("%d iterations, want 25: %v", len(got), got)
	}
	for i := range 10 {
		if want := time.Duration(i) * 100 * time.Millisecond; !near(got[i], want, time.Microsecond) {
			t.Fatalf("iteration %d due at %v, want %v", i, got[i], want)
		}
	}
	for i := 10; i < 15; i++ {
		if got[i] < time.Second || got[i] >= 2*time.Second {
			t.Fatalf("iteration %d due at %v, want in the ramp down [1s, 2s)", i, got[i])
		}
	}
	for i := 15; i < 25; i++ {
		if got[i] < 3*time.Second || got[i] >= 4*time.Second {
			t.Fatalf("iteration %d due at %v, want in the last stage [3s, 4s)", i, got[i])
		}
	}
	// The last stage ramps 0 → 20: iteration 15+k is due at 3 + √(k/10) s.
	for k := range 10 {
		want := 3*time.Second + time.Duration(math.Sqrt(float64(k)/10)*float64(time.Second))
		if !near(got[15+k], want, 10*time.Microsecond) {
			t.Fatalf("iteration %d due at %v, want %v", 15+k, got[15+k], want)
		}
	}
}

// SetRate takes effect at the given offset: before it, the old rate's
// iterations; after it, the new rate's, none returned twice, and the
// profile's end still ends it.
func TestRatePacerSetRateSwitchesAtTheOffset(t *testing.T) {
	p := engine.NewRatePacer(engine.Constant(10, 4*time.Second))
	before := dues(p, 10) // due at 0, 100ms, …, 900ms
	p.SetRate(time.Second, 100)
	after := dues(p, 100000)
	if before[9] != 900*time.Millisecond {
		t.Fatalf("10th due at %v", before[9])
	}
	// 3 s left at 100/s: 300 more, from 1 s on, 10 ms apart.
	if len(after) != 300 {
		t.Fatalf("%d iterations after SetRate, want 300", len(after))
	}
	for i, off := range after {
		if want := time.Second + time.Duration(i)*10*time.Millisecond; !near(off, want, time.Microsecond) {
			t.Fatalf("iteration %d after SetRate due at %v, want %v", i, off, want)
		}
	}
	// An unbounded profile stays unbounded after SetRate.
	// The engine calls SetRate while it waits for the next iteration, which
	// the pacer has returned already (and which the engine then drops).
	q := engine.NewRatePacer(engine.Profile{Start: 5})
	_ = dues(q, 3) // 0, 200ms, 400ms
	q.SetRate(300*time.Millisecond, 50)
	got := dues(q, 1000)
	if len(got) != 1000 {
		t.Fatalf("an unbounded profile ended after SetRate (%d)", len(got))
	}
	for i, off := range got[:10] {
		if want := 300*time.Millisecond + time.Duration(i)*20*time.Millisecond; !near(off, want, time.Microsecond) {
			t.Fatalf("iteration %d after SetRate due at %v, want %v", i, off, want)
		}
	}
}

// SetRate within a ramp: the rest of the profile holds the new rate.
func TestRatePacerSetRateInARamp(t *testing.T) {
	p := engine.NewRatePacer(engine.Profile{Start: 0, Stages: []engine.Stage{{Duration: 2 * time.Second, Target: 100}, {Duration: 2 * time.Second, Target: 100}}})
	var n int
	for {
		off, ok := p.Next()
		if !ok || n > 1e6 {
			t.Fatalf("no iteration due at 1 s after %d", n)
		}
		n++
		if off >= time.Second-20*time.Millisecond {
			break
		}
	}
	p.SetRate(time.Second, 40)
	rest := dues(p, 100000)
	// 0→100 over 2 s: 25 due in the first second; then 3 s at 40/s.
	if total := n + len(rest); total < 144 || total > 146 {
		t.Fatalf("%d iterations, want 25 + 120 = 145", total)
	}
}

// Profile helpers: Duration, Peak, At and From.
func TestProfileShape(t *testing.T) {
	p := engine.Profile{Start: 5, Stages: []engine.Stage{{Duration: 2 * time.Second, Target: 25}, {Duration: time.Second, Target: 25}, {Duration: time.Second, Target: 0}}}
	if d := p.Duration(); d != 4*time.Second {
		t.Fatalf("Duration %v", d)
	}
	if pk := p.Peak(); pk != 25 {
		t.Fatalf("Peak %v", pk)
	}
	if pk := (engine.Profile{Start: 30, Stages: []engine.Stage{{Duration: time.Second, Target: 3}}}).Peak(); pk != 30 {
		t.Fatalf("Peak of a ramp down %v, want 30", pk)
	}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{0, 5}, {time.Second, 15}, {2 * time.Second, 25}, {2500 * time.Millisecond, 25}, {3500 * time.Millisecond, 12.5}, {4 * time.Second, 0}, {time.Hour, 0}} {
		if got := p.At(tt.at); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("At(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
	q := p.From(2500*time.Millisecond, 9)
	if q.Start != 9 || len(q.Stages) != 2 || q.Stages[0].Duration != 500*time.Millisecond || q.Stages[1].Duration != time.Second ||
		q.Stages[0].Target != 9 || q.Stages[1].Target != 9 {
		t.Fatalf("From(2.5s, 9) = %+v", q)
	}
	if r := p.From(2*time.Second, 9); len(r.Stages) != 2 || r.Stages[0].Duration != time.Second {
		t.Fatalf("From at a stage boundary = %+v", r)
	}
	if r := (engine.Profile{Start: 3}).From(time.Minute, 8); r.Start != 8 || len(r.Stages) != 0 {
		t.Fatalf("From of an unbounded profile = %+v", r)
	}
	if c := engine.Constant(7, 0); c.Start != 7 || len(c.Stages) != 0 || c.Duration() != 0 {
		t.Fatalf("Constant(7, 0) = %+v", c)
	}
	if c := engine.Constant(7, time.Second); c.Duration() != time.Second || c.At(500*time.Millisecond) != 7 {
		t.Fatalf("Constant(7, 1s) = %+v", c)
	}
}

func TestParseStagesValues(t *testing.T) {
	got, err := engine.ParseStages("1500ms:0.5")
	if err != nil || len(got) != 1 || got[0].Duration != 1500*time.Millisecond || got[0].Target != 0.5 {
		t.Fatalf("got %v, %v", got, err)
	}
	got, err = engine.ParseStages("1s:0")
	if err != nil || got[0].Target != 0 {
		t.Fatalf("a zero target must parse: %v, %v", got, err)
	}
	for _, bad := range []string{"1s:inf", "-1s:5", "1s:", ":5"} {
		if _, err := engine.ParseStages(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// A constant rate R over D makes exactly ⌈R·D⌉ iterations due, all before
// the end: none at the end instant itself, whatever rounding R·D suffers
// in floating point (100/s × 1.1 s is 110.00000000000001, which once made
// a 111th iteration due at 1.1 s, racing the end of the run).
func TestRatePacerMakesExactlyRateTimesDuration(t *testing.T) {
	for _, rate := range []float64{1, 3, 7, 40, 100, 200, 333, 1000} {
		for ms := 100; ms <= 5000; ms += 100 {
			d := time.Duration(ms) * time.Millisecond
			for _, p := range []engine.Profile{
				engine.Constant(rate, d),
				// the same rate in a second stage
				{Start: rate, Stages: []engine.Stage{{Duration: time.Second, Target: rate}, {Duration: d, Target: rate}}},
			} {
				want := int(math.Ceil(rate*(p.Duration().Seconds()) - 1e-9))
				n, last := count(engine.NewRatePacer(p), 1e6)
				if n != want || (n > 0 && last >= p.Duration()) {
					t.Fatalf("%v/s over %v: %d iterations, the last due at %v; want %d, all before %v", rate, p.Duration(), n, last, want, p.Duration())
				}
			}
		}
	}
}
