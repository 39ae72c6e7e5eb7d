package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
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

	// Agents, AgentLabels: run on connected agents (agents.go).
	Agents      *int              `json:"agents,omitempty"`
	AgentLabels map[string]string `json:"agent_labels,omitempty"`
	OnAgentLoss string            `json:"on_agent_loss,omitempty"`

	// A whole plan, built and validated by `surge run --server URL
	// --agents N` (scenario.WirePlan: plan, env, monitor_tokens), instead
	// of url or scenario and the load fields. wireStart says which.
	scenario.WirePlan
}

// plan turns the request into a validated plan. Its error is a 400 that
// lists every problem found, each naming the request field at fault
// (problemList).
func (q *startRequest) plan(load scenarioLoader) (scenario.Plan, error) {
	var probs problemList
	if q.wireStart() {
		return q.wirePlan()
	}
	o := q.overrides(&probs)
	var p scenario.Plan
	var err error
	switch {
	case q.Scenario != "" && q.URL != "":
		probs.add("scenario", "give url (quick mode) or scenario, not both")
		return p, probs.err()
	case q.Scenario != "":
		if q.Method != "" || q.Headers != nil || q.Body != "" {
			probs.add("method", "method, headers and body belong to quick mode (url); a scenario file sets its own")
		}
		p, err = load(q.Scenario, o)
	case q.URL != "":
		method := q.Method
		if method == "" {
			method = "GET"
		}
		names := make([]string, 0, len(q.Headers))
		for k := range q.Headers {
			if strings.TrimSpace(k) == "" || strings.ContainsAny(k, ":\r\n") {
				probs.add("headers", "bad header name %q", k)
				continue
			}
			if strings.ContainsAny(q.Headers[k], "\r\n") {
				probs.add("headers", "value of %q has a line break", k)
				continue
			}
			names = append(names, k)
		}
		sort.Strings(names)
		headers := make([]string, 0, len(names))
		for _, k := range names {
			headers = append(headers, k+": "+q.Headers[k])
		}
		p, err = scenario.Quick(scenario.QuickRequest{URL: q.URL, Method: method, Headers: headers, Body: q.Body}, o)
	default:
		probs.add("url", "nothing to test: give url (quick mode) or scenario")
		return p, probs.err()
	}
	if err != nil {
		probs.plan(err, q.Scenario != "", q.given())
	} else {
		probs.ceilings(p.Load, q.Scenario != "", q.given())
	}
	if len(probs) > 0 {
		return p, probs.err()
	}
	if q.Name != "" {
		p.Name = q.Name
	}
	return p, nil
}

// wireStart says the request carries a whole plan.
func (q *startRequest) wireStart() bool { return len(q.WirePlan.Plan) > 0 }

// wirePlan is the plan of a request that carries a whole one: it is
// validated as a scenario file is, and nothing else may be given with it.
func (q *startRequest) wirePlan() (scenario.Plan, error) {
	var probs problemList
	for field, set := range map[string]bool{"url": q.URL != "", "scenario": q.Scenario != "", "method": q.Method != "",
		"headers": q.Headers != nil, "body": q.Body != "", "insecure": q.Insecure != nil} {
		if set {
			probs.add(field, "plan is a whole plan: give %s in it, not beside it", field)
		}
	}
	for field, set := range q.given() {
		if set {
			probs.add(field, "plan is a whole plan: give %s in it, not beside it", field)
		}
	}
	if len(probs) > 0 {
		sort.Slice(probs, func(i, j int) bool { return probs[i].Field < probs[j].Field })
		return scenario.Plan{}, probs.err()
	}
	p, err := q.WirePlan.Decode()
	if err != nil {
		probs.wire(err)
		return p, probs.err()
	}
	if q.Name != "" {
		p.Name = q.Name
	}
	return p, nil
}

// given is the set of load fields the request sets.
func (q *startRequest) given() map[string]bool {
	return map[string]bool{"vus": q.VUs != nil, "rate": q.Rate != nil, "max_vus": q.MaxVUs != nil,
		"duration": q.Duration != "", "stages": q.Stages != "", "requests": q.Requests != nil,
		"timeout": q.Timeout != "", "thresholds": len(q.Thresholds) > 0}
}

