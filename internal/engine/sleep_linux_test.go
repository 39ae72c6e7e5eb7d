package engine

import (
	"slices"
	"testing"
	"time"
)

// The precise sleeper never wakes before the instant it was given, and
// wakes well under the millisecond that the runtime's timers can be late
// (their wait goes to epoll_wait in whole milliseconds: a 300 µs timer
// fires about 0.7 ms late, 780 µs at the median on the 2-core VM, against
// 25 µs for the timerfd). A loaded machine deschedules the process and
// makes any sleep late, so the test looks at the 10th percentile of 40
// sleeps, the best of three rounds: the timerfd's is tens of µs, a
// runtime timer's never below ≈ 0.7 ms. Not parallel: other tests'
// goroutines would keep the runtime polling and make a timer look precise.
func TestPreciseSleeperWakesOnTime(t *testing.T) {
	s := newSleeper()
	defer s.close()
	var best []time.Duration
	for round := 0; round < 3; round++ {
		var late []time.Duration
		for range 40 {
			at := time.Now().Add(300 * time.Microsecond)
			s.sleepUntil(at)
			d := time.Since(at)
			if d < 0 {
				t.Fatalf("sleepUntil returned %v before the instant it was given", -d)
			}
			late = append(late, d)
		}
		slices.Sort(late)
		if best == nil || late[4] < best[4] {
			best = late
		}
		if best[4] <= 350*time.Microsecond {
			break
		}
	}
	if p10 := best[4]; p10 > 350*time.Microsecond {
		t.Fatalf("wake-ups %v late at the 10th percentile (best round: %v), want well under the runtime timers' ≈ 0.7 ms", p10, best)
	}
	// A past instant returns at once.
	t0 := time.Now()
	s.sleepUntil(t0.Add(-time.Second))
	if d := time.Since(t0); d > 50*time.Millisecond {
		t.Fatalf("sleeping until a past instant took %v", d)
	}
}
