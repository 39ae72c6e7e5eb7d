package capacity

import (
	"context"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
)

// Session is what a search drives: an open-model run whose rate can be
// changed while it runs. *run.Session satisfies it. Search calls it from
// one goroutine; Adjust must not block, and Live returns every merged
// interval published so far, in time order.
type Session interface {
	Adjust(rate float64)
	Live() ([]metrics.Snapshot, time.Time)
}

// Monitored is the optional ability of a Session to report what its
// monitors scraped so far (*run.Session has it). Search uses the samples'
// CPU limit series and listen-overflow rates as evidence of a bottleneck.
type Monitored interface {
	Monitors() []report.MonitorData
}

// Clock is the time a search waits on. The zero Options use the real one;
// tests pass a fake that advances when slept on.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx is done (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
