package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/store"
)

// Window selects the intervals of a run by their end, in seconds since the
// run's start (a timeline point's "elapsed"): those ending after From and
// at or before To. The zero Window is the whole run.
type Window struct {
	From, To float64 // To == 0: to the end
}

func (w Window) whole() bool { return w.From == 0 && w.To == 0 }

// windowSlack absorbs the rounding of elapsed times to milliseconds.
const windowSlack = 0.0005

func (w Window) holds(elapsed float64) bool {
	return elapsed > w.From+windowSlack && (w.To == 0 || elapsed <= w.To+windowSlack)
}

// ErrNoSnapshots: a run has intervals without a stored snapshot (recorded
// by a surge older than snapshots, or intervals a recorder could not send),
// so no summary can be built from them alone.
var ErrNoSnapshots = errors.New("the run's intervals were not all stored as snapshots")

// errEmptyWindow: no interval of the run ends in the window asked for.
var errEmptyWindow = errors.New("no interval of the run ends in the window")

// StoredSummary builds run id's summary from its stored snapshots, with
// report.Build on a controller.Result assembled from them, exactly as the
// end of a run builds it from the live ones: counts add up exactly, and
// percentiles come from the merged sketches (never averaged), over the
// whole run or over window w. What snapshots do not hold comes from the
// run's record: the plan, the status, and from its stored summary the
// generator's cores and the run's events.
//
// A window's summary is that span's as if it were a run of its own: its
// start and end are the first and last selected intervals' bounds, its
// rates are over that span and its timeline's elapsed times count from its
// start; its monitors are the samples sent within its bounds (the
// snapshots carry them), and on a run of agents its agents' rows are their
// parts of its intervals. It fails with ErrNoSnapshots when an interval of
// the run has no snapshot, and with store.ErrTooManySnapshots beyond
// store.MaxSnapshotsRead.
func StoredSummary(ctx context.Context, st *store.Store, id string, w Window) (report.Summary, error) {
	run, err := st.Get(ctx, id)
	if err != nil {
		return report.Summary{}, err
	}
	n, points, err := st.SnapshotCount(ctx, id)
	if err != nil {
		return report.Summary{}, err
	}
	if n == 0 || n < points {
		return report.Summary{}, fmt.Errorf("summary of %s: %w (%d of %d)", id, ErrNoSnapshots, n, points)
	}
	stored, _, err := st.Summary(ctx, id)
	if err != nil {
		return report.Summary{}, err
	}
	snaps, err := st.Snapshots(ctx, id, 0, -1)
	if err != nil {
		return report.Summary{}, err
	}
	var plan scenario.Plan
	if err := json.Unmarshal(run.Plan, &plan); err != nil {
		return report.Summary{}, fmt.Errorf("summary of %s: reading its plan: %w", id, err)
	}
	// The samples are read apart, one interval at a time (store.Snapshots
	// leaves them out): a long monitored run's would not fit beside its
	// snapshots.
	samples := func(from, to int, yield func(metrics.MonitorSample) error) error {
		return st.MonitorSamples(ctx, id, from, to, yield)
	}
	sum, err := buildFromSnapshots(run, plan, stored, snaps, w, samples)
	if err != nil {
		return report.Summary{}, fmt.Errorf("summary of %s: %w", id, err)
	}
	return sum, nil
}

// sampleSource hands yield the monitor samples stored with the intervals
// whose seq is in [from, to) (to < 0: to the end), in the order they came.
type sampleSource func(from, to int, yield func(metrics.MonitorSample) error) error

