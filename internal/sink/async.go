package sink

import (
	"context"
	"fmt"
	"sync"

	"github.com/surgeload/surge/internal/metrics"
)

// DetachBuffer is how many intervals a detached sink may fall behind before
// it drops snapshots: over four minutes of one-second intervals.
const DetachBuffer = 256

// Detach gives each sink (each member of a Fanout) a goroutine and a
// buffer of its own, so that a slow sink — a store on a busy disk, a
// recording to a distant server — never stalls the caller, nor the other
// sinks. Snapshots reach each sink in order; past DetachBuffer behind, a
// sink misses snapshots, and its Close reports how many.
func Detach(s Sink) Sink {
	switch s := s.(type) {
	case nil:
		return nil
	case Fanout:
		out := make(Fanout, len(s))
		for i, k := range s {
			out[i] = Detach(k)
		}
		return out
	case *detached:
		return s
	}
	d := &detached{s: s, ch: make(chan item, DetachBuffer), done: make(chan struct{})}
	go d.run()
	return d
}

type item struct {
	ctx  context.Context
	snap metrics.Snapshot
}

type detached struct {
	s    Sink
	ch   chan item // buffered DetachBuffer; closed by Close
	done chan struct{}

	mu      sync.Mutex
	err     error // the first Consume error
	dropped int
	closed  bool
}

func (d *detached) run() {
	defer close(d.done)
	for it := range d.ch {
		if err := d.s.Consume(it.ctx, it.snap); err != nil {
			d.mu.Lock()
			if d.err == nil {
				d.err = err
			}
			d.mu.Unlock()
		}
	}
}

// Consume implements Sink; it never blocks. It returns the first error the
// sink itself returned, if any, once it is known.
func (d *detached) Consume(ctx context.Context, s metrics.Snapshot) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("sink: consume after close")
	}
	select {
	case d.ch <- item{context.WithoutCancel(ctx), s}:
	default:
		d.dropped++
	}
	return d.err
}

// Close implements Sink: it waits until the sink has taken every buffered
// snapshot (or ctx ends), then closes it.
func (d *detached) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.ch)
	}
	d.mu.Unlock()
	select {
	case <-d.done:
	case <-ctx.Done():
		return fmt.Errorf("sink: closing before it caught up: %w", ctx.Err())
	}
	err := d.s.Close(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dropped > 0 && err == nil {
		err = fmt.Errorf("sink: fell %d intervals behind and dropped %d snapshots", DetachBuffer, d.dropped)
	}
	return err
}
