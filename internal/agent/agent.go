package agent

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/workload"
)

// Segment is the work an agent is given.
type Segment struct {
	Plan     scenario.Plan // this agent's share of the load
	Start    time.Time     // common start time of every segment
	Interval time.Duration // snapshot interval
}

// An Agent runs segments. Run is called once per run; emit is called from
// one goroutine, once per interval, in order, and once more for the last,
// partial interval. Adjust may be called concurrently with Run.
type Agent interface {
	Run(ctx context.Context, seg Segment, emit func(metrics.Snapshot)) error
	Adjust(v float64)
	Name() string
}

// Local runs segments in this process.
type Local struct {
	mu      sync.Mutex
	eng     *engine.Engine // set while Run runs
	pending *float64       // an adjustment made before the engine started
}

// NewLocal returns an in-process agent.
func NewLocal() *Local { return &Local{} }

var _ Agent = (*Local)(nil)

// Name implements Agent.
func (a *Local) Name() string { return "local" }

// Adjust implements Agent: the new rate or VU count for this segment.
func (a *Local) Adjust(v float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.eng == nil {
		a.pending = &v
		return
	}
	a.eng.Adjust(v)
}

// Run implements Agent.
func (a *Local) Run(ctx context.Context, seg Segment, emit func(metrics.Snapshot)) error {
	prog, err := workload.Compile(seg.Plan)
	if err != nil {
		return fmt.Errorf("compiling plan: %w", err)
	}
	l := seg.Plan.Load
	maxVUs := l.MaxVUs
	if l.Model == engine.Open && maxVUs == 0 {
		peak := l.Profile().Peak()
		if l.Stripe.Count > 1 {
			peak /= float64(l.Stripe.Count) // this segment's share of the rate
		}
		maxVUs = engine.DefaultMaxVUs(peak, seg.Plan.Timeout)
	}
	idle := int(l.Profile().Peak())
	if l.Model == engine.Open {
		idle = maxVUs
	}
	client := surgehttp.NewClient(surgehttp.Options{IdleConnsPerHost: max(idle, 1), Insecure: seg.Plan.Insecure,
		HTTP2: seg.Plan.HTTP == 2, HTTP1: seg.Plan.HTTP == 1})
	defer client.Close()
	rec := metrics.NewRecorder(seg.Start, prog.Endpoints(), prog.Checks())
	// Flow durations and polls are recorded beside the requests and taken
	// with them in each snapshot, so an interval's flows are its own.
	flows, polls := metrics.NewFlowRecorder(prog.Flows()), metrics.NewFlowRecorder(prog.Polls())
	eng, err := engine.New(engine.Config{
		Model: l.Model, Profile: l.Profile(), MaxVUs: maxVUs, Iterations: l.Iterations,
		Timeout: seg.Plan.Timeout, MaxDuration: scenario.DefaultBudgetDuration, Stripe: l.Stripe,
	}, prog.Workload(client, rec, workload.WithFlows(flows), workload.WithPolls(polls)), rec)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.eng = eng
	if a.pending != nil {
		eng.Adjust(*a.pending)
	}
	a.mu.Unlock()

	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, seg.Start) }()

	cpu, sched, wait := NewCPUMeter(), NewSchedMeter(), NewWaitMeter()
	var due int64 // iterations due before the last snapshot's end (open model)
	snapshot := func(at time.Time) metrics.Snapshot {
		s := rec.Snapshot(at)
		s.Flows, s.Polls = flows.Snapshot(), polls.Snapshot()
		s.GeneratorCPU, s.GeneratorSched, s.GeneratorWait = cpu.Cores(at), sched.Latencies(), wait.Cores(at)
		d := eng.DueBy(at)
		s.Due, due = d-due, d
		return s
	}
	next := seg.Start.Add(seg.Interval)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case err := <-done:
			a.mu.Lock()
			a.eng = nil
			a.mu.Unlock()
			// An engine that ends at an interval's end (a duration of whole
			// intervals ends there) may be seen before the timer: that
			// interval is whole, and goes out as such before the last,
			// partial one, as on other agents whose timer came first;
			// otherwise the merged interval would end after the next began.
			now := metrics.Now(seg.Start)
			for !now.Before(next) {
				emit(snapshot(next))
				next = next.Add(seg.Interval)
			}
			emit(snapshot(now))
			return err
		case <-timer.C:
			emit(snapshot(next))
			next = next.Add(seg.Interval)
			timer.Reset(time.Until(next))
		}
	}
}

// CPUMeter measures the CPU this process used between readings, in
// cores: what an agent reports as its generator CPU and in heartbeats.
type CPUMeter struct {
	last time.Time
	used time.Duration
}

// NewCPUMeter starts measuring from now.
func NewCPUMeter() *CPUMeter { return &CPUMeter{last: time.Now(), used: processCPU()} }

// Cores is the CPU used since the last reading (or NewCPUMeter), in cores.
func (m *CPUMeter) Cores(now time.Time) float64 {
	used := processCPU()
	wall := now.Sub(m.last)
	c := 0.0
	if wall > 0 {
		c = float64(used-m.used) / float64(wall)
	}
	m.last, m.used = now, used
	return c
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