// buildFromSnapshots is StoredSummary once the snapshots are read.
func buildFromSnapshots(run store.Run, plan scenario.Plan, stored report.Summary, snaps []metrics.Snapshot, w Window, samples sampleSource) (report.Summary, error) {
	first := snaps[0]
	// Where interval 0 began, as the Tracker finds it.
	start := first.Start.Add(-time.Duration(first.Seq) * first.Duration())
	if !w.whole() {
		var sel []metrics.Snapshot
		for _, s := range snaps {
			if w.holds(s.End.Sub(start).Seconds()) {
				sel = append(sel, s)
			}
		}
		if len(sel) == 0 {
			return report.Summary{}, fmt.Errorf("%w (%gs, %gs]", errEmptyWindow, w.From, w.To)
		}
		snaps, start = sel, sel[0].Start
	}
	res := &controller.Result{Plan: plan, Started: start, Ended: snaps[len(snaps)-1].End,
		Timeline: snaps, Total: metrics.Add(snaps...)}
	for _, e := range stored.Events {
		at, err := time.Parse(time.RFC3339Nano, e.T)
		if err != nil || !w.whole() && (at.Before(res.Started) || at.After(res.Ended)) {
			continue
		}
		res.Events = append(res.Events, controller.Event{At: at, Kind: e.Kind, Value: e.Value, Detail: e.Detail})
	}
	if run.Status == store.Stopped {
		res.Stopped = errors.New(run.Error)
	}
	if !w.whole() && len(stored.Agents) > 0 {
		// The merged snapshots keep each agent's part of them: the
		// window's rows are the agents' own figures over its intervals.
		res.Agents = agentResults(plan.Load.Model, snaps, stored.Agents, res.Ended)
	}
	sum := report.Build(run.ID, res, stored.Generator.Cores)
	if w.whole() {
		// The summary recorded at the run's end holds what the run itself
		// said of its monitors (with the scrapes before its first and after
		// its last interval) and of its agents (from snapshots no merge
		// touched). An interrupted run has no such summary, only the last
		// one so far (whose monitors a recorder trims): its monitors are
		// the stored samples'.
		if len(plan.Monitors) > 0 && (run.Status == store.Interrupted || len(stored.Monitors) == 0) {
			mons, ok, err := report.FoldSamples(plan.Monitors, time.Time{}, time.Time{}, func(yield func(metrics.MonitorSample) error) error {
				return samples(0, -1, yield)
			})
			if err != nil {
				return report.Summary{}, err
			}
			if ok {
				keepDroppedNames(mons, stored.Monitors)
				report.AddMonitors(&sum, res, mons)
			}
		} else {
			report.CarryMonitors(&sum, &stored)
		}
		report.CarryAgents(&sum, &stored)
	} else if len(plan.Monitors) > 0 {
		// Every stored sample sent within the window's bounds, wherever
		// it travelled: one sent late in the window's last interval comes
		// with a later snapshot (the next, unless scrapes stalled).
		lo, hi := snaps[0].Seq, snaps[len(snaps)-1].Seq
		mons, ok, err := report.FoldSamples(plan.Monitors, res.Started, res.Ended, func(yield func(metrics.MonitorSample) error) error {
			return samples(lo, hi+1+lateSnapshots, yield)
		})
		if err != nil {
			return report.Summary{}, err
		}
		if ok {
			keepDroppedNames(mons, stored.Monitors)
			report.AddMonitors(&sum, res, mons)
		}
	}
	sum.Run.Status = string(run.Status)
	return sum, nil
}

// lateSnapshots is how many snapshots after a window's last one are read
// for samples sent in it: a scrape lasts at most one interval, so its
// sample comes before the next snapshot but one is taken.
const lateSnapshots = 2

// keepDroppedNames gives the monitors that dropped series in a window the
// names the run's summary lists (samples count what they dropped, not
// which).
func keepDroppedNames(mons []report.MonitorData, run []report.MonitorSummary) {
	for i := range mons {
		for _, r := range run {
			if r.Name == mons[i].Name && mons[i].Stats.DroppedSeries > 0 {
				mons[i].Stats.DroppedNames = r.DroppedNames
			}
		}
	}
}

// agentResults adds up each agent's parts of snaps (metrics.Snapshot.
// Agents) into its figures over them, judged by the rules the controller
// judges a whole run with (controller.LimitReasons): the agents of rows
// (a stored summary's, in its order), or, when rows is nil, every agent
// in the order they first come. An agent is lost when its row says it
// was by end.
func agentResults(model engine.Model, snaps []metrics.Snapshot, rows []report.AgentSummary, end time.Time) []controller.AgentResult {
	type acc struct {
		r controller.AgentResult
		t controller.Tally
	}
	var order []string
	by := map[string]*acc{}
	get := func(name string) *acc {
		a := by[name]
		if a == nil {
			a = &acc{r: controller.AgentResult{Name: name}, t: controller.Tally{Lag: metrics.NewSketch()}}
			by[name] = a
			order = append(order, name)
		}
		return a
	}
	for _, r := range rows {
		a := get(r.Name)
		if t, err := time.Parse(time.RFC3339Nano, r.LostAt); r.Lost && err == nil && !t.After(end) {
			a.r.Lost, a.r.LostAt = true, t
		}
	}
	for i := range snaps {
		for j := range snaps[i].Agents {
			p := &snaps[i].Agents[j]
			if rows != nil && by[p.Name] == nil {
				continue // not an agent of the run's summary
			}
			a := get(p.Name)
			r := &a.r
			r.Requests += p.Requests
			r.Errors += p.Errors
			r.Iterations += p.Iterations
			r.Dropped += p.Dropped
			r.Due += p.Due
			r.Intervals += p.Intervals
			r.Cores = max(r.Cores, p.Cores)
			r.CPUMax = max(r.CPUMax, p.GeneratorCPU)
			if p.Cores > 0 && p.GeneratorCPU >= controller.CPUBusyFrac*float64(p.Cores) {
				a.t.Busy++
			}
			if p.Lag != nil {
				a.t.Lag.MergeFrom(p.Lag)
			}
			a.t.SchedCount += p.SchedCount
			a.t.SchedLate += p.SchedLate
		}
	}
	out := make([]controller.AgentResult, 0, len(order))
	for _, name := range order {
		a := by[name]
		a.t.Dropped, a.t.Intervals = a.r.Dropped, a.r.Intervals
		a.r.Reasons = controller.LimitReasons(model, a.t)
		if a.t.Lag.Count() > 0 {
			a.r.StartLagP99 = a.t.Lag.Quantile(0.99)
		}
		a.r.Limited = len(a.r.Reasons) > 0
		out = append(out, a.r)
	}
	return out
}