// overrides returns the request's load settings; a bad one is added to
// probs and left out, so the plan still shows the problems of the rest.
func (q *startRequest) overrides(probs *problemList) scenario.Overrides {
	var o scenario.Overrides
	if q.VUs != nil {
		switch v := *q.VUs; {
		case v < 0:
			probs.add("vus", "want a number ≥ 0, got %d", v)
		case v > engine.MaxVUs:
			probs.add("vus", "%d is more than the %d VUs one run may have (docs/limits.md)", v, engine.MaxVUs)
		default:
			o.VUs = q.VUs
		}
	}
	if q.Rate != nil {
		switch v := *q.Rate; {
		case v < 0 || math.IsInf(v, 0) || math.IsNaN(v):
			probs.add("rate", "want a number ≥ 0, got %v", v)
		case v > engine.MaxRate:
			probs.add("rate", "%v/s is more than the %d/s one run may ask for (docs/limits.md)", v, engine.MaxRate)
		default:
			o.Rate = q.Rate
		}
	}
	if q.VUs != nil && q.Rate != nil {
		probs.add("vus", "give vus (closed model) or rate (open model), not both")
		o.VUs = nil
	}
	if q.MaxVUs != nil {
		switch v := *q.MaxVUs; {
		case v < 0:
			probs.add("max_vus", "want a number ≥ 0, got %d", v)
		case v > engine.MaxVUs:
			probs.add("max_vus", "%d is more than the %d VUs one run may have (docs/limits.md)", v, engine.MaxVUs)
		default:
			o.MaxVUs = q.MaxVUs
		}
	}
	if q.Duration != "" {
		d, err := time.ParseDuration(q.Duration)
		if err != nil || d <= 0 {
			probs.add("duration", "want a positive duration such as \"30s\" or \"2m\", got %q", q.Duration)
		} else {
			o.Duration = &d
		}
	}
	if q.Timeout != "" {
		d, err := time.ParseDuration(q.Timeout)
		if err != nil || d <= 0 {
			probs.add("timeout", "want a positive duration such as \"10s\", got %q", q.Timeout)
		} else {
			o.Timeout = &d
		}
	}
	if q.Stages != "" {
		st, err := engine.ParseStages(q.Stages)
		if err != nil {
			probs.add("stages", "%v", err)
		} else {
			o.Stages = st
		}
	}
	if q.Requests != nil {
		if *q.Requests <= 0 {
			probs.add("requests", "want a number > 0, got %d", *q.Requests)
		} else {
			o.Iterations = q.Requests
		}
	}
	var thresholds []string
	for i, t := range q.Thresholds {
		if strings.TrimSpace(t) == "" {
			probs.add("thresholds", "thresholds[%d]: empty", i)
			continue
		}
		thresholds = append(thresholds, t)
	}
	o.Thresholds = thresholds
	o.Insecure = q.Insecure
	return o
}

// problem is one bad field of a request.
type problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemList collects every problem of a request, so that one answer
// names them all.
type problemList []problem

func (ps *problemList) add(field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, p := range *ps {
		if p.Field == field && p.Message == msg {
			return
		}
	}
	*ps = append(*ps, problem{Field: field, Message: msg})
}

func (ps problemList) has(field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

// err is the 400 for the problems: "error" says them all in one line,
// "field" is the first one's field, "problems" lists them.
func (ps problemList) err() error {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Message
		if p.Field != "" && !strings.HasPrefix(p.Message, p.Field) {
			msgs[i] = p.Field + ": " + p.Message
		}
	}
	msg := msgs[0]
	if len(ps) > 1 {
		msg = fmt.Sprintf("%d problems: %s", len(ps), strings.Join(msgs, "; "))
	}
	return &apiError{Status: http.StatusBadRequest, Field: ps[0].Field, Msg: msg, Problems: ps}
}

