package sink

import (
	"context"
	"errors"

	"github.com/surgeload/surge/internal/metrics"
)

// A Sink receives merged snapshots in time order, one call per interval, from
// a single goroutine. Consume must not block for long; a slow sink buffers or
// drops and counts what it dropped.
type Sink interface {
	Consume(ctx context.Context, s metrics.Snapshot) error
	Close(ctx context.Context) error // flushes; called once, after the last Consume
}

// Fanout sends every snapshot to each of its sinks.
type Fanout []Sink

var _ Sink = Fanout(nil)

// Consume implements Sink: every sink sees s even if another fails.
func (f Fanout) Consume(ctx context.Context, s metrics.Snapshot) error {
	var errs []error
	for _, k := range f {
		if err := k.Consume(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close implements Sink.
func (f Fanout) Close(ctx context.Context) error {
	var errs []error
	for _, k := range f {
		if err := k.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Func adapts a function to a Sink with nothing to close.
type Func func(ctx context.Context, s metrics.Snapshot) error

// Consume implements Sink.
func (f Func) Consume(ctx context.Context, s metrics.Snapshot) error { return f(ctx, s) }

// Close implements Sink.
func (f Func) Close(context.Context) error { return nil }
