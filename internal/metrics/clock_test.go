package metrics

import (
	"testing"
	"time"
)

func TestNowIsOnTheStartsClock(t *testing.T) {
	start := time.Now()
	time.Sleep(5 * time.Millisecond)
	now := Now(start)
	mono := now.Sub(start) // both carry monotonic readings
	wall := now.Round(0).Sub(start.Round(0))
	if mono < 5*time.Millisecond || wall != mono {
		t.Errorf("Now(start) - start: %v on the monotonic clock, %v on the wall clock; want the same, ≥ 5ms", mono, wall)
	}
	// Stored or sent instants have no monotonic reading: the wall clock's now.
	if d := time.Since(Now(start.Round(0))); d < -time.Second || d > time.Second {
		t.Errorf("Now of a wall-clock start is %v from now", d)
	}
}
