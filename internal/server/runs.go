package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/surgeload/surge/internal/compare"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/store"
)

// runInfo is a run as the API lists it.
type runInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Model   string `json:"model"`
	Source  string `json:"source"` // server or cli
	Kind    string `json:"kind"`   // load or capacity
	Started string `json:"started"`
	Ended   string `json:"ended,omitempty"`
	Error   string `json:"error,omitempty"`
	// The summary's headline so far: totals.requests, totals.rps,
	// totals.error_rate (percent) and latency_ms.p99.
	Requests  int64   `json:"requests"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"error_rate"`
	P99       float64 `json:"p99_ms"`
	// Load is the offered load in the CLI's words ("open · 200/s · 30s").
	Load string `json:"load"`
	// Passed: every threshold held (true), one failed (false), or the run
	// has no thresholds or no summary yet (null).
	Passed *bool `json:"passed"`
	// Capacity is a capacity search's headline (capacity.go); absent for
	// a load test.
	Capacity *capacityHeadline `json:"capacity,omitempty"`
}

// runDetail is GET /api/v1/runs/{id}.
type runDetail struct {
	runInfo
	Plan    json.RawMessage `json:"plan"`
	Request json.RawMessage `json:"request,omitempty"`
	Events  []store.Event   `json:"events"`
	// Control says what PATCH takes while the run runs: "rate" or "vus";
	// empty when the server cannot change its load (a recorded run).
	Control string `json:"control,omitempty"`
}

func info(r store.Run) runInfo {
	i := runInfo{ID: r.ID, Name: r.Name, Status: string(r.Status), Model: r.Model, Source: r.Source, Kind: r.Kind,
		Started: r.Started.Format(time.RFC3339Nano), Error: r.Error,
		Requests: r.Figures.Requests, RPS: r.Figures.RPS, ErrorRate: r.Figures.ErrorRate, P99: r.Figures.P99,
		Passed: r.Figures.Passed}
	if l, ok := planLoad(r.Plan); ok {
		i.Load = compare.LoadText(l)
	}
	if !r.Ended.IsZero() {
		i.Ended = r.Ended.Format(time.RFC3339Nano)
	}
	return i
}

// storeError maps the store's sentinels to API errors.
func storeError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Msg: err.Error()}
	case errors.Is(err, store.ErrNotRunning):
		return &apiError{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, store.ErrWrite):
		return &apiError{Status: http.StatusServiceUnavailable, Msg: err.Error() + ": free space in the data directory"}
	}
	return err
}

// handleList: GET /api/v1/runs[?limit=N]
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, r, badRequest("limit", "limit: want a number ≥ 0, got %q", v))
			return
		}
		limit = n
	}
	runs, err := s.st.List(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]runInfo, len(runs))
	for i, run := range runs {
		out[i] = info(s.overlay(run))
	}
	if err := s.addCapacityHeadlines(r.Context(), out); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (s *Server) detail(ctx context.Context, id string) (runDetail, error) {
	run, err := s.st.Get(ctx, id)
	if err != nil {
		return runDetail{}, storeError(err)
	}
	ev, err := s.st.Events(ctx, id)
	if err != nil {
		return runDetail{}, err
	}
	run = s.overlay(run)
	d := runDetail{runInfo: info(run), Plan: servedPlan(run.Plan), Request: run.Request, Events: ev}
	s.mu.Lock()
	if a := s.active; a != nil && a.id == id && a.search == nil {
		d.Control = a.control()
	}
	s.mu.Unlock()
	if d.Control == "" && run.Status == store.Running {
		// A CLI-recorded run whose surge run takes control from here.
		if r := s.remote.get(id); r != nil {
			d.Control = "vus"
			if r.model == engine.Open {
				d.Control = "rate"
			}
		}
	}
	return d, nil
}

// handleGet: GET /api/v1/runs/{id}
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	d, err := s.detail(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// handleDelete: DELETE /api/v1/runs/{id} removes a run that has ended.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.unrecordedEnd(id) != nil {
		// Its end must be written before it can go.
		s.recordEnds(r.Context())
		if s.unrecordedEnd(id) != nil {
			s.fail(w, r, &apiError{Status: http.StatusServiceUnavailable,
				Msg: "run " + id + " has ended but the run store cannot write yet, so it cannot be deleted: free space in the data directory and try again"})
			return
		}
	}
	err := s.st.Delete(r.Context(), id)
	s.noteWrite(err)
	s.rebuilt.forget(id)
	if err != nil {
		s.fail(w, r, storeError(err))
		return
	}
	s.hub.publish("", newEvent("deleted", map[string]string{"id": id}))
	w.WriteHeader(http.StatusNoContent)
}

