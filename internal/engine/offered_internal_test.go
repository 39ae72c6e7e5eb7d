package engine

import (
	"fmt"
	"testing"
	"time"
)

// These tests check the offered load (what DueBy answers) against the
// pacer's own schedule, without a clock: the count of iterations due
// before t must be the count of due offsets the pacer hands out below t,
// for every profile shape, every stripe, and after live rate changes.

// offsets returns the due offsets p hands out below limit (at most most).
func offsets(p *RatePacer, limit time.Duration, most int) []time.Duration {
	var out []time.Duration
	for len(out) < most {
		off, ok := p.Next()
		if !ok || off >= limit {
			break
		}
		out = append(out, off)
	}
	return out
}

// below counts the offsets before t.
func below(offs []time.Duration, t time.Duration) int64 {
	var n int64
	for _, o := range offs {
		if o < t {
			n++
		}
	}
	return n
}

// probes are the instants at which the count is checked: every due offset
// itself (the iteration due there is not yet due before it), the midpoints
// between consecutive ones, and a few round instants.
func probes(offs []time.Duration, extra ...time.Duration) []time.Duration {
	out := append([]time.Duration{}, extra...)
	for i, o := range offs {
		out = append(out, o)
		if i+1 < len(offs) {
			out = append(out, o+(offs[i+1]-o)/2)
		}
	}
	return out
}

var offeredProfiles = map[string]Profile{
	// 4/s: every due offset is a multiple of 250 ms, exact in floating point,
	// so the count at a due offset is an exact integer.
	"constant forever":  {Start: 4},
	"constant stage":    Constant(4, 3*time.Second),
	"ramp up from zero": {Start: 0, Stages: []Stage{{Duration: 2 * time.Second, Target: 40}}},
	"ramp down":         {Start: 30, Stages: []Stage{{Duration: 2 * time.Second, Target: 10}}},
	"stages": {Start: 10, Stages: []Stage{
		{Duration: time.Second, Target: 30}, {Duration: time.Second, Target: 30},
		{Duration: 500 * time.Millisecond, Target: 0}, {Duration: time.Second, Target: 20}}},
}

func TestDueBeforeCountsThePacersSchedule(t *testing.T) {
	for name, p := range offeredProfiles {
		for _, s := range []Stripe{{}, {Index: 0, Count: 2}, {Index: 1, Count: 2}, {Index: 2, Count: 3}} {
			t.Run(fmt.Sprintf("%s/stripe %d of %d", name, s.Index, s.Count), func(t *testing.T) {
				offs := offsets(NewStripedPacer(p, s), 4*time.Second, 10000)
				if len(offs) < 3 {
					t.Fatalf("only %d due offsets", len(offs))
				}
				fresh := NewStripedPacer(p, s)
				for _, at := range probes(offs, 0, time.Second, 2*time.Second, 2500*time.Millisecond, 3*time.Second, 3500*time.Millisecond) {
					if at >= 4*time.Second {
						continue
					}
					if got, want := fresh.dueBefore(at), below(offs, at); got != want {
						t.Fatalf("due before %v: %d, the pacer hands out %d offsets below it", at, got, want)
					}
				}
			})
		}
	}
}

// The stripes' counts add up to the whole schedule's at every instant.
func TestStripesDueCountsAddUp(t *testing.T) {
	p := offeredProfiles["stages"]
	whole := NewRatePacer(p)
	for at := time.Duration(0); at < 4*time.Second; at += 37 * time.Millisecond {
		var sum int64
		for i := range 3 {
			sum += NewStripedPacer(p, Stripe{Index: i, Count: 3}).dueBefore(at)
		}
		if w := whole.dueBefore(at); sum != w {
			t.Fatalf("at %v the 3 stripes count %d due, the whole schedule %d", at, sum, w)
		}
	}
}

// After live rate changes the schedule follows the piecewise rate curve —
// iteration n is due where the integral of the rate reaches n — and the
// due count follows the same curve. Two changes, so that the second one is
// made on a curve that no longer starts at 0.
func TestDueCountFollowsLiveRateChanges(t *testing.T) {
	// 10/s on [0, 0.95 s), 40/s on [0.95 s, 1.5 s), 100/s on [1.5 s, 3 s):
	// the integral reaches 9.5 at 0.95 s, 31.5 at 1.5 s and 181.5 at 3 s.
	dueAt := func(n int) time.Duration {
		x := float64(n)
		switch {
		case x < 9.5:
			return secs(x / 10)
		case x < 31.5:
			return 950*time.Millisecond + secs((x-9.5)/40)
		default:
			return 1500*time.Millisecond + secs((x-31.5)/100)
		}
	}
	p := NewRatePacer(Constant(10, 3*time.Second))
	var offs []time.Duration
	take := func(k int) {
		for range k {
			off, ok := p.Next()
			if !ok {
				t.Fatalf("the schedule ended after %d iterations", len(offs))
			}
			offs = append(offs, off)
		}
	}
	check := func(from time.Duration) {
		t.Helper()
		for i, off := range offs {
			if want := dueAt(i); !near(off, want, time.Microsecond) {
				t.Fatalf("iteration %d due at %v, want %v", i, off, want)
			}
		}
		// The count from here on, as DueBy would answer it.
		rest := append([]time.Duration{}, offs...)
		q := *p
		rest = append(rest, offsets(&q, time.Hour, 10000)...)
		for _, at := range probes(rest, from, 2*time.Second, 2900*time.Millisecond) {
			if at < from {
				continue
			}
			if got, want := p.dueBefore(at), below(rest, at); got != want {
				t.Fatalf("due before %v: %d, the schedule has %d offsets below it", at, got, want)
			}
		}
	}
	take(10) // 0 … 900 ms
	p.SetRate(950*time.Millisecond, 40)
	take(22) // iterations 10 … 31, the last due at 1.4875 s
	check(950 * time.Millisecond)
	p.SetRate(1500*time.Millisecond, 100)
	for len(offs) < 10000 { // bounded: a wrong curve could be unbounded
		off, ok := p.Next()
		if !ok {
			break
		}
		offs = append(offs, off)
	}
	if len(offs) != 182 {
		t.Fatalf("%d iterations in all, want 182 (those below the integral's 181.5)", len(offs))
	}
	check(1500 * time.Millisecond)
}