// plan adds the problems of a plan's validation, each under the request
// field it is about. A problem in a scenario file is the scenario's unless
// it is about a load setting the request overrides.
func (ps *problemList) plan(err error, fromScenario bool, given map[string]bool) {
	var errs []error
	var probs scenario.Problems
	if errors.As(err, &probs) {
		errs = probs
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		path := ""
		var pe *scenario.Error
		if errors.As(e, &pe) {
			path = pe.Path
		}
		field := requestField(path, e.Error())
		if fromScenario && !given[field] {
			field = "scenario"
		}
		if field != "scenario" && ps.has(field) {
			continue // the request's own value was refused already
		}
		ps.add(field, "%s", e.Error())
	}
}

// wire adds the problems of a whole plan's validation, each under
// "plan", with the plan's own path to the value at fault.
func (ps *problemList) wire(err error) {
	var probs scenario.Problems
	if !errors.As(err, &probs) {
		ps.add("plan", "%s", err.Error())
		return
	}
	for _, e := range probs {
		var pe *scenario.Error
		if errors.As(e, &pe) && pe.Path != "" {
			ps.add("plan", "%s: %s", pe.Path, e.Error())
			continue
		}
		ps.add("plan", "%s", e.Error())
	}
}

// requestField maps a plan path ("load.rate", "flows[0].steps[0].url") or,
// without one, a message's wording to the request field it is about.
func requestField(path, msg string) string {
	for _, f := range [][2]string{{"load.max_vus", "max_vus"}, {"load.rate", "rate"}, {"load.vus", "vus"},
		{"load.duration", "duration"}, {"load.stages", "stages"}, {"load.iterations", "requests"},
		{"timeout", "timeout"}, {"thresholds", "thresholds"}, {"headers", "headers"}, {"target", "url"}, {"load", "rate"}} {
		if path == f[0] || strings.HasPrefix(path, f[0]+".") || strings.HasPrefix(path, f[0]+"[") {
			return f[1]
		}
	}
	switch {
	case strings.HasSuffix(path, ".url"):
		return "url"
	case strings.Contains(path, ".headers"):
		return "headers"
	case strings.Contains(path, ".body") || strings.Contains(path, ".json"):
		return "body"
	case strings.HasSuffix(path, ".method"):
		return "method"
	}
	// The plan's messages start with, or mention, the setting at fault.
	for _, f := range [][2]string{{"max_vus", "max_vus"}, {"rate", "rate"}, {"vus", "vus"},
		{"duration", "duration"}, {"stage", "stages"}, {"requests", "requests"}, {"timeout", "timeout"},
		{"threshold", "thresholds"}, {"header", "headers"}, {"body", "body"}, {"URL", "url"}, {"url", "url"}} {
		if strings.HasPrefix(msg, f[0]) || strings.Contains(msg, " "+f[0]+" ") || strings.Contains(msg, "--"+f[0]) {
			return f[1]
		}
	}
	return ""
}

// ceilings refuses a valid plan's load above what one run may ask for,
// whichever way it was asked (the request, a scenario's load, its stages).
func (ps *problemList) ceilings(l scenario.Load, fromScenario bool, given map[string]bool) {
	field := func(f string) string {
		if fromScenario && !given[f] {
			return "scenario"
		}
		return f
	}
	if l.Model == engine.Open {
		if l.Rate > engine.MaxRate {
			ps.add(field("rate"), "load.rate: %v/s is more than the %d/s one run may ask for (docs/limits.md)", l.Rate, engine.MaxRate)
		}
		if l.MaxVUs > engine.MaxVUs {
			ps.add(field("max_vus"), "load.max_vus: %d is more than the %d VUs one run may have (docs/limits.md)", l.MaxVUs, engine.MaxVUs)
		}
	} else if l.VUs > engine.MaxVUs {
		ps.add(field("vus"), "load.vus: %d is more than the %d VUs one run may have (docs/limits.md)", l.VUs, engine.MaxVUs)
	}
	for i, st := range l.Stages {
		limit, unit := float64(engine.MaxVUs), "VUs"
		if l.Model == engine.Open {
			limit, unit = engine.MaxRate, "/s"
		}
		if st.Target > limit {
			ps.add(field("stages"), "load.stages[%d]: target %v is more than the %v %s one run may ask for (docs/limits.md)", i, st.Target, limit, unit)
		}
	}
}
