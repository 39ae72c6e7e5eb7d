package server

import (
	"encoding/json"
	"net/http"

	"github.com/surgeload/surge/internal/compare"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/store"
)

// comparison is GET /api/v1/compare: the two runs as listed and what
// internal/compare says of them.
type comparison struct {
	A runInfo `json:"a"`
	B runInfo `json:"b"`
	compare.Comparison
}

// handleCompare: GET /api/v1/compare?a=ID&b=ID says whether b is better or
// worse than a.
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var runs [2]store.Run
	var sums [2]report.Summary
	var events [2][]store.Event
	for i, key := range []string{"a", "b"} {
		id := q.Get(key)
		if id == "" {
			s.fail(w, r, badRequest(key, "%s: give the id of a run to compare", key))
			return
		}
		run, err := s.st.Get(r.Context(), id)
		if err != nil {
			s.fail(w, r, storeError(err))
			return
		}
		sum, err := s.summary(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ev, err := s.st.Events(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		runs[i], sums[i], events[i] = run, sum, ev
	}
	writeJSON(w, http.StatusOK, comparison{A: info(runs[0]), B: info(runs[1]), Comparison: compare.Compare(compareRun(runs[0], sums[0], events[0]), compareRun(runs[1], sums[1], events[1]))})
}

// compareRun is a stored run as compare reads it.
func compareRun(r store.Run, sum report.Summary, events []store.Event) compare.Run {
	var plan scenario.Plan
	_ = json.Unmarshal(r.Plan, &plan) // a stored plan; zero if unreadable
	cr := compare.Run{Plan: plan, Summary: sum, Running: r.Status == store.Running, Started: r.Started}
	for _, e := range events {
		if e.Kind == "adjust" {
			cr.Adjustments = append(cr.Adjustments, compare.Adjustment{At: e.T, Detail: e.Detail})
		}
	}
	return cr
}
