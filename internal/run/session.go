package run

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
)

// ErrStarted is returned by a second Start of a Session.
var ErrStarted = errors.New("run: session already started")

// Options configure a Session. The zero value runs the plan on one
// in-process agent, with no sinks.
type Options struct {
	Agents   []agent.Agent // nil: one in-process agent
	Interval time.Duration // 0: controller.DefaultInterval
	// Sinks receive every merged snapshot, in time order; nil entries are
	// skipped. Each runs on a goroutine of its own (controller.New).
	Sinks  []sink.Sink
	Logger *slog.Logger // nil: discard
	// OnAgentLoss is what the run does when an agent is lost: "" is
	// controller.LossRebalance (the agents left take its share). A run
	// whose agents are all lost ends with an error (Wait) and its data.
	OnAgentLoss controller.LossPolicy
}

// Session is one run of a plan. See the package doc for its contract.
type Session struct {
	plan scenario.Plan
	ctl  *controller.Controller
	done chan struct{} // closed when the run has ended and res, err are set

	mu      sync.Mutex
	started bool
	ctx     context.Context         // the run's; set by Start
	cancel  context.CancelCauseFunc // set by Start
	ended   bool                    // the controller has returned
	res     *controller.Result      // set before done is closed
	err     error

	interval time.Duration
	monitors []*monitorRun // one per plan monitor; monitors.go
	monMu    sync.Mutex    // guards the monitors' folds and pending
	// attach: the run has sinks, and each snapshot they get carries the
	// monitor samples pending since the previous one (monitorSink).
	attach  bool
	pending []metrics.MonitorSample
}

// New returns a session for p, which must be valid. Nothing runs until
// Start.
func New(p scenario.Plan, o Options) *Session {
	var sinks sink.Fanout
	for _, k := range o.Sinks {
		if k != nil {
			sinks = append(sinks, k)
		}
	}
	co := controller.Options{Agents: o.Agents, Interval: o.Interval, Logger: o.Logger, OnAgentLoss: o.OnAgentLoss}
	s := &Session{plan: p, done: make(chan struct{}), interval: o.Interval}
	if len(sinks) > 0 {
		co.Sink = sinks
		if len(p.Monitors) > 0 {
			co.Sink, s.attach = &monitorSink{s: s, next: sinks}, true
		}
	}
	s.ctl = controller.New(p, co)
	if s.interval <= 0 {
		s.interval = controller.DefaultInterval
	}
	s.monitors = newMonitors(p.Monitors, s.ctl.Now, o.Logger)
	return s
}

// Plan is the plan the session runs.
func (s *Session) Plan() scenario.Plan { return s.plan }

// Start starts the run and returns at once. Cancelling ctx stops the run
// gracefully, with ctx's cause.
func (s *Session) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	s.started = true
	runCtx, cancel := context.WithCancelCause(ctx)
	s.ctx, s.cancel = runCtx, cancel
	stopMonitors := s.startMonitors(ctx)
	go func() {
		res, err := s.ctl.Run(runCtx)
		stopMonitors() // before done: Monitors is final once Wait returns
		s.mu.Lock()
		s.res, s.err, s.ended = res, err, true
		s.mu.Unlock()
		cancel(nil) // release the context; Stopped now reads res
		close(s.done)
	}()
	return nil
}

// Adjust sets the rate (open model) or VU count (closed model) of the run.
func (s *Session) Adjust(v float64) { s.ctl.Adjust(v) }

// Stop stops the run gracefully with cause (nil: context.Canceled). Only
// the first cause counts.
func (s *Session) Stop(cause error) {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

// Stopped is why the run was stopped early, or nil while it runs its
// course (and after it ran it). It never blocks, so a sink may call it
// from its Close: a detached sink's context does not carry the cause.
func (s *Session) Stopped() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended:
		if s.res == nil {
			return nil
		}
		return s.res.Stopped
	case s.ctx != nil && s.ctx.Err() != nil:
		return context.Cause(s.ctx)
	}
	return nil
}

// Done is closed when the run has ended and Wait no longer blocks.
func (s *Session) Done() <-chan struct{} { return s.done }

// Wait waits for the run to end and returns what it measured. It must
// follow Start (before it, it would wait forever: it returns ErrNotStarted).
func (s *Session) Wait() (*controller.Result, error) {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil, ErrNotStarted
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res, s.err
}

// ErrNotStarted is returned by Wait on a session that was never started.
var ErrNotStarted = errors.New("run: session not started")

// Live returns the merged snapshots so far and the run's start (zero
// before Start).
func (s *Session) Live() ([]metrics.Snapshot, time.Time) { return s.ctl.Live() }

// Events returns the live changes made to the run so far: adjustments
// and the stop.
func (s *Session) Events() []controller.Event { return s.ctl.Events() }
