package controller

import (
	"runtime"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/result"
)

// AgentResult is what one agent of a run did: result.AgentResult.
type AgentResult = result.AgentResult

// The limits and reasons of a limited generator (result.StartLagLimit, …).
const (
	StartLagLimit      = result.StartLagLimit
	CPUBusyFrac        = result.CPUBusyFrac
	ReasonStartLag     = result.ReasonStartLag
	ReasonDropped      = result.ReasonDropped
	ReasonCPU          = result.ReasonCPU
	ReasonSchedLatency = result.ReasonSchedLatency
)

// truth adds up one agent's snapshots as they arrive.
type truth struct {
	res AgentResult
	t   Tally
}

func newTruth(a agent.Agent) *truth {
	t := &truth{res: AgentResult{Name: a.Name()}, t: Tally{Lag: metrics.NewSketch()}}
	switch a := a.(type) {
	case *agent.Local:
		t.res.Local, t.res.Cores = true, runtime.GOMAXPROCS(0)
	case interface{ Cores() int }:
		t.res.Cores = a.Cores()
	}
	return t
}

func (t *truth) add(s *metrics.Snapshot) {
	r := &t.res
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		r.Requests += e.Requests
		r.Errors += e.Errors()
	}
	r.Iterations += s.Iterations
	r.Dropped += s.Dropped
	r.Due += s.Due
	if s.Lag != nil {
		t.t.Lag.MergeFrom(s.Lag)
	}
	if s.GeneratorSched != nil {
		t.t.SchedCount += int64(s.GeneratorSched.Count())
		t.t.SchedLate += int64(s.GeneratorSched.CountAbove(StartLagLimit))
	}
	r.CPUMax = max(r.CPUMax, s.GeneratorCPU)
	if r.Cores > 0 && s.GeneratorCPU >= CPUBusyFrac*float64(r.Cores) {
		t.t.Busy++
	}
	r.Intervals++
}

// result judges the agent's figures.
func (t *truth) result(model engine.Model) AgentResult {
	r := t.res
	tl := t.t
	tl.Dropped, tl.Intervals = r.Dropped, r.Intervals
	r.Reasons = LimitReasons(model, tl)
	if tl.Lag.Count() > 0 {
		r.StartLagP99 = tl.Lag.Quantile(0.99)
	}
	r.Limited = len(r.Reasons) > 0
	return r
}

// Tally is what one agent's figures say of whether it held its share, as
// LimitReasons judges them: added up from its own snapshots (the
// controller, for a run) or from its parts of merged ones (a server, for
// a window of a stored run), so both judge alike.
type Tally struct {
	Lag *metrics.Sketch // its open-model start lag; nil: none recorded
	// SchedCount is how many scheduling latencies it measured, SchedLate
	// how many of them were over StartLagLimit (metrics.AgentPart).
	SchedCount, SchedLate int64
	Dropped               int64
	Busy                  int // its intervals at CPUBusyFrac of its cores or more
	Intervals             int
}

// LimitReasons says why a generator could not hold its plan, by the rules
// the run summary judges a whole run with (result.StartLagLimit): its
// start lag's p99 (open model), its scheduling latencies' p99 (any model),
// its dropped iterations, and in how many of its intervals its CPU was
// busy. The reasons come in the summary's order.
func LimitReasons(model engine.Model, t Tally) []string {
	reasons := []string{}
	if model == engine.Open && t.Lag != nil && t.Lag.Count() > 0 && t.Lag.Quantile(0.99) > StartLagLimit {
		reasons = append(reasons, ReasonStartLag)
	}
	// The p99 is past the limit when the value at rank 0.99·(n−1) is (the
	// sketch's Quantile): when at least 0.01·n + 0.99 of the n are.
	if t.SchedLate > 0 && 100*t.SchedLate >= t.SchedCount+99 {
		reasons = append(reasons, ReasonSchedLatency)
	}
	if t.Dropped > 0 {
		reasons = append(reasons, ReasonDropped)
	}
	if t.Busy > 0 && t.Busy*3 >= t.Intervals {
		reasons = append(reasons, ReasonCPU)
	}
	return reasons
}
