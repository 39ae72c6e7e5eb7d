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
	StartLagLimit  = result.StartLagLimit
	CPUBusyFrac    = result.CPUBusyFrac
	ReasonStartLag = result.ReasonStartLag
	ReasonDropped  = result.ReasonDropped
	ReasonCPU      = result.ReasonCPU
)

// truth adds up one agent's snapshots as they arrive.
type truth struct {
	res  AgentResult
	lag  *metrics.Sketch
	busy int // intervals at CPUBusyFrac of its cores or more
}

func newTruth(a agent.Agent) *truth {
	t := &truth{res: AgentResult{Name: a.Name()}, lag: metrics.NewSketch()}
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
		t.lag.MergeFrom(s.Lag)
	}
	r.CPUMax = max(r.CPUMax, s.GeneratorCPU)
	if r.Cores > 0 && s.GeneratorCPU >= CPUBusyFrac*float64(r.Cores) {
		t.busy++
	}
	r.Intervals++
}

// result judges the agent's figures.
func (t *truth) result(model engine.Model) AgentResult {
	r := t.res
	r.Reasons = LimitReasons(model, t.lag, r.Dropped, t.busy, r.Intervals)
	if t.lag.Count() > 0 {
		r.StartLagP99 = t.lag.Quantile(0.99)
	}
	r.Limited = len(r.Reasons) > 0
	return r
}

// LimitReasons says why a generator could not hold its plan, by the rules
// above: its start-lag sketch (open model), its dropped iterations, and
// in how many of its intervals its CPU was busy.
func LimitReasons(model engine.Model, lag *metrics.Sketch, dropped int64, busy, intervals int) []string {
	reasons := []string{}
	if model == engine.Open && lag != nil && lag.Count() > 0 && lag.Quantile(0.99) > StartLagLimit {
		reasons = append(reasons, ReasonStartLag)
	}
	if dropped > 0 {
		reasons = append(reasons, ReasonDropped)
	}
	if busy > 0 && busy*3 >= intervals {
		reasons = append(reasons, ReasonCPU)
	}
	return reasons
}
