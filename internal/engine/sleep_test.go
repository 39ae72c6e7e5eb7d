package engine

import (
	"testing"
	"time"
)

// The timer-based sleeper, used where timerfd is not available, never
// returns before the instant it was given and returns at once for a past
// one.
func TestTimerSleeperNeverWakesEarly(t *testing.T) {
	s := newTimerSleeper()
	defer s.close()
	for range 20 {
		at := time.Now().Add(200 * time.Microsecond)
		s.sleepUntil(at)
		if d := time.Since(at); d < 0 {
			t.Fatalf("sleepUntil returned %v before the instant it was given", -d)
		}
	}
	t0 := time.Now()
	s.sleepUntil(t0.Add(-time.Second))
	if d := time.Since(t0); d > 50*time.Millisecond {
		t.Fatalf("sleeping until a past instant took %v", d)
	}
}
