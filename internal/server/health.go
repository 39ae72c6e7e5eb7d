package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/store"
)

// When the store cannot write (a full disk, a quota), a run that is
// measured but not recorded is load sent for nothing: the server stops a
// run whose data it cannot write, marks it failed with the reason, and
// starts no run until a write works again. A run's end that cannot be
// written is kept in memory (s.unrecorded), shown by the API as it is,
// and written by the janitor once the store has room.

// ending is how one of the server's own runs ended, kept until the store
// has it.
type ending struct {
	status store.Status
	why    string
	sum    *report.Summary
	ended  time.Time
}

// noteWrite keeps track of whether the store can write: a write that
// failed with store.ErrWrite says it cannot, any write that worked says it
// can again. Other errors say nothing about the store.
func (s *Server) noteWrite(err error) {
	switch {
	case err == nil:
		s.healthMu.Lock()
		if s.storeErr != nil {
			s.log.Info("the run store can write again")
		}
		s.storeErr = nil
		s.healthMu.Unlock()
	case errors.Is(err, store.ErrWrite):
		s.healthMu.Lock()
		if s.storeErr == nil {
			s.log.Error("the run store cannot write: no run starts until it can", "err", err)
		}
		s.storeErr = err
		s.healthMu.Unlock()
	}
}

// writable returns a 503 while the store cannot write. After a failure it
// tries again (the ends it owes, then a probe) rather than trust an old
// verdict: room may have been made since.
func (s *Server) writable(ctx context.Context) error {
	s.healthMu.Lock()
	failed := s.storeErr != nil
	s.healthMu.Unlock()
	if !failed {
		return nil
	}
	s.recordEnds(ctx)
	err := s.st.Probe(ctx)
	s.noteWrite(err)
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// handleReady answers {"status":"ok"} while the server can do its job,
// and 503 {"status":"store_unwritable"} while its store cannot write: a
// load balancer or a Kubernetes readiness probe then sends no one to a
// server that would refuse every run, while GET /api/v1/health (liveness)
// stays ok, since a restart frees no disk. It asks no credentials, so it
// says no more than that: the reason, with its paths, is in the log and in
// the answer to an authenticated start. Each call while failing tries the
// store again, so the answer turns ok as soon as there is room.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if err := s.writable(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store_unwritable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// unavailable is the answer to a request that needs a write the store
// cannot make.
func unavailable(err error) error {
	return &apiError{Status: http.StatusServiceUnavailable,
		Msg: "the run store cannot write (" + err.Error() + "): a run that cannot be recorded is not started; free space in the data directory and try again"}
}

// finishRun writes how run id ended. When the final summary does not fit,
// the status and reason alone are written (the last interval's summary
// and the timeline so far stay).
func (s *Server) finishRun(ctx context.Context, id string, e *ending) error {
	err := s.st.Finish(ctx, id, e.status, e.why, e.sum)
	if errors.Is(err, store.ErrWrite) && e.sum != nil {
		s.log.Warn("recording the final summary failed: recording the run's end without it", "run", id, "err", err)
		err = s.st.Finish(ctx, id, e.status, e.why, nil)
	}
	s.noteWrite(err)
	return err
}

// recordEnds writes the ends the store could not take when the runs ended.
func (s *Server) recordEnds(ctx context.Context) {
	s.mu.Lock()
	pending := make(map[string]*ending, len(s.unrecorded))
	for id, e := range s.unrecorded {
		pending[id] = e
	}
	s.mu.Unlock()
	for id, e := range pending {
		err := s.finishRun(ctx, id, e)
		if err != nil && !errors.Is(err, store.ErrNotRunning) && !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("recording the end of a run, again", "run", id, "err", err)
			continue
		}
		s.mu.Lock()
		delete(s.unrecorded, id)
		s.mu.Unlock()
		s.log.Info("the end of a run is recorded at last", "run", id, "status", e.status)
		s.ended(id)
	}
}

// overlay shows a run as it is: one whose end the store could not write is
// running in the store, but has ended.
func (s *Server) overlay(r store.Run) store.Run {
	s.mu.Lock()
	e := s.unrecorded[r.ID]
	s.mu.Unlock()
	if e != nil && r.Status == store.Running {
		r.Status, r.Error, r.Ended = e.status, e.why, e.ended
	}
	return r
}

// unrecordedEnd returns how run id ended if the store could not write it.
func (s *Server) unrecordedEnd(id string) *ending {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unrecorded[id]
}
