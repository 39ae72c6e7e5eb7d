package engine

import (
	"fmt"
	"testing"
	"time"
)

// A rate change while the scheduler holds an iteration that is not due
// yet gives that iteration back: it is due where the new rate's integral
// reaches it, up or down, for the whole schedule and for a stripe, and
// the due count (DueBy) follows the same schedule.
func TestRetakeRetimesTheHeldIteration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stripe Stripe
		rate   float64 // the new whole-schedule rate, from 850 ms
		first  time.Duration
		gap    time.Duration
	}{
		// 10/s: iterations 0…9 due at 0…900 ms; 9 is held at 850 ms, where
		// the integral is 8.5.
		{"up", Stripe{}, 100, 855 * time.Millisecond, 10 * time.Millisecond},
		{"down", Stripe{}, 2, 1100 * time.Millisecond, 500 * time.Millisecond},
		// Stripe 1 of 2 holds iteration 9 too (1, 3, …, 9).
		{"stripe up", Stripe{Index: 1, Count: 2}, 100, 855 * time.Millisecond, 20 * time.Millisecond},
		{"stripe down", Stripe{Index: 1, Count: 2}, 4, 975 * time.Millisecond, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewStripedPacer(Constant(10, 3*time.Second), tc.stripe)
			offs := offsets(p, time.Hour, 10/max(tc.stripe.Count, 1)) // the last is held
			if last := offs[len(offs)-1]; !near(last, 900*time.Millisecond, time.Microsecond) {
				t.Fatalf("held iteration due at %v, want 900 ms", last)
			}
			p.retake(850*time.Millisecond, tc.rate)
			rest := offsets(p, time.Hour, 1000)
			if len(rest) < 2 {
				t.Fatalf("%d iterations after the change", len(rest))
			}
			for i, off := range rest[:2] {
				if want := tc.first + time.Duration(i)*tc.gap; !near(off, want, time.Microsecond) {
					t.Fatalf("iteration %d after the change due at %v, want %v", i, off, want)
				}
			}
			all := append(offs[:len(offs)-1:len(offs)-1], rest...)
			for _, at := range probes(all, 850*time.Millisecond, 2*time.Second) {
				if at < 850*time.Millisecond {
					continue
				}
				if got, want := p.dueBefore(at), below(all, at); got != want {
					t.Fatalf("%s: due before %v: %d, the schedule has %d below it", fmt.Sprint(tc.stripe), at, got, want)
				}
			}
		})
	}
}
