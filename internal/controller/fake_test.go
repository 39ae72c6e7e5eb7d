package controller_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/metrics"
)

// fake is an in-process Agent for tests of the controller alone: it emits
// snapshots it makes up, and loses itself or holds on as told.
type fake struct {
	name  string
	n     int  // snapshots to emit, Seq 0..n-1
	reqs  int  // requests per snapshot, one endpoint
	fails int  // of which failed (status 5xx)
	lose  bool // return agent.ErrLost after the n snapshots (and after loseAt, if set)
	// loseAt, if set, is waited for before losing; hold, if set, is
	// waited for before a survivor returns. Either way ctx ends the wait.
	loseAt chan struct{}
	hold   chan struct{}
	// step, if set, is waited for before each snapshot.
	step  chan struct{}
	snap  func(seq int) metrics.Snapshot // overrides the made-up snapshot
	cores int                            // reported by Cores when > 0

	mu      sync.Mutex
	adjusts []adjustment
	cause   error // ctx's cause when Run saw ctx end
}

type adjustment struct {
	at time.Time
	v  float64
}

var _ agent.Agent = (*fake)(nil)

func (f *fake) Name() string { return f.name }

func (f *fake) Adjust(v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adjusts = append(f.adjusts, adjustment{time.Now(), v})
}

// values is every load the agent was given, in order.
func (f *fake) values() []float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []float64
	for _, a := range f.adjusts {
		out = append(out, a.v)
	}
	return out
}

func (f *fake) Run(ctx context.Context, seg agent.Segment, emit func(metrics.Snapshot)) error {
	for seq := range f.n {
		if f.step != nil {
			select {
			case <-f.step:
			case <-ctx.Done():
				return f.ended(ctx)
			}
		}
		emit(f.make(seg, seq))
	}
	wait := f.hold
	if f.lose {
		wait = f.loseAt
	}
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			f.ended(ctx)
		}
	}
	if f.lose {
		return fmt.Errorf("no heartbeat for 3 intervals: %w", agent.ErrLost)
	}
	return nil
}

func (f *fake) ended(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cause = context.Cause(ctx)
	return nil
}

func (f *fake) stopCause() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cause
}

func (f *fake) make(seg agent.Segment, seq int) metrics.Snapshot {
	if f.snap != nil {
		return f.snap(seq)
	}
	start := seg.Start.Add(time.Duration(seq) * seg.Interval)
	ep := metrics.Endpoint{Name: "GET /", Method: "GET", Requests: int64(f.reqs), Latency: metrics.NewSketch()}
	ep.Classes[metrics.OK] = int64(f.reqs - f.fails)
	ep.Classes[metrics.Status5xx] = int64(f.fails)
	for range f.reqs {
		ep.Latency.Add(10 * time.Millisecond)
	}
	return metrics.Snapshot{Seq: seq, Start: start, End: start.Add(seg.Interval), Endpoints: []metrics.Endpoint{ep},
		Iterations: int64(f.reqs)}
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// Cores reports the cores the agent may use (0: unknown).
func (f *fake) Cores() int { return f.cores }
