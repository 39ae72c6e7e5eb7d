package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
)

// DefaultInterval is the snapshot interval.
const DefaultInterval = time.Second

// sinkCloseTimeout bounds how long the end of a run waits for its sinks to
// take what they were sent and close.
const sinkCloseTimeout = time.Minute

// startDelay gives every agent time to prepare before the common start.
const startDelay = 50 * time.Millisecond

// Options configure a run. The zero value runs locally with one agent.
type Options struct {
	Agents   []agent.Agent // nil: one local agent
	Interval time.Duration // 0: DefaultInterval
	Sink     sink.Sink     // receives each merged snapshot; may be nil
	Logger   *slog.Logger  // nil: discard
}

// Result is what a run measured.
type Result struct {
	Plan     scenario.Plan
	Started  time.Time
	Ended    time.Time
	Timeline []metrics.Snapshot // merged, one per interval
	Total    metrics.Snapshot   // every interval added up
	// Stopped is why the run ended early: nil when it ran its course.
	Stopped error
	// Events are the live changes made to the run, in time order: new
	// rates or VU counts, and the stop.
	Events []Event
}

// Event is one live change to a run.
type Event struct {
	At    time.Time
	Kind  string  // EventRate, EventVUs or EventStop
	Value float64 // the new rate or VU count; 0 for a stop
	// Detail says why a run stopped (the stop's cause).
	Detail string
}

// The kinds of Event.
const (
	EventRate = "rate" // the open model's rate changed
	EventVUs  = "vus"  // the closed model's VU count changed
	EventStop = "stop" // the run was stopped before its end
)

// Controller owns one run.
type Controller struct {
	plan   scenario.Plan
	opts   Options
	mu     sync.Mutex
	live   []metrics.Snapshot
	start  time.Time
	agents []agent.Agent
	events []Event // guarded by mu
}

func (c *Controller) event(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

// New returns a controller for p, which must be valid.
func New(p scenario.Plan, o Options) *Controller {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if len(o.Agents) == 0 {
		o.Agents = []agent.Agent{agent.NewLocal()}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Every sink runs on a goroutine of its own: a slow one (a busy disk, a
	// distant server) never stalls the merge, nor the other sinks.
	o.Sink = sink.Detach(o.Sink)
	return &Controller{plan: p, opts: o, agents: o.Agents}
}

// Adjust sets the rate (open model) or VU count (closed) of the running
// run, split across the agents as the plan was.
func (c *Controller) Adjust(v float64) {
	p := c.plan
	p.Load.Rate, p.Load.VUs = v, int(v)
	kind := EventVUs
	if p.Load.Model == engine.Open {
		kind = EventRate
	}
	c.event(Event{At: time.Now(), Kind: kind, Value: v})
	for i, seg := range Split(p, len(c.agents)) {
		if p.Load.Model == engine.Open {
			c.agents[i].Adjust(seg.Load.Rate) // the whole rate: each agent runs its stripe of it
		} else {
			c.agents[i].Adjust(float64(seg.Load.VUs))
		}
	}
}

// Events returns the live changes made to the run so far.
func (c *Controller) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// Live returns the merged snapshots so far and the run's start.
func (c *Controller) Live() ([]metrics.Snapshot, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]metrics.Snapshot(nil), c.live...), c.start
}

// Run runs the plan until it is done or ctx is cancelled (a graceful stop:
// in-flight requests finish), and returns what was measured.
func (c *Controller) Run(ctx context.Context) (*Result, error) {
	start := time.Now().Add(startDelay)
	c.mu.Lock()
	c.start = start
	c.mu.Unlock()
	segs := Split(c.plan, len(c.agents))
	// A stop before the end is an event of the run, at the moment it came.
	stopped := context.AfterFunc(ctx, func() {
		e := Event{At: time.Now(), Kind: EventStop}
		if cause := context.Cause(ctx); cause != nil {
			e.Detail = cause.Error()
		}
		c.event(e)
	})
	defer stopped()

	type part struct {
		agent int
		snap  metrics.Snapshot
	}
	parts := make(chan part, 64) // a few intervals of every agent: merging is fast
	type done struct {
		agent int
		err   error
	}
	errs := make(chan done, len(c.agents))
	for i, a := range c.agents {
		go func() {
			err := a.Run(ctx, agent.Segment{Plan: segs[i], Start: start, Interval: c.opts.Interval},
				func(s metrics.Snapshot) { parts <- part{i, s} })
			if err != nil {
				err = fmt.Errorf("agent %s: %w", a.Name(), err)
			}
			errs <- done{i, err}
		}()
	}

	// Merge by interval number: an interval is complete when every running
	// agent has sent it. An agent's last snapshot is partial and may carry
	// the next number; agents that have finished no longer hold others back.
	pending := map[int][]metrics.Snapshot{}
	lastSeq := make([]int, len(c.agents))
	for i := range lastSeq {
		lastSeq[i] = -1
	}
	finished := make([]bool, len(c.agents))
	running := len(c.agents)
	var runErrs []error
	emitted := -1
	flush := func(final bool) {
		seqs := make([]int, 0, len(pending))
		for s := range pending {
			seqs = append(seqs, s)
		}
		sort.Ints(seqs)
		for _, s := range seqs {
			ready := final
			if !ready {
				ready = true
				for i := range c.agents {
					if lastSeq[i] < s && !finished[i] {
						ready = false
					}
				}
			}
			if !ready {
				return
			}
			merged := metrics.Merge(pending[s]...)
			delete(pending, s)
			if s <= emitted {
				continue
			}
			emitted = s
			c.mu.Lock()
			c.live = append(c.live, merged)
			c.mu.Unlock()
			if c.opts.Sink != nil {
				if err := c.opts.Sink.Consume(ctx, merged); err != nil {
					c.opts.Logger.Warn("sink failed", "err", err)
				}
			}
		}
	}
	receive := func(p part) {
		pending[p.snap.Seq] = append(pending[p.snap.Seq], p.snap)
		lastSeq[p.agent] = p.snap.Seq
	}
	for running > 0 {
		select {
		case p := <-parts:
			receive(p)
			flush(false)
		case d := <-errs:
			// The agent sent its last part before it returned, so that part
			// is buffered already: take it before marking the agent finished.
			for drained := false; !drained; {
				select {
				case p := <-parts:
					receive(p)
				default:
					drained = true
				}
			}
			running--
			finished[d.agent] = true
			if d.err != nil {
				runErrs = append(runErrs, d.err)
			}
			flush(false)
		}
	}
	flush(true)
	if c.opts.Sink != nil {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sinkCloseTimeout)
		err := c.opts.Sink.Close(closeCtx)
		cancel()
		if err != nil {
			c.opts.Logger.Warn("closing sink", "err", err)
		}
	}
	stopped()
	timeline, _ := c.Live()
	events := c.Events()
	res := &Result{Plan: c.plan, Started: start, Ended: time.Now(), Timeline: timeline, Total: metrics.Add(timeline...), Events: events}
	if len(timeline) > 0 {
		res.Ended = timeline[len(timeline)-1].End
	}
	if ctx.Err() != nil {
		res.Stopped = context.Cause(ctx)
	}
	if len(runErrs) > 0 {
		return res, errors.Join(runErrs...)
	}
	return res, nil
}