// windowQuery reads ?from=S&to=S (seconds since the run's start).
func windowQuery(q url.Values) (Window, error) {
	var w Window
	for _, f := range []struct {
		name string
		v    *float64
	}{{"from", &w.From}, {"to", &w.To}} {
		s := q.Get(f.name)
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return w, badRequest(f.name, "%s: want seconds since the run's start (a number ≥ 0), got %q", f.name, s)
		}
		*f.v = v
	}
	if w.To != 0 && w.To <= w.From {
		return w, badRequest("to", "to: want a time after from (%g), got %g", w.From, w.To)
	}
	return w, nil
}

// servedSummary is a run's summary as GET …/summary and …/report serve it.
// A window is always built from the stored snapshots. The whole run's is
// too once the run has ended and every interval has its snapshot; before
// that, or for runs recorded without snapshots, it is the summary stored
// as the run went.
func (s *Server) servedSummary(ctx context.Context, id string, q url.Values) (report.Summary, error) {
	w, err := windowQuery(q)
	if err != nil {
		return report.Summary{}, err
	}
	if w.whole() {
		run, err := s.st.Get(ctx, id)
		if err != nil {
			return report.Summary{}, storeError(err)
		}
		if run.Status == store.Running || s.unrecordedEnd(id) != nil {
			return s.summary(ctx, id)
		}
		if sum, ok := s.rebuilt.get(id); ok {
			return sum, nil
		}
		sum, err := StoredSummary(ctx, s.st, id, w)
		if err != nil {
			if !errors.Is(err, ErrNoSnapshots) {
				s.log.Warn("building a summary from stored snapshots: serving the stored summary", "run", id, "err", err)
			}
			return s.summary(ctx, id)
		}
		s.rebuilt.put(id, sum)
		return sum, nil
	}
	sum, err := StoredSummary(ctx, s.st, id, w)
	switch {
	case errors.Is(err, ErrNoSnapshots):
		return sum, &apiError{Status: http.StatusConflict, Msg: err.Error() + ": a window needs them (recorded by an older surge run --server?)"}
	case errors.Is(err, store.ErrTooManySnapshots):
		return sum, badRequest("to", "%v: ask for a shorter window", err)
	case errors.Is(err, errEmptyWindow):
		return sum, badRequest("from", "%v", err)
	}
	return sum, storeError(err)
}

// rebuiltCap is how many ended runs' rebuilt summaries the server keeps:
// an ended run never changes, and rebuilding a long one decodes every
// interval's snapshot (a six-hour run: about a second and hundreds of MB).
const rebuiltCap = 32

// summaryCache keeps the whole-run summaries rebuilt from stored
// snapshots. Safe for concurrent use; the zero value is ready.
type summaryCache struct {
	mu sync.Mutex
	m  map[string]report.Summary
}

func (c *summaryCache) get(id string) (report.Summary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum, ok := c.m[id]
	return sum, ok
}

func (c *summaryCache) put(id string, sum report.Summary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]report.Summary)
	}
	if len(c.m) >= rebuiltCap {
		for k := range c.m { // any one: they are cheap to rebuild once
			delete(c.m, k)
			break
		}
	}
	c.m[id] = sum
}

func (c *summaryCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
