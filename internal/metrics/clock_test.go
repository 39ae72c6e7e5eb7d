package metrics_test

import (
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/testutil"
)

// A run's instants stay on its start's clock when the host's wall clock
// is stepped after the start: their wall-clock distance from it (what a
// stored, decoded instant keeps) is the monotonic one (what the live run
// measures), where time.Now()'s is off by the step.
func TestNowIsOnTheStartsClock(t *testing.T) {
	const step = 15 * time.Millisecond
	start := testutil.Stepped(t, time.Now(), -step) // read before a +15 ms step
	time.Sleep(5 * time.Millisecond)
	now := metrics.Now(start)
	mono := now.Sub(start)
	wall := now.Round(0).Sub(start.Round(0))
	if mono < 5*time.Millisecond || wall != mono {
		t.Errorf("Now(start) - start: %v on the monotonic clock, %v on the wall clock; want the same, ≥ 5ms", mono, wall)
	}
	plain := time.Now()
	if off := plain.Round(0).Sub(start.Round(0)) - plain.Sub(start); off < step-time.Millisecond {
		t.Errorf("time.Now() is %v off the start's clock, want the %v step: the test provokes no step", off, step)
	}
	// Stored or sent instants have no monotonic reading: the wall clock's now.
	if d := time.Since(metrics.Now(start.Round(0))); d < -time.Second || d > time.Second {
		t.Errorf("Now of a wall-clock start is %v from now", d)
	}
}
