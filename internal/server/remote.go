package server

import (
	"context"
	"sync"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/store"
)

// Control is what the server hands the recorder of a recorded run, in the
// answer to one of its intervals: what the dashboard or the API asked of
// the run since the recorder's last interval. The recorder applies it to
// its run session.
type Control struct {
	// Adjust is the new rate (open model) or VU count (closed model); the
	// last one asked for wins.
	Adjust *float64 `json:"adjust,omitempty"`
	// Stop, when not empty, asks for a graceful stop and says why.
	Stop string `json:"stop,omitempty"`
}

// StopFromDashboard is the reason a recorded run stopped through the API
// is given: the CLI's stop cause and the run's stop event say it.
const StopFromDashboard = "stopped from the dashboard"

// remoteRun is a recorded run whose recorder takes control, and the
// control queued for it.
type remoteRun struct {
	model   engine.Model
	pending Control       // guarded by remoteRuns.mu
	queued  bool          // pending holds something not yet handed out
	done    chan struct{} // closed when the run has finished
}

// remoteRuns are the recorded runs of one Server that take control. The
// zero value is ready.
type remoteRuns struct {
	mu   sync.Mutex
	runs map[string]*remoteRun
}

func (s *Server) remotes() *remoteRuns { return &s.remote }

func (rr *remoteRuns) add(id string, m engine.Model) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.runs == nil {
		rr.runs = map[string]*remoteRun{}
	}
	rr.runs[id] = &remoteRun{model: m, done: make(chan struct{})}
}

// get returns run id if its recorder takes control.
func (rr *remoteRuns) get(id string) *remoteRun {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.runs[id]
}

// queue adds c to what run id's recorder is handed next.
func (rr *remoteRuns) queue(id string, c Control) bool {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	r := rr.runs[id]
	if r == nil {
		return false
	}
	if c.Adjust != nil {
		r.pending.Adjust = c.Adjust
	}
	if c.Stop != "" && r.pending.Stop == "" {
		r.pending.Stop = c.Stop
	}
	r.queued = true
	return true
}

// take returns and clears what is queued for run id.
func (rr *remoteRuns) take(id string) (Control, bool) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	r := rr.runs[id]
	if r == nil || !r.queued {
		return Control{}, false
	}
	c := r.pending
	r.pending, r.queued = Control{}, false
	return c, true
}

// end forgets run id, which has finished, and wakes those waiting for it.
func (rr *remoteRuns) end(id string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if r := rr.runs[id]; r != nil {
		close(r.done)
		delete(rr.runs, id)
	}
}

// prune forgets the runs that are no longer running in st (a recorder that
// went silent is marked interrupted by the janitor, and never finishes).
func (rr *remoteRuns) prune(ctx context.Context, st *store.Store) {
	rr.mu.Lock()
	ids := make([]string, 0, len(rr.runs))
	for id := range rr.runs {
		ids = append(ids, id)
	}
	rr.mu.Unlock()
	for _, id := range ids {
		if run, err := st.Get(ctx, id); err == nil && run.Status != store.Running {
			rr.end(id)
		}
	}
}
