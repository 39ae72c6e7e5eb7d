package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/result"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
)

// DefaultInterval is the snapshot interval.
const DefaultInterval = time.Second

// sinkCloseTimeout bounds how long the end of a run waits for its sinks to
// take what they were sent and close.
const sinkCloseTimeout = time.Minute

// The start lead: how far ahead of now the common start is set, so that
// every agent has its segment, and is ready, by then. A local agent needs
// only minStartLead (compiling the plan, its client); a remote one needs
// its segment to cross the network too, and its clock offset is known
// within half a round trip: the lead is minStartLead plus leadRoundTrips
// of the slowest agent's round trip (as its clock handshake measured it),
// at most maxStartLead. On loopback it stays about minStartLead.
const (
	minStartLead   = 50 * time.Millisecond
	leadRoundTrips = 4
	maxStartLead   = 10 * time.Second
)

// A roundTripper is an agent across a network: RoundTrip is the round
// trip to it (remote.Agent: the least of its clock handshake's pings).
type roundTripper interface{ RoundTrip() time.Duration }

// startLead returns the start lead for agents (see minStartLead).
func startLead(agents []agent.Agent) time.Duration {
	var rtt time.Duration
	for _, a := range agents {
		if r, ok := a.(roundTripper); ok {
			rtt = max(rtt, r.RoundTrip())
		}
	}
	return min(minStartLead+leadRoundTrips*rtt, maxStartLead)
}

// Options configure a run. The zero value runs locally with one agent.
type Options struct {
	Agents   []agent.Agent // nil: one local agent
	Interval time.Duration // 0: DefaultInterval
	Sink     sink.Sink     // receives each merged snapshot; may be nil
	Logger   *slog.Logger  // nil: discard
	// OnAgentLoss is what the run does when an agent is lost (its Run
	// returns agent.ErrLost): "" is LossRebalance. See targets for the
	// arithmetic of a rebalance.
	OnAgentLoss LossPolicy
}

// The measurements of a run are pure data of their own (internal/result),
// so that reports and the store read them without the controller.
type (
	// Result is what a run measured: result.Result.
	Result = result.Result
	// Event is one live change to a run: result.Event.
	Event = result.Event
)

// The kinds of Event (result.EventRate, …).
const (
	EventRate      = result.EventRate
	EventVUs       = result.EventVUs
	EventAgentLost = result.EventAgentLost
	EventStop      = result.EventStop
)

// Controller owns one run.
type Controller struct {
	plan   scenario.Plan
	opts   Options
	agents []agent.Agent

	// steer serializes the changes of the agents' loads (Adjust, a
	// rebalance, the profile follower), so that the last computed is the
	// last sent.
	steer sync.Mutex

	started chan struct{}    // closed when start is set
	clock   func() time.Time // reads the start: time.Now (a test steps it)

	mu     sync.Mutex
	live   []metrics.Snapshot
	start  time.Time
	events []Event
	status []agentStatus // per agent
	sent   []float64     // per agent: the load last sent to it; NaN: none
	fixed  bool          // a live Adjust set the load to value
	value  float64
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
	if o.OnAgentLoss == "" {
		o.OnAgentLoss = LossRebalance
	}
	c := &Controller{plan: p, opts: o, agents: o.Agents, started: make(chan struct{}), clock: time.Now,
		status: make([]agentStatus, len(o.Agents)), sent: make([]float64, len(o.Agents))}
	for i := range c.sent {
		c.sent[i] = math.NaN()
	}
	return c
}

// Adjust sets the rate (open model) or VU count (closed) of the running
// run, split across the agents as the plan was. After an agent was lost
// it goes only to the agents left, split as the loss policy says
// (targets).
func (c *Controller) Adjust(v float64) {
	kind := EventVUs
	if c.plan.Load.Model == engine.Open {
		kind = EventRate
	} else {
		v = float64(int(v))
	}
	c.event(Event{At: c.Now(), Kind: kind, Value: v})
	c.mu.Lock()
	c.fixed, c.value = true, v
	c.mu.Unlock()
	c.steerAgents(true)
}

