package server

import (
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// Tracker turns a run's merged snapshots, one per interval, into timeline
// points and the summary so far — what the store keeps and the live view
// shows. The server tracks the runs it starts; `surge run --server` tracks
// its own run and sends what the tracker produces.
//
// A Tracker is not safe for concurrent use: a sink calls it from one
// goroutine.
type Tracker struct {
	id    string
	plan  scenario.Plan
	cores int
	start time.Time
	total metrics.Snapshot   // every interval so far, added up
	snaps []metrics.Snapshot // for Final; nil when not kept
	keep  bool
	seq   int
	// monitors, when set, gives the run's monitor data so far, so that
	// each live interval carries its monitor values (the run page charts
	// them as they come): the server's own runs read their session's.
	monitors func() []report.MonitorData
	// samples folds the monitor samples the snapshots carry, for a run
	// whose session is elsewhere (a `surge run --server`): its live
	// points and summaries so far get their monitors from them. nil
	// until a snapshot carries one.
	samples *report.SampleFolds
}

// NewTracker returns a tracker for run id. cores is the generator's
// GOMAXPROCS, as report.Build takes it.
func NewTracker(id string, plan scenario.Plan, cores int) *Tracker {
	return &Tracker{id: id, plan: plan, cores: cores, keep: true}
}

// newLiveTracker is a Tracker without Final, for a run whose controller
// keeps the snapshots and builds the final summary itself.
func newLiveTracker(id string, plan scenario.Plan, cores int) *Tracker {
	return &Tracker{id: id, plan: plan, cores: cores}
}

// Interval is one tracked interval.
type Interval struct {
	Seq     int            `json:"seq"` // 0 for the first interval
	Point   report.Point   `json:"point"`
	Summary report.Summary `json:"summary"` // so far, without its timeline
	// Snapshot is the interval's merged snapshot, encoded by
	// metrics.EncodeSnapshot (base64 in JSON), which the store keeps so
	// summaries can be rebuilt from it. A `surge run --server` older than
	// snapshots sends none; live events carry none (see live).
	Snapshot []byte `json:"snapshot,omitempty"`
}

// live is iv as the live stream and the live view show it: without the
// encoded snapshot, which only the store reads.
func (iv Interval) live() Interval {
	iv.Snapshot = nil
	return iv
}

// maxLiveSeries bounds the series per monitor in the summaries so far of
// a recorded run (derived series first): 16 monitors of 128 series are
// about 270 KB of JSON in each interval a recorder sends.
const maxLiveSeries = 128

// Add takes the next merged snapshot.
func (t *Tracker) Add(s metrics.Snapshot) Interval {
	if len(s.Agents) == 1 && s.Agents[0].Name == localAgent {
		// A local run's one part repeats the interval: not worth storing,
		// as its summaries have no agents' rows.
		s.Agents = nil
	}
	if t.seq == 0 {
		// The controller's common start is where interval 0 begins.
		t.start = s.Start.Add(-time.Duration(s.Seq) * s.Duration())
		t.total = s
	} else {
		t.total = metrics.Add(t.total, s)
	}
	if t.keep {
		t.snaps = append(t.snaps, s)
	}
	// Build from the running total and this one interval: the totals and
	// percentiles are the whole run's, and the one timeline point is this
	// interval's. Rebuilding every point each second would cost O(n) per
	// interval for nothing.
	res := &controller.Result{
		Plan: t.plan, Started: t.start, Ended: s.End,
		Timeline: []metrics.Snapshot{s}, Total: t.total,
	}
	if total := []metrics.Snapshot{t.total}; agentRows(total) {
		// Each agent's figures so far, from the parts the merged
		// snapshots carry, so the run page shows them live. (A lost agent
		// is marked in the final rows; live, the agents list says so.)
		res.Agents = agentResults(t.plan.Load.Model, total, nil, s.End)
	}
	sum := report.Build(t.id, res, t.cores)
	switch {
	case t.monitors != nil:
		report.AddMonitors(&sum, res, t.monitors())
	case len(s.Monitors) > 0 || t.samples != nil:
		if t.samples == nil {
			t.samples = report.NewSampleFolds(t.plan.Monitors)
		}
		for _, m := range s.Monitors {
			t.samples.Add(m)
		}
		report.AddMonitors(&sum, res, t.samples.Data())
		for i := range sum.Monitors {
			// The summary so far goes with every interval a recorder
			// sends (at most 4 MiB); the final summary lists them all.
			ss := &sum.Monitors[i].Series
			*ss = (*ss)[:min(len(*ss), maxLiveSeries)]
		}
	}
	sum.Run.Status = "running"
	iv := Interval{Seq: t.seq, Summary: sum}
	// Encoding cannot fail for a snapshot a controller made; if it ever
	// did, the interval is still recorded, only without its snapshot, and
	// summaries come from the stored ones (StoredSummary needs them all).
	iv.Snapshot, _ = metrics.EncodeSnapshot(&s)
	if len(sum.Timeline) == 1 {
		iv.Point = sum.Timeline[0]
	}
	iv.Summary.Timeline = nil
	t.seq++
	return iv
}

// Final is the run's summary from every interval tracked, as report.Build
// makes it at the end of a run. stopped says whether the run ended early.
// Only a Tracker made by NewTracker keeps what Final needs.
func (t *Tracker) Final(stopped error) report.Summary {
	res := &controller.Result{Plan: t.plan, Started: t.start, Ended: time.Now(),
		Timeline: t.snaps, Total: metrics.Add(t.snaps...), Stopped: stopped}
	if n := len(t.snaps); n > 0 {
		res.Ended = t.snaps[n-1].End
	} else {
		res.Started = res.Ended
	}
	if agentRows(t.snaps) {
		res.Agents = agentResults(t.plan.Load.Model, t.snaps, nil, res.Ended)
	}
	sum := report.Build(t.id, res, t.cores)
	if t.samples != nil {
		report.AddMonitors(&sum, res, t.samples.Data())
	}
	return sum
}

// agentRows reports whether a run's snapshots come from agents other than
// the one in-process agent of a local run (whose row would repeat the
// totals): the summary then lists each agent's figures.
func agentRows(snaps []metrics.Snapshot) bool {
	names := map[string]bool{}
	for i := range snaps {
		for _, p := range snaps[i].Agents {
			names[p.Name] = true
		}
	}
	return len(names) > 1 || (len(names) == 1 && !names[localAgent])
}

// localAgent is the name of the in-process agent (agent.Local).
var localAgent = agent.NewLocal().Name()
