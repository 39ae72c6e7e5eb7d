package engine

import "time"

// A sleeper waits until an instant, as precisely as the platform allows.
// One goroutine uses it at a time.
type sleeper interface {
	sleepUntil(t time.Time)
	close()
}

// timerSleeper sleeps on a reused time.Timer.
type timerSleeper struct{ t *time.Timer }

func newTimerSleeper() sleeper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &timerSleeper{t: t}
}

func (s *timerSleeper) sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		s.t.Reset(d)
		<-s.t.C
	}
}

func (s *timerSleeper) close() { s.t.Stop() }
