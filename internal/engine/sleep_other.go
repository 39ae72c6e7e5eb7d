//go:build !linux

package engine

// newSleeper returns a timer-based sleeper: outside Linux the runtime's
// own timers are precise enough.
func newSleeper() sleeper { return newTimerSleeper() }
