package server

import (
	"encoding/json"
	"net/http"

	"github.com/surgeload/surge/internal/compare"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/store"
)

// capacityComparison is GET /api/v1/compare on capacity searches.
type capacityComparison struct {
	A runInfo `json:"a"`
	B runInfo `json:"b"`
	compare.CapacityComparison
}

// handleCompareAny: GET /api/v1/compare?a=ID&b=ID compares two load tests
// (handleCompare) or two capacity searches; a search and a load test are
// incomparable.
func (s *Server) handleCompareAny(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var runs [2]store.Run
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
		runs[i] = s.overlay(run)
	}
	ka, kb := runs[0].Kind == store.KindCapacity, runs[1].Kind == store.KindCapacity
	if !ka && !kb {
		s.handleCompare(w, r)
		return
	}
	out := capacityComparison{A: info(runs[0]), B: info(runs[1])}
	if ka != kb {
		search := "A"
		if kb {
			search = "B"
		}
		out.CapacityComparison = compare.CapacityComparison{Kind: "capacity", Metrics: []compare.MetricDelta{}, Notes: []compare.Note{},
			Verdict: "incomparable", Reason: "run " + search + " is a capacity search and the other a load test: compare two searches, or two load tests"}
		writeJSON(w, http.StatusOK, out)
		return
	}
	var sides [2]compare.CapacityRun
	for i, run := range runs {
		res, err := s.capacityResult(r.Context(), run.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		sides[i] = capacitySide(run, res)
	}
	out.CapacityComparison = compare.CompareCapacity(sides[0], sides[1])
	writeJSON(w, http.StatusOK, out)
}

// capacitySide is a stored search as compare reads it.
func capacitySide(run store.Run, res *servedCapacity) compare.CapacityRun {
	var plan scenario.Plan
	_ = json.Unmarshal(run.Plan, &plan) // a stored plan; zero if unreadable
	c := compare.CapacityRun{Plan: plan, Target: res.Target, SLO: res.SLO, MaxRate: res.MaxRate, KneeRate: res.KneeRate,
		Plateau: res.PlateauRPS, Precision: res.Precision, LowerBound: res.LowerBound, StartMissed: res.StartMissed,
		Bottleneck: res.Bottleneck.Kind, Running: run.Status == store.Running}
	if len(res.Steps) > 0 {
		c.StartRate = res.Steps[0].Rate
	}
	return c
}
