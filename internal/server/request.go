package server

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

// startRequest is the body of POST /api/v1/runs: quick mode (url …) or a
// scenario file's text, with load settings that take the values of the
// `surge run` flags and override the file's.
type startRequest struct {
	Name     string            `json:"name,omitempty"` // defaults to the plan's name
	URL      string            `json:"url,omitempty"`
	Method   string            `json:"method,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     string            `json:"body,omitempty"`
	Scenario string            `json:"scenario,omitempty"`

	VUs        *int     `json:"vus,omitempty"`
	Rate       *float64 `json:"rate,omitempty"`
	MaxVUs     *int     `json:"max_vus,omitempty"`
	Duration   string   `json:"duration,omitempty"` // e.g. "30s"
	Stages     string   `json:"stages,omitempty"`   // "30s:100,1m:100"
	Requests   *int64   `json:"requests,omitempty"`
	Timeout    string   `json:"timeout,omitempty"`
	Thresholds []string `json:"thresholds,omitempty"`
	Insecure   *bool    `json:"insecure,omitempty"`
}

// plan turns the request into a validated plan. Errors are 400s that name
// the field at fault.
func (q *startRequest) plan(load scenarioLoader) (scenario.Plan, error) {
	o, err := q.overrides()
	if err != nil {
		return scenario.Plan{}, err
	}
	var p scenario.Plan
	switch {
	case q.Scenario != "" && q.URL != "":
		return p, badRequest("scenario", "give url (quick mode) or scenario, not both")
	case q.Scenario != "":
		if q.Method != "" || q.Headers != nil || q.Body != "" {
			return p, badRequest("method", "method, headers and body belong to quick mode (url); a scenario file sets its own")
		}
		p, err = load(q.Scenario, o)
		if err != nil {
			return p, planError("scenario", err)
		}
	case q.URL != "":
		method := q.Method
		if method == "" {
			method = "GET"
		}
		names := make([]string, 0, len(q.Headers))
		for k := range q.Headers {
			if strings.TrimSpace(k) == "" || strings.ContainsAny(k, ":\r\n") {
				return p, badRequest("headers", "headers: bad header name %q", k)
			}
			names = append(names, k)
		}
		sort.Strings(names)
		headers := make([]string, 0, len(names))
		for _, k := range names {
			if strings.ContainsAny(q.Headers[k], "\r\n") {
				return p, badRequest("headers", "headers: value of %q has a line break", k)
			}
			headers = append(headers, k+": "+q.Headers[k])
		}
		p, err = scenario.Quick(scenario.QuickRequest{URL: q.URL, Method: method, Headers: headers, Body: q.Body}, o)
		if err != nil {
			return p, planError("", err)
		}
	default:
		return p, badRequest("url", "url: nothing to test: give url (quick mode) or scenario")
	}
	if q.Name != "" {
		p.Name = q.Name
	}
	return p, nil
}

func (q *startRequest) overrides() (scenario.Overrides, error) {
	var o scenario.Overrides
	if q.VUs != nil {
		if *q.VUs < 0 {
			return o, badRequest("vus", "vus: want a number ≥ 0, got %d", *q.VUs)
		}
		o.VUs = q.VUs
	}
	if q.Rate != nil {
		if *q.Rate < 0 || math.IsInf(*q.Rate, 0) || math.IsNaN(*q.Rate) {
			return o, badRequest("rate", "rate: want a number ≥ 0, got %v", *q.Rate)
		}
		o.Rate = q.Rate
	}
	if q.VUs != nil && q.Rate != nil {
		return o, badRequest("vus", "give vus (closed model) or rate (open model), not both")
	}
	o.MaxVUs = q.MaxVUs
	if q.Duration != "" {
		d, err := time.ParseDuration(q.Duration)
		if err != nil || d <= 0 {
			return o, badRequest("duration", "duration: want a positive duration such as \"30s\" or \"2m\", got %q", q.Duration)
		}
		o.Duration = &d
	}
	if q.Timeout != "" {
		d, err := time.ParseDuration(q.Timeout)
		if err != nil || d <= 0 {
			return o, badRequest("timeout", "timeout: want a positive duration such as \"10s\", got %q", q.Timeout)
		}
		o.Timeout = &d
	}
	if q.Stages != "" {
		st, err := engine.ParseStages(q.Stages)
		if err != nil {
			return o, badRequest("stages", "stages: %v", err)
		}
		o.Stages = st
	}
	if q.Requests != nil {
		if *q.Requests <= 0 {
			return o, badRequest("requests", "requests: want a number > 0, got %d", *q.Requests)
		}
		o.Iterations = q.Requests
	}
	for i, t := range q.Thresholds {
		if strings.TrimSpace(t) == "" {
			return o, badRequest("thresholds", "thresholds[%d]: empty", i)
		}
	}
	o.Thresholds = q.Thresholds
	o.Insecure = q.Insecure
	return o, nil
}

// planError turns a validation error into a 400. Problems lists every
// problem; the field is guessed from the first one when it starts with a
// field's name.
func planError(field string, err error) error {
	msg := err.Error()
	var probs scenario.Problems
	if errors.As(err, &probs) && len(probs) > 1 {
		msg = fmt.Sprintf("%d problems: %s", len(probs), strings.ReplaceAll(msg, "\n", "; "))
	}
	if field == "" {
		// The plan's messages start with, or mention, the setting at fault.
		for _, f := range [][2]string{{"max_vus", "max_vus"}, {"rate", "rate"}, {"vus", "vus"},
			{"duration", "duration"}, {"stage", "stages"}, {"requests", "requests"}, {"timeout", "timeout"},
			{"threshold", "thresholds"}, {"header", "headers"}, {"URL", "url"}} {
			if strings.HasPrefix(msg, f[0]) || strings.Contains(msg, " "+f[0]+" ") {
				field = f[1]
				break
			}
		}
	}
	if field != "" && !strings.HasPrefix(msg, field) {
		msg = field + ": " + msg
	}
	return badRequest(field, "%s", msg)
}
