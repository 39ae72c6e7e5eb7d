package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// Model is the load model.
type Model int

// The load models.
const (
	Closed Model = iota // N VUs loop over iterations
	Open                // iterations arrive at a rate
)

func (m Model) String() string {
	if m == Open {
		return "open"
	}
	return "closed"
}

// Defaults.
const (
	// DefaultTimeout bounds each request and, in the open model, how long a
	// due iteration may wait for a free VU before it is dropped.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxVUsFloor is the least default open-model VU cap.
	DefaultMaxVUsFloor = 100
	// DefaultMaxVUsCeiling caps the default open-model VU pool.
	DefaultMaxVUsCeiling = 20000
	// MaxVUs is the most virtual users one run may ask for (closed-model
	// VUs, a stage target, the open model's max_vus). A VU costs about 9–12
	// KiB when idle on a connection (100,000 VUs measured at 889 MiB,
	// docs/performance.md): a count above it is a typo or an attack, not a
	// test one generator can run, and is refused before anything is
	// allocated.
	MaxVUs = 100_000
	// MaxRate is the highest open-model rate (iterations/s) a run may ask
	// for: ten times what one core paces (docs/performance.md).
	MaxRate = 1_000_000
	// rampTick is how often the closed model adjusts its VU count to the profile.
	rampTick = 50 * time.Millisecond
)

// Config is one segment's load.
type Config struct {
	Model   Model
	Profile Profile // VUs (closed) or iterations/s (open)
	// MaxVUs caps the open model's VU pool. 0 picks a default large enough
	// for the peak rate with every request taking the whole timeout.
	MaxVUs int
	// Iterations stops the segment after that many iterations; 0 means no limit.
	Iterations int64
	// Timeout is the per-request timeout; in the open model an iteration
	// still waiting for a VU this long after its due time is dropped.
	Timeout time.Duration
	// MaxDuration bounds a run whose profile is unbounded (only Iterations
	// limits it). 0 means one hour, except that a run with neither a
	// profile duration nor Iterations must set it: New refuses an
	// unbounded run.
	MaxDuration time.Duration
	// Stripe is, in the open model, this segment's share of the schedule:
	// Profile is then the whole plan's rate, and the segment runs every
	// Stripe.Count-th iteration of it. The zero Stripe runs them all.
	Stripe Stripe
}

// DefaultMaxVUs is the open-model VU cap used when Config.MaxVUs is 0.
func DefaultMaxVUs(peakRate float64, timeout time.Duration) int {
	n := int(math.Ceil(peakRate * timeout.Seconds()))
	return max(DefaultMaxVUsFloor, min(n, DefaultMaxVUsCeiling))
}

// checkCeilings refuses loads above MaxVUs and MaxRate, and values that
// are not numbers. The front-ends validate the same limits with the field's
// name; this is the engine's own guard.
func (c *Config) checkCeilings() error {
	vals := []float64{c.Profile.Start}
	for _, s := range c.Profile.Stages {
		vals = append(vals, s.Target)
	}
	limit, unit := float64(MaxVUs), "VUs"
	if c.Model == Open {
		limit, unit = MaxRate, "iterations/s"
	}
	for _, v := range vals {
		if math.IsNaN(v) || v < 0 || v > limit {
			return fmt.Errorf("%w: load %v %s is outside 0..%v", ErrBadConfig, v, unit, limit)
		}
	}
	if c.MaxVUs > MaxVUs {
		return fmt.Errorf("%w: max VUs %d above the limit of %d", ErrBadConfig, c.MaxVUs, MaxVUs)
	}
	return nil
}

// Iteration tells a VU about the iteration it runs.
type Iteration struct {
	// Due is when the iteration was due (open model) or started (closed);
	// the first request's latency is measured from it.
	Due time.Time
	// Num numbers the VU's own iterations from 0.
	Num int64
}

// Workload creates the VUs that run iterations.
type Workload interface {
	// NewVU returns VU number id (from 0). hard is cancelled only when the
	// run is aborted; requests should use it, so that a graceful stop lets
	// them finish. Called from the engine's goroutines, possibly concurrently.
	NewVU(hard context.Context, id int) VU
}

// VU runs iterations, one at a time, always from one goroutine.
type VU interface {
	// Iterate runs one iteration and records its requests. ctx is cancelled
	// when the run stops gracefully: the VU should then cut think time short
	// and start no new request. An error wrapping ErrVUDone ends this VU;
	// any other error ends it and is returned by Engine.Run.
	Iterate(ctx context.Context, it Iteration) error
}

// ErrVUDone, returned (wrapped) by Iterate before the iteration did
// anything, says that this VU has no more work — e.g. a unique data source
// has no row left for it. The VU ends without failing the run and no new VU
// is started in its place; when no VU is left, the segment ends normally.
var ErrVUDone = errors.New("virtual user has no more work")

// ErrBadConfig reports an invalid Config.
var ErrBadConfig = errors.New("invalid load configuration")

// Engine runs one segment.
type Engine struct {
	cfg Config
	w   Workload
	rec *metrics.Recorder

	adjust chan float64 // new rate or VU count; buffered 1, latest wins

	offered offered // the open model's due iterations, for DueBy
}

// New returns an Engine; call Run to start it.
func New(cfg Config, w Workload, rec *metrics.Recorder) (*Engine, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Profile.Start < 0 {
		return nil, fmt.Errorf("%w: negative start %v", ErrBadConfig, cfg.Profile.Start)
	}
	if cfg.Profile.Duration() == 0 && cfg.Iterations == 0 && cfg.MaxDuration <= 0 {
		// Every load loop is bounded: by its profile, a budget, or a cap.
		return nil, fmt.Errorf("%w: unbounded run (no duration, iteration budget or MaxDuration)", ErrBadConfig)
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = time.Hour
	}
	if cfg.Model == Open && cfg.MaxVUs <= 0 {
		cfg.MaxVUs = DefaultMaxVUs(cfg.Stripe.share(cfg.Profile.Peak()), cfg.Timeout)
	}
	if err := cfg.checkCeilings(); err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, w: w, rec: rec, adjust: make(chan float64, 1)}, nil
}

// Config returns the engine's effective configuration (defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// Adjust changes the load from now on: the rate (open) or the VU count
// (closed), held for the rest of the planned duration. It never blocks.
func (e *Engine) Adjust(v float64) {
	for {
		select {
		case e.adjust <- v:
			return
		default:
			select { // replace a pending adjustment with this newer one
			case <-e.adjust:
			default:
			}
		}
	}
}

// Run runs the segment from start (the common start time of all segments)
// until its profile or iteration budget is done or ctx is cancelled, then
// waits for iterations in flight.
func (e *Engine) Run(ctx context.Context, start time.Time) error {
	// hard is cancelled only if in-flight work outlives the grace period.
	hard, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	end := e.cfg.Profile.Duration()
	if end == 0 {
		end = e.cfg.MaxDuration
	}
	soft, stop := context.WithDeadline(ctx, start.Add(end))
	defer stop()
	go func() {
		// After a graceful stop, in-flight requests end by their timeout; a
		// little slack covers reading what they already got.
		select {
		case <-soft.Done():
		case <-hard.Done():
			return
		}
		t := time.NewTimer(e.cfg.Timeout + time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			abort()
		case <-hard.Done():
		}
	}()
	if wait := time.Until(start); wait > 0 {
		select {
		case <-time.After(wait):
		case <-soft.Done():
			return nil
		}
	}
	if e.cfg.Model == Open {
		return e.runOpen(ctx, soft, stop, hard, start)
	}
	return e.runClosed(soft, stop, hard, start)
}