// Now is the present instant on the run's clock (metrics.Now), or the
// wall clock's before Run has set the start. What is timed beside the run
// (its monitors' scrapes) takes this clock, so that its instants and the
// run's compare alike live and once stored.
func (c *Controller) Now() time.Time {
	c.mu.Lock()
	start := c.start
	c.mu.Unlock()
	if start.IsZero() {
		return time.Now()
	}
	return metrics.Now(start)
}

// load is the run's whole load now: the last live Adjust's value, or the
// plan's profile at offset t from the start (in the open model, at the
// middle of the follower's step, so that each step's iterations are the
// ramp's: the integral of a line over a step is its midpoint's value).
// c.mu must be held.
func (c *Controller) load(t time.Duration) float64 {
	if c.fixed {
		return c.value
	}
	prof := c.plan.Load.Profile()
	if c.plan.Load.Model == engine.Open {
		return prof.At(t + followStep/2)
	}
	return math.Round(prof.At(t))
}

// steerAgents sends every running agent its load as targets computes it:
// all of them when force is set (a live Adjust), otherwise only those
// whose load changed since it was last sent (a rebalance, the follower).
func (c *Controller) steerAgents(force bool) {
	c.steer.Lock()
	defer c.steer.Unlock()
	c.mu.Lock()
	var t time.Duration
	if !c.start.IsZero() {
		t = time.Since(c.start)
	}
	want := targets(c.plan.Load.Model, c.load(t), c.status, c.opts.OnAgentLoss)
	var send []int
	for i, v := range want {
		if !math.IsNaN(v) && (force || v != c.sent[i]) {
			c.sent[i] = v
			send = append(send, i)
		}
	}
	c.mu.Unlock()
	for _, i := range send {
		c.agents[i].Adjust(want[i])
	}
}

// followStep is how often, after a rebalance, the controller gives the
// running agents their new shares of a profile that ramps (an agent's
// Adjust holds a value: it cannot scale a ramp).
const followStep = 100 * time.Millisecond

// follow keeps the running agents' loads on the plan's ramping profile
// after a rebalance, until done is closed or a live Adjust fixes the load.
func (c *Controller) follow(done <-chan struct{}) {
	tick := time.NewTicker(followStep)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		fixed := c.fixed
		c.mu.Unlock()
		if fixed {
			return
		}
		c.steerAgents(false)
	}
}

// varies reports whether p's value changes over time.
func varies(p engine.Profile) bool {
	for _, s := range p.Stages {
		if s.Target != p.Start {
			return true
		}
	}
	return false
}

// Events returns the live changes made to the run so far.
func (c *Controller) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// Started is closed once Run has set the run's common start (Live
// returns it), the moment interval 0 begins on every agent.
func (c *Controller) Started() <-chan struct{} { return c.started }

// Live returns the merged snapshots so far and the run's start.
func (c *Controller) Live() ([]metrics.Snapshot, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]metrics.Snapshot(nil), c.live...), c.start
}