// A rate change at exactly the due time of the iteration the scheduler
// holds starts the new rate there, as a change at any other instant does:
// its first iteration is due at the change, R·D follow in the D left.
func TestSetRateAtTheHeldIterationsDueTime(t *testing.T) {
	p := NewRatePacer(Constant(10, 2*time.Second))
	offsets(p, time.Hour, 10) // 0 … 900 ms; the last one is held, due at 900 ms
	p.SetRate(900*time.Millisecond, 100)
	rest := offsets(p, time.Hour, 1000)
	if len(rest) != 110 {
		t.Fatalf("%d iterations in the 1.1 s left at 100/s, want 110", len(rest))
	}
	for i, off := range rest {
		if want := 900*time.Millisecond + time.Duration(i)*10*time.Millisecond; !near(off, want, time.Microsecond) {
			t.Fatalf("iteration %d after the change due at %v, want %v", i, off, want)
		}
	}
}

// The offered load is clamped by the iteration budget, never goes back
// once answered, is 0 before a schedule begins, and after the end is the
// final count whatever instant is asked.
func TestOfferedLoadBudgetAndEnd(t *testing.T) {
	var o offered
	start := time.Unix(1000, 0)
	if n := o.dueBy(start.Add(time.Hour)); n != 0 {
		t.Fatalf("due %d before any schedule began", n)
	}
	p := NewRatePacer(Profile{Start: 100})
	o.begin(start, p, 50)
	for _, tt := range []struct {
		at   time.Duration
		want int64
	}{{0, 0}, {100 * time.Millisecond, 10}, {105 * time.Millisecond, 11}, {490 * time.Millisecond, 49}, {time.Second, 50}, {time.Hour, 50}} {
		if n := o.dueBy(start.Add(tt.at)); n != tt.want {
			t.Fatalf("due by %v: %d, want %d (100/s, budget 50)", tt.at, n, tt.want)
		}
	}
	// Asked for an earlier instant after a later one: never less than
	// already answered, so per-interval counts never go negative.
	if n := o.dueBy(start.Add(100 * time.Millisecond)); n != 50 {
		t.Fatalf("due by 100 ms after answering 50: %d, want 50", n)
	}
	if n := o.end(p, 300*time.Millisecond, 20); n != 50 {
		t.Fatalf("end at 300 ms with 20 sent: %d, want the 50 already reported", n)
	}
	if n := o.dueBy(start); n != 50 {
		t.Fatalf("due after the end: %d, want the final 50", n)
	}

	var q offered
	q.begin(start, NewRatePacer(Profile{Start: 100}), 0)
	if n := q.dueBy(start.Add(250 * time.Millisecond)); n != 25 {
		t.Fatalf("due by 250 ms at 100/s: %d, want 25", n)
	}
	// The schedule ended at 400 ms with more sent than the curve says
	// (cannot happen unless the clock is coarse): the count is never below
	// what was handed to VUs.
	if n := q.end(&q.curve, 400*time.Millisecond, 45); n != 45 {
		t.Fatalf("end with 45 sent: %d, want 45", n)
	}
	var r offered
	r.begin(start, NewRatePacer(Profile{Start: 100}), 0)
	if n := r.end(&r.curve, 400*time.Millisecond, 12); n != 40 {
		t.Fatalf("end at 400 ms of 100/s with 12 sent: %d, want 40", n)
	}
}

// A stripe of one is the whole schedule.
func TestStripeOfOneIsTheWhole(t *testing.T) {
	p := Constant(7, 2*time.Second)
	a, b := offsets(NewRatePacer(p), time.Hour, 100), offsets(NewStripedPacer(p, Stripe{Index: 0, Count: 1}), time.Hour, 100)
	if len(a) != 14 || len(b) != len(a) {
		t.Fatalf("whole %d, stripe of one %d iterations, want 14", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("iteration %d: %v and %v", i, a[i], b[i])
		}
	}
	if s := (Stripe{Index: 1, Count: 4}).share(100); s != 25 {
		t.Fatalf("a quarter of 100/s is %v", s)
	}
	if s := (Stripe{}).share(100); s != 100 {
		t.Fatalf("the whole of 100/s is %v", s)
	}
}

func near(a, b, tol time.Duration) bool { return a-b <= tol && b-a <= tol }
