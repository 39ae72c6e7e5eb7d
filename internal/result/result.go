// Package result holds what a run measured — its merged timeline, its
// totals, its live changes, each agent's own figures — as pure data. The
// controller produces a Result; reports (internal/report), the server's
// history and the Go API read it, without depending on the controller.
package result

import (
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
)

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
	// rates or VU counts, lost agents, and the stop.
	Events []Event
	// Agents is what each agent did, in the order the run was given them (controller.Options.Agents), from
	// its own snapshots: its counts, start lag, CPU, whether it was limited
	// and whether (and when) it was lost.
	Agents []AgentResult
}

// Event is one live change to a run.
type Event struct {
	At    time.Time
	Kind  string  // EventRate, EventVUs, EventAgentLost or EventStop
	Value float64 // the new rate or VU count; the agents still running after a loss; 0 for a stop
	// Detail says why a run stopped (the stop's cause), or names the lost
	// agent.
	Detail string
}

// The kinds of Event.
const (
	EventRate      = "rate"       // the open model's rate changed
	EventVUs       = "vus"        // the closed model's VU count changed
	EventAgentLost = "agent_lost" // an agent was lost (agent.ErrLost); Detail names it
	EventStop      = "stop"       // the run was stopped before its end
)

// AgentResult is what one agent of a run did, computed from its own
// snapshots before they were merged: the generator's truth per agent.
type AgentResult struct {
	Name string
	// Local is true for the in-process agent (agent.Local): a local run
	// is one such agent.
	Local      bool
	Requests   int64 // requests it sent
	Errors     int64 // of which failed
	Iterations int64
	Dropped    int64 // open model: its due iterations that never started
	Due        int64 // open model: the iterations its stripe made due
	// StartLagP99 is the 99th percentile of how late its open-model
	// iterations started after they were due; 0 without any.
	StartLagP99 time.Duration
	CPUMax      float64 // most cores it used in one interval
	// Cores is how many cores it may use (0: unknown, and its CPU is then
	// not judged). An agent reports it with a Cores() int method; the
	// in-process agent has this process's GOMAXPROCS.
	Cores     int
	Intervals int // snapshots it sent
	// Lost is true when its Run returned agent.ErrLost; LostAt is when the
	// controller learnt it.
	Lost   bool
	LostAt time.Time
	// Limited is true when this agent could not hold its share: Reasons
	// says why (ReasonStartLag, ReasonDropped, ReasonCPU).
	Limited bool
	Reasons []string
}

// What makes a generator limited, for one agent or a whole run: start lag
// beyond StartLagLimit at the 99th percentile (open model), any dropped
// iteration, or CPU at CPUBusyFrac of its cores or more in a third of the
// intervals or more; and, for a whole run (the summary's), scheduling
// latency beyond StartLagLimit at the 99th percentile: its goroutines
// waited that long for its own CPU, so it read responses late. CPU wait
// of WaitCores or more in a third of the intervals or more (its threads
// waited for CPUs the OS gave to other processes) is a warning of the
// summary; a capacity step counts it as a limit when a latency objective
// failed.
const (
	StartLagLimit = metrics.LateAfter
	CPUBusyFrac   = 0.9
	WaitCores     = 0.25
)

// The reasons for which a generator is limited.
const (
	ReasonStartLag = "start_lag"          // open-model iterations started late
	ReasonDropped  = "dropped_iterations" // due iterations never started
	ReasonCPU      = "generator_cpu"      // the generator used (nearly) all its cores
	// ReasonSchedLatency: the generator's goroutines waited for its own
	// CPU (metrics.Snapshot.GeneratorSched), so it read responses late and
	// their latencies hold its delay, even with its CPU under CPUBusyFrac.
	ReasonSchedLatency = "sched_latency"
)
