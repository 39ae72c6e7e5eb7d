package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/store"
)

// A recorded run is run by `surge run --server URL` and written here as it
// goes: POST /api/v1/recordings creates it, POST …/intervals adds each
// interval the CLI's Tracker produced, POST …/finish ends it with the final
// summary. A recorder that goes silent for recordLease is taken for dead and
// its run marked interrupted.

// recordRequest is the body of POST /api/v1/recordings.
type recordRequest struct {
	Name    string          `json:"name"`
	Plan    json.RawMessage `json:"plan"`    // the run's plan, as planJSON writes it
	Started time.Time       `json:"started"` // zero: now
	// Control announces a recorder that applies the control handed back in
	// the answers to its intervals, so the dashboard may adjust and stop
	// the run. Older recorders leave it out: their runs answer 409.
	Control bool `json:"control,omitempty"`
}

// handleRecord: POST /api/v1/recordings → 201 {"id"}
func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request) {
	var req recordRequest
	if err := decodeData(w, r, maxBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var plan scenario.Plan
	if err := json.Unmarshal(req.Plan, &plan); err != nil || len(plan.Flows) == 0 {
		s.fail(w, r, badRequest("plan", "plan: want the run's plan, with its flows"))
		return
	}
	if req.Name == "" {
		req.Name = plan.Name
	}
	if req.Started.IsZero() {
		req.Started = time.Now()
	}
	run := store.Run{ID: NewRunID(req.Started), Name: req.Name, Status: store.Running, Source: store.SourceCLI,
		Model: plan.Load.Model.String(), Started: req.Started, Plan: req.Plan}
	err := s.st.Create(r.Context(), run)
	s.noteWrite(err)
	if err != nil {
		s.fail(w, r, storeError(err))
		return
	}
	if req.Control {
		s.remotes().prune(r.Context(), s.st)
		s.remotes().add(run.ID, plan.Load.Model)
	}
	s.log.Info("recording a run from the command line", "run", run.ID, "name", run.Name, "control", req.Control)
	s.hub.publish("", newEvent("run", info(run)))
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, http.StatusCreated, map[string]string{"id": run.ID})
}

// recorded returns run id, or a 409 if it is not a recorded run.
func (s *Server) recorded(ctx context.Context, id string) (store.Run, error) {
	run, err := s.st.Get(ctx, id)
	if err != nil {
		return run, storeError(err)
	}
	if run.Source != store.SourceCLI {
		return run, &apiError{Status: http.StatusConflict, Msg: "run " + id + " is run by this server: it takes no recorded data"}
	}
	return run, nil
}

// handleInterval: POST /api/v1/runs/{id}/intervals {"seq","point","summary","snapshot"};
// snapshot (base64 of metrics.EncodeSnapshot) is absent from older clients.
func (s *Server) handleInterval(w http.ResponseWriter, r *http.Request) {
	var iv Interval
	if err := decodeData(w, r, maxBody, &iv); err != nil {
		s.fail(w, r, err)
		return
	}
	if iv.Seq < 0 {
		s.fail(w, r, badRequest("seq", "seq: want a number ≥ 0, got %d", iv.Seq))
		return
	}
	if iv.Snapshot != nil {
		// Checked here, so the store only keeps snapshots that decode.
		snap, err := metrics.DecodeSnapshot(iv.Snapshot)
		if err == nil && snap.Seq != iv.Seq {
			err = fmt.Errorf("it is interval %d's", snap.Seq)
		}
		if err != nil {
			s.fail(w, r, badRequest("snapshot", "snapshot: %v", err))
			return
		}
	}
	run, err := s.recorded(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	iv.Summary.Run.ID, iv.Summary.Run.Status = run.ID, string(store.Running)
	err = s.st.AppendInterval(r.Context(), run.ID, iv.Seq, iv.Point, &iv.Summary, iv.Snapshot)
	s.noteWrite(err)
	if err != nil {
		s.fail(w, r, storeError(err))
		return
	}
	s.interval(info(run), iv.live())
	// The answer hands a recorder that takes control what the dashboard
	// asked since its last interval; nothing queued answers 204 as before.
	if c, ok := s.remotes().take(run.ID); ok {
		writeJSON(w, http.StatusOK, c)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// finishRequest is the body of POST /api/v1/runs/{id}/finish.
type finishRequest struct {
	Status  store.Status    `json:"status"` // finished, stopped or failed
	Error   string          `json:"error,omitempty"`
	Summary *report.Summary `json:"summary,omitempty"`
}

// handleFinish: POST /api/v1/runs/{id}/finish ends a recorded run.
func (s *Server) handleFinish(w http.ResponseWriter, r *http.Request) {
	var req finishRequest
	if err := decodeData(w, r, maxFinishBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch req.Status {
	case store.Finished, store.Stopped, store.Failed:
	default:
		s.fail(w, r, badRequest("status", "status: want finished, stopped or failed, got %q", req.Status))
		return
	}
	run, err := s.recorded(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Summary != nil {
		req.Summary.Run.ID, req.Summary.Run.Status = run.ID, string(req.Status)
	}
	err = s.st.Finish(r.Context(), run.ID, req.Status, req.Error, req.Summary)
	s.noteWrite(err)
	if err != nil {
		s.fail(w, r, storeError(err))
		return
	}
	s.remotes().end(run.ID)
	s.ended(run.ID)
	d, err := s.detail(r.Context(), run.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