// summary is a run's summary as served: the stored one, with an empty but
// well-formed body for a run that has no interval yet.
func (s *Server) summary(ctx context.Context, id string) (report.Summary, error) {
	sum, ok, err := s.st.Summary(ctx, id)
	if err != nil {
		return sum, storeError(err)
	}
	if !ok {
		run, err := s.st.Get(ctx, id)
		if err != nil {
			return sum, storeError(err)
		}
		sum = emptySummary(run, sum.Timeline)
	}
	if e := s.unrecordedEnd(id); e != nil {
		sum.Run.Status = string(e.status)
	}
	return sum, nil
}

func emptySummary(run store.Run, timeline []report.Point) report.Summary {
	errs := map[string]int64{}
	for _, c := range metrics.ErrorClasses() {
		errs[c.String()] = 0
	}
	if timeline == nil {
		timeline = []report.Point{}
	}
	return report.Summary{
		Schema: report.Schema,
		Run: report.Run{ID: run.ID, Name: run.Name, Started: run.Started.Format(time.RFC3339Nano),
			Model: run.Model, Status: string(run.Status)},
		Errors: errs, Messages: []report.ErrorMessage{}, Endpoints: []report.EndpointSummary{},
		Checks: []report.CheckSummary{}, Thresholds: []report.ThresholdOutcome{}, Timeline: timeline,
		Generator: report.Generator{Warnings: []string{}, Reasons: []string{}}, Events: []report.Event{},
		Flows: []report.FlowSummary{}, Polls: []report.PollSummary{},
	}
}

// handleSummary: GET /api/v1/runs/{id}/summary[?from=S&to=S] (servedSummary)
func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	if s.serveCapacity(w, r) {
		return
	}
	sum, err := s.servedSummary(r.Context(), r.PathValue("id"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &sum)
}

// handleTimeline: GET /api/v1/runs/{id}/timeline
func (s *Server) handleTimeline(w http.ResponseWriter, r *http.Request) {
	points, err := s.st.Timeline(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, storeError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"points": points})
}

// handleReport: GET /api/v1/runs/{id}/report?format=json|csv|html[&from=S&to=S]
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	if s.reportCapacity(w, r) {
		return
	}
	id := r.PathValue("id")
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	var write func(*bytes.Buffer, *report.Summary) error
	var ctype string
	switch format {
	case "json":
		write, ctype = func(b *bytes.Buffer, s *report.Summary) error { return report.WriteJSON(b, s) }, "application/json; charset=utf-8"
	case "csv":
		write, ctype = func(b *bytes.Buffer, s *report.Summary) error { return report.WriteCSV(b, s) }, "text/csv; charset=utf-8"
	case "html":
		write, ctype = func(b *bytes.Buffer, s *report.Summary) error { return report.WriteHTML(b, s) }, "text/html; charset=utf-8"
	default:
		s.fail(w, r, badRequest("format", "format: want json, csv or html, got %q", format))
		return
	}
	sum, err := s.servedSummary(r.Context(), id, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := write(&buf, &sum); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="surge-%s.%s"`, safeName(id), format))
	if format == "html" {
		// The report is a self-contained page with inline script; let it
		// run when opened from here, but nothing else.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// safeName keeps an id usable in a file name.
func safeName(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// runState is a run with its summary so far: what a live stream starts
// with and ends with.
type runState struct {
	Run     runDetail      `json:"run"`
	Summary report.Summary `json:"summary"`
	// Capacity is a capacity search's result so far (capacity.go).
	Capacity *servedCapacity `json:"capacity,omitempty"`
}

func (s *Server) state(ctx context.Context, id string) (runState, error) {
	d, err := s.detail(ctx, id)
	if err != nil {
		return runState{}, err
	}
	sum, err := s.summary(ctx, id)
	if err != nil {
		return runState{}, err
	}
	st := runState{Run: d, Summary: sum}
	if d.Kind == store.KindCapacity {
		if st.Capacity, err = s.capacityResult(ctx, id); err != nil {
			return runState{}, err
		}
	}
	return st, nil
}
