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
// start. It fails with ErrNoSnapshots when an interval of the run has no
// snapshot, and with store.ErrTooManySnapshots beyond store.MaxSnapshotsRead.
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
	sum, err := buildFromSnapshots(run, plan, stored, snaps, w)
	if err != nil {
		return report.Summary{}, fmt.Errorf("summary of %s: %w", id, err)
	}
	return sum, nil
}

// buildFromSnapshots is StoredSummary once everything is read.
func buildFromSnapshots(run store.Run, plan scenario.Plan, stored report.Summary, snaps []metrics.Snapshot, w Window) (report.Summary, error) {
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
	sum := report.Build(run.ID, res, stored.Generator.Cores)
	if w.whole() {
		// Monitor data is not in the snapshots yet, and the merged ones
		// cannot be split back into agents: the stored summary holds both.
		report.CarryMonitors(&sum, &stored)
		report.CarryAgents(&sum, &stored)
	}
	sum.Run.Status = string(run.Status)
	return sum, nil
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