// Run runs the plan until it is done or ctx is cancelled (a graceful stop:
// in-flight requests finish), and returns what was measured.
//
// An agent whose Run returns agent.ErrLost is lost: an EventAgentLost is
// recorded, it no longer holds back the merge, and Options.OnAgentLoss
// applies. A run whose agents are all lost returns its Result and an error
// wrapping ErrAllAgentsLost; one aborted by LossAbort returns its Result
// (Stopped says which agent) and that cause as its error.
func (c *Controller) Run(ctx context.Context) (*Result, error) {
	start := c.clock().Add(startLead(c.agents))
	c.mu.Lock()
	c.start = start
	c.mu.Unlock()
	select {
	case <-c.started: // a second Run: start moved on, the channel stays closed
	default:
		close(c.started)
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	segs := Split(c.plan, len(c.agents))
	// A stop before the end is an event of the run, at the moment it came.
	recordStop := sync.OnceFunc(func() {
		e := Event{At: metrics.Now(start), Kind: EventStop}
		if cause := context.Cause(ctx); cause != nil {
			e.Detail = cause.Error()
		}
		c.event(e)
	})
	stopRecorded := make(chan struct{})
	stopped := context.AfterFunc(ctx, func() {
		defer close(stopRecorded)
		recordStop()
	})
	defer stopped()
	following := make(chan struct{}) // closed when the run's agents have all returned
	var followers sync.WaitGroup
	defer followers.Wait()
	defer close(following)

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
	truths := make([]*truth, len(c.agents))
	for i, a := range c.agents {
		truths[i] = newTruth(a)
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
	// the next number; agents that have finished, or were lost, no longer
	// hold others back.
	pending := map[int][]metrics.Snapshot{}
	lastSeq := make([]int, len(c.agents))
	for i := range lastSeq {
		lastSeq[i] = -1
	}
	finished := make([]bool, len(c.agents))
	running, lost := len(c.agents), 0
	var runErrs []error
	emitted := -1
	var seqs []int // pending's keys, in order
	flush := func(final bool) {
		// Every interval up to the lowest that a running agent has sent is
		// complete.
		upTo := math.MaxInt
		for i := range c.agents {
			if !finished[i] {
				upTo = min(upTo, lastSeq[i])
			}
		}
		for len(seqs) > 0 && (final || seqs[0] <= upTo) {
			s := seqs[0]
			seqs = seqs[1:]
			parts := pending[s]
			delete(pending, s)
			if s <= emitted {
				continue // late: that interval went out without this part
			}
			emitted = s
			merged := metrics.Merge(parts...)
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
		s := p.snap.Seq
		if _, ok := pending[s]; !ok {
			k := sort.SearchInts(seqs, s)
			seqs = slices.Insert(seqs, k, s)
		}
		// Named, so that the merged snapshot keeps each agent's part.
		p.snap.Agent, p.snap.AgentCores = c.agents[p.agent].Name(), truths[p.agent].res.Cores
		pending[s] = append(pending[s], p.snap)
		lastSeq[p.agent] = s
		truths[p.agent].add(&p.snap)
	}
	// lose marks agent i lost and applies the loss policy.
	lose := func(i int, err error) {
		at := metrics.Now(start)
		lost++
		truths[i].res.Lost, truths[i].res.LostAt = true, at
		name := c.agents[i].Name()
		c.event(Event{At: at, Kind: EventAgentLost, Value: float64(running), Detail: name})
		c.opts.Logger.Warn("agent lost", "agent", name, "policy", string(c.opts.OnAgentLoss), "running", running, "err", err)
		if running == 0 {
			return // nothing to steer, nothing left to stop
		}
		switch c.opts.OnAgentLoss {
		case LossAbort:
			abort(fmt.Errorf("agent %s lost, run aborted (on agent loss: abort): %w", name, err))
		case LossRebalance:
			c.steerAgents(false)
			if lost == 1 && varies(c.plan.Load.Profile()) {
				followers.Add(1)
				go func() { defer followers.Done(); c.follow(following) }()
			}
		}
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
			isLost := errors.Is(d.err, agent.ErrLost)
			c.mu.Lock()
			c.status[d.agent] = agentDone
			if isLost {
				c.status[d.agent] = agentLost
			}
			c.mu.Unlock()
			switch {
			case isLost:
				lose(d.agent, d.err)
			case d.err != nil:
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
	// The stop, if one came, is recorded before the Result is made. A
	// cancelled context closes its Done channel before it tells the
	// AfterFunc, so the agents may all have returned, and this be reached,
	// before f was started: then stopped() stops it, and the stop is
	// recorded here.
	switch {
	case !stopped():
		<-stopRecorded
	case ctx.Err() != nil:
		recordStop()
	}
	timeline, _ := c.Live()
	events := c.Events()
	res := &Result{Plan: c.plan, Started: start, Ended: metrics.Now(start), Timeline: timeline, Total: metrics.Add(timeline...), Events: events}
	for _, t := range truths {
		res.Agents = append(res.Agents, t.result(c.plan.Load.Model))
	}
	if len(timeline) > 0 {
		res.Ended = timeline[len(timeline)-1].End
	}
	if ctx.Err() != nil {
		res.Stopped = context.Cause(ctx)
	}
	if lost == len(c.agents) {
		runErrs = append(runErrs, fmt.Errorf("%w: %d of %d", ErrAllAgentsLost, lost, len(c.agents)))
	} else if errors.Is(res.Stopped, agent.ErrLost) {
		runErrs = append(runErrs, res.Stopped) // aborted on a loss
	}
	if len(runErrs) > 0 {
		return res, errors.Join(runErrs...)
	}
	return res, nil
}
