package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/store"
)

// capacityRunMax bounds the one run a search drives, as `surge capacity`
// bounds its own: the search stops the run when it is done, and a search
// not done by then ends with the steps so far (docs/limits.md).
const capacityRunMax = 20 * time.Minute

// minStepIntervals is the shortest step: a third settles and the rest, at
// least two intervals, is judged (capacity.Options.Window).
const minStepIntervals = 3

// Why a search's run stops.
var (
	// errSearchDone stops the run of a search that has returned its result.
	errSearchDone = errors.New("the capacity search is done")
	// errRunEnded ends a search whose run ended before it did (its time
	// limit, its agents lost).
	errRunEnded = errors.New("the search's run ended before the search did")
)

// capacityRequest is the body of POST /api/v1/capacity: `surge capacity`'s
// options as JSON. The target is given as for POST /api/v1/runs (url …,
// scenario, or the whole plan `surge capacity --server` sends); the load is
// the search's, so the run fields (vus, rate, duration, …) have no place.
type capacityRequest struct {
	Name     string            `json:"name,omitempty"`
	URL      string            `json:"url,omitempty"`
	Method   string            `json:"method,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     string            `json:"body,omitempty"`
	Scenario string            `json:"scenario,omitempty"`

	SLO       []string `json:"slo"`
	Start     *float64 `json:"start,omitempty"`     // first rate, /s
	Max       *float64 `json:"max,omitempty"`       // highest rate, /s
	Step      string   `json:"step,omitempty"`      // each step's length, e.g. "6s"
	Precision *float64 `json:"precision,omitempty"` // bisect to this fraction of the rate
	MaxVUs    *int     `json:"max_vus,omitempty"`
	Timeout   string   `json:"timeout,omitempty"`
	Insecure  *bool    `json:"insecure,omitempty"`
	Monitors  []string `json:"monitors,omitempty"` // URL or NAME=URL, as --monitor
	Probe     string   `json:"probe,omitempty"`
	// LinkBytesPerS is the monitored host's network link, bytes/s each way
	// (--link), when its monitor does not say.
	LinkBytesPerS *float64 `json:"link_bytes_per_s,omitempty"`

	Agents      *int              `json:"agents,omitempty"`
	AgentLabels map[string]string `json:"agent_labels,omitempty"`
	OnAgentLoss string            `json:"on_agent_loss,omitempty"`

	scenario.WirePlan
}

// handleCapacity: POST /api/v1/capacity starts a capacity search: a run of
// kind "capacity" whose rate the search sets, step by step.
func (s *Server) handleCapacity(w http.ResponseWriter, r *http.Request) {
	var req capacityRequest
	if err := decode(w, r, maxStartBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	plan, o, err := req.search(s.loadScenario, s.runInterval())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sr := startRequest{Agents: req.Agents, AgentLabels: req.AgentLabels, OnAgentLoss: req.OnAgentLoss}
	pick, err := sr.agentPick()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	kept := req
	kept.WirePlan = scenario.WirePlan{} // the plan is kept as every plan is
	raw, _ := json.Marshal(kept)        // our own type: cannot fail
	id, err := s.startRun(r.Context(), plan, raw, pick, newCapacitySearch(o))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/runs/"+id)
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// runInterval is the snapshot interval of the server's runs.
func (s *Server) runInterval() time.Duration {
	if s.opts.Interval > 0 {
		return s.opts.Interval
	}
	return controller.DefaultInterval
}

// search validates the request and returns the plan of the search's one
// run (open model at the start rate, held until the search stops it) and
// the search's options, as `surge capacity` builds them from its flags.
// Its error is a 400 naming every field at fault.
func (q *capacityRequest) search(load scenarioLoader, interval time.Duration) (scenario.Plan, capacity.Options, error) {
	var probs problemList
	o := capacity.Options{Start: capacity.DefaultStart, Max: capacity.DefaultMax, Precision: capacity.DefaultPrecision, Interval: interval}
	if len(q.SLO) == 0 {
		probs.add("slo", "slo: give at least one objective, e.g. [\"p99<250ms\", \"errors<1%%\"]")
	}
	for i, e := range q.SLO {
		t, err := metrics.ParseThreshold(e)
		switch {
		case err != nil:
			probs.add("slo", "slo[%d]: %v", i, err)
		case t.Monitor != "":
			probs.add("slo", "slo[%d] %q: objectives are on the load's own figures; a monitor's CPU is evidence, not an objective (give the monitor in monitors)", i, e)
		default:
			o.SLO = append(o.SLO, t)
		}
	}
	rate := func(field string, v *float64, dst *float64) bool {
		if v == nil {
			return true
		}
		switch {
		case !(*v > 0) || math.IsInf(*v, 0):
			probs.add(field, "%s: want a rate > 0, got %v", field, *v)
			return false
		case *v > engine.MaxRate:
			probs.add(field, "%s: %v/s is more than the %d/s one run may ask for (docs/limits.md)", field, *v, engine.MaxRate)
			return false
		}
		*dst = *v
		return true
	}
	startOK := rate("start", q.Start, &o.Start)
	if rate("max", q.Max, &o.Max) && startOK && o.Max < o.Start {
		probs.add("max", "max: want a rate ≥ start (%v), got %v", o.Start, o.Max)
	}
	if q.Precision != nil {
		if p := *q.Precision; !(p > 0 && p < 1) {
			probs.add("precision", "precision: want a fraction in (0, 1), e.g. 0.05, got %v", p)
		} else {
			o.Precision = p
		}
	}
	step := capacity.DefaultSettle + capacity.DefaultWindow
	if q.Step != "" {
		d, err := time.ParseDuration(q.Step)
		switch {
		case err != nil:
			probs.add("step", "step: want a duration such as \"6s\", got %q", q.Step)
		case d < minStepIntervals*interval:
			probs.add("step", "step: want at least %v (a third settles, the rest is judged in %v intervals), got %q", minStepIntervals*interval, interval, q.Step)
		case d > capacityRunMax/4:
			probs.add("step", "step: want at most %v, got %q", capacityRunMax/4, q.Step)
		default:
			step = d
		}
	}
	if q.Probe != "" {
		if u, err := url.Parse(q.Probe); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			probs.add("probe", "probe: want an http:// or https:// URL, e.g. http://127.0.0.1:8080/health, got %q", q.Probe)
		} else {
			// Sampled by the server itself, on a client of its own.
			o.Probe = q.Probe
		}
	}
	if v := q.LinkBytesPerS; v != nil {
		if !(*v >= 0) || math.IsInf(*v, 0) {
			probs.add("link_bytes_per_s", "link_bytes_per_s: want bytes/s ≥ 0, got %v", *v)
		} else {
			o.LinkBytesPerSec = *v
		}
	}
	var monitors []scenario.Monitor
	for i, m := range q.Monitors {
		mon, err := scenario.ParseMonitorFlag(m)
		if err != nil {
			probs.add("monitors", "monitors[%d]: %s", i, strings.TrimPrefix(err.Error(), "--monitor "))
			continue
		}
		monitors = append(monitors, mon)
	}

	// The target, as POST /api/v1/runs takes it, at the start rate.
	sr := startRequest{Name: q.Name, URL: q.URL, Method: q.Method, Headers: q.Headers, Body: q.Body, Scenario: q.Scenario,
		MaxVUs: q.MaxVUs, Timeout: q.Timeout, Insecure: q.Insecure, WirePlan: q.WirePlan}
	wire := sr.wireStart()
	if wire {
		if len(q.Monitors) > 0 {
			probs.add("monitors", "plan is a whole plan: give monitors in it, not beside it")
		}
	} else {
		start := o.Start
		sr.Rate, sr.Duration = &start, capacityRunMax.String()
	}
	plan, err := sr.plan(load)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && len(ae.Problems) > 0:
		for _, p := range ae.Problems {
			if p.Field == "rate" {
				p.Field = "start"
			}
			probs.add(p.Field, "%s", p.Message)
		}
	case err != nil:
		probs.add("", "%v", err)
	}
	if len(probs) > 0 {
		return plan, o, probs.err()
	}
	maxVUs := plan.Load.MaxVUs
	if (!wire && q.MaxVUs == nil) || maxVUs == 0 {
		maxVUs = engine.DefaultMaxVUs(o.Max, plan.Timeout)
	}
	plan.Load = scenario.Load{Model: engine.Open, Rate: o.Start, Duration: capacityRunMax, MaxVUs: maxVUs}
	// The objectives are checked against the plan as a run's thresholds
	// are (a flow or endpoint it does not have, with the name it may have
	// meant), before anything is sent; then the search judges them step by
	// step, not the run.
	plan.Thresholds = make([]string, len(o.SLO))
	for i, t := range o.SLO {
		plan.Thresholds[i] = t.Expr
	}
	plan.Monitors = append(plan.Monitors, monitors...)
	err = plan.Validate()
	plan.Thresholds = nil
	if err != nil {
		var rest scenario.Problems
		var all scenario.Problems
		if !errors.As(err, &all) {
			all = scenario.Problems{err}
		}
		for _, p := range all {
			var pe *scenario.Error
			if errors.As(p, &pe) && strings.HasPrefix(pe.Path, "thresholds[") {
				// thresholds[i] is slo[i]: every objective parsed.
				probs.add("slo", "slo%s: %s", strings.TrimPrefix(pe.Path, "thresholds"), strings.TrimPrefix(pe.Msg, "threshold "))
				continue
			}
			rest = append(rest, p)
		}
		if len(rest) > 0 {
			probs.plan(rest, q.Scenario != "", map[string]bool{"max_vus": q.MaxVUs != nil, "timeout": q.Timeout != ""})
		}
		return plan, o, probs.err()
	}
	// As `surge capacity` sets them: a third of a step settles, the rest
	// is judged, the result is held for two windows; the warm-up and the
	// recovery are the defaults' number of intervals.
	o.Settle = step / 3
	o.Window = step - o.Settle
	o.Confirm = 2 * o.Window
	o.Warmup = scaleToInterval(capacity.DefaultWarmup, interval)
	o.Recover = scaleToInterval(capacity.DefaultRecover, interval)
	o.MaxVUs = plan.Load.MaxVUs
	o.ProbeInsecure = plan.Insecure // as the load's own requests
	o.Target = plan.Name
	if len(plan.Flows) == 1 && len(plan.Flows[0].Steps) == 1 {
		// One request: the target is its URL, resolved against the
		// plan's base when relative (a scenario's step).
		o.Target = plan.Flows[0].Steps[0].URL
		if strings.HasPrefix(o.Target, "/") && plan.Target != "" {
			o.Target = strings.TrimRight(plan.Target, "/") + o.Target
		}
	}
	return plan, o, nil
}

// scaleToInterval is d, a default for 1 s intervals, for intervals of iv:
// as many intervals.
func scaleToInterval(d, iv time.Duration) time.Duration {
	return time.Duration(float64(d) * float64(iv) / float64(controller.DefaultInterval))
}

// capacitySearch is the search that drives a server run: it runs on its
// own goroutine beside the run, sets the run's rate through the session,
// and keeps its result with the run after every step.
type capacitySearch struct {
	o       capacity.Options
	started time.Time
	ctx     context.Context // the search's; its cause is why it was stopped
	cancel  context.CancelCauseFunc
	done    chan struct{} // closed once the search has returned and its result is saved

	mu    sync.Mutex
	steps []capacity.Step
	res   *capacity.Result // what Search returned; set before done is closed
	err   error
	// stopped is why the search was stopped before it was done (ctx's
	// cause when Search returned), nil when it ended by itself.
	stopped error
}

func newCapacitySearch(o capacity.Options) *capacitySearch {
	return &capacitySearch{o: o, done: make(chan struct{})}
}

// begin starts the search on a's session, which has started. It saves the
// empty result first, so a search interrupted before its first step is
// one still; called with s.mu held, by startRun.
func (cs *capacitySearch) begin(s *Server, a *active) {
	cs.started = time.Now()
	cs.o.Cores = a.cores
	cs.ctx, cs.cancel = context.WithCancelCause(s.base)
	cs.o.Progress = func(st capacity.Step, left time.Duration) { cs.step(s, a, st, left) }
	cs.save(s, a.id, cs.partial(nil), false)
	go func() {
		defer close(cs.done)
		res, err := cs.search(s, a)
		var stopped error
		if err != nil && cs.ctx.Err() != nil {
			stopped = context.Cause(cs.ctx) // a search that returned early
		}
		cs.mu.Lock()
		cs.res, cs.err, cs.stopped = res, err, stopped
		cs.mu.Unlock()
		if res != nil {
			if stopped != nil {
				stoppedMax(res)
			}
			cs.save(s, a.id, res, true)
		}
		cause := errSearchDone
		if err != nil {
			cause = err
		}
		a.sess.Stop(cause)
	}()
}

// search runs the search. A panic in it is the search's failure, not the
// server's: it is logged, and the result is the steps so far, unanalysed.
func (cs *capacitySearch) search(s *Server, a *active) (res *capacity.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("capacity search panicked", "run", a.id, "panic", p, "stack", string(debug.Stack()))
			cs.mu.Lock()
			steps := append([]capacity.Step(nil), cs.steps...)
			cs.mu.Unlock()
			res = cs.partial(steps)
			res.Bottleneck.Evidence = fmt.Sprintf("the search failed (internal error: %v) after %d steps: the result covers them, unanalysed", p, len(steps))
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return capacity.Search(cs.ctx, a.sess, cs.o)
}

// stoppedMax gives the result of a search stopped before it confirmed a
// rate the highest rate that passed a step, unconfirmed and a lower bound,
// as a partial result has it: the search sets MaxRate only once it is done.
func stoppedMax(res *capacity.Result) {
	if res.Confirmed || res.MaxRate > 0 {
		return
	}
	for _, st := range res.Steps {
		if st.OK && !st.GeneratorLimited && st.Rate > res.MaxRate {
			res.MaxRate, res.LowerBound = st.Rate, true
		}
	}
}

// end ends the search, if it is still running, once its run has ended,
// and waits for its result to be saved.
func (cs *capacitySearch) end() {
	cs.cancel(errRunEnded)
	<-cs.done
}

// stop stops a's run: a search first, so that it judges no step of a
// draining run, then the session.
func (a *active) stop(cause error) {
	if a.search != nil {
		a.search.cancel(cause)
	}
	a.sess.Stop(cause)
}

// status is how the search's run ended, from how its session ended
// (status, why) and how the search did.
func (cs *capacitySearch) status(status store.Status, why string) (store.Status, string) {
	cs.mu.Lock()
	res, err, stopped := cs.res, cs.err, cs.stopped
	cs.mu.Unlock()
	switch {
	case status == store.Failed:
		return status, why
	case stopped == nil && err != nil:
		return store.Failed, "capacity search: " + err.Error()
	case stopped == nil && res != nil:
		return store.Finished, "" // the search stopped its run: it is done
	case errors.Is(stopped, errRunEnded):
		return store.Stopped, fmt.Sprintf("%v (%s): the result covers the steps so far", errRunEnded, orText(why, fmt.Sprintf("it ran for its %v limit", capacityRunMax)))
	}
	return status, why // stopped from the API, or the server shut down
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// step keeps the result so far after each step and tells the run's
// watchers. It is the search's Progress: called from its goroutine.
func (cs *capacitySearch) step(s *Server, a *active, st capacity.Step, left time.Duration) {
	cs.mu.Lock()
	cs.steps = append(cs.steps, st)
	steps := append([]capacity.Step(nil), cs.steps...)
	cs.mu.Unlock()
	part := cs.partial(steps)
	cs.save(s, a.id, part, false)
	s.hub.publish(a.id, newEvent("step", stepEvent{Index: len(steps) - 1, Step: st, LeftS: math.Round(left.Seconds()*10) / 10,
		Capacity: serve(part, false, store.Running)}))
}

// stepEvent is a live stream's "step": one finished step of a search.
type stepEvent struct {
	Index    int             `json:"index"` // its place in the result's steps
	Step     capacity.Step   `json:"step"`
	LeftS    float64         `json:"left_s"` // the search's estimate of the time left
	Capacity *servedCapacity `json:"capacity"`
}

// partial is the result of the steps so far, before the search has
// analysed them: the highest passing rate so far, a lower bound.
func (cs *capacitySearch) partial(steps []capacity.Step) *capacity.Result {
	r := &capacity.Result{Schema: capacity.Schema, Target: cs.o.Target, SLO: []string{}, Precision: cs.o.Precision,
		Steps: steps, LowerBound: true, Started: cs.started, DurationS: math.Round(time.Since(cs.started).Seconds()*10) / 10,
		Bottleneck: capacity.Bottleneck{Kind: capacity.KindUnknown}}
	if r.Steps == nil {
		r.Steps = []capacity.Step{}
	}
	for _, t := range cs.o.SLO {
		r.SLO = append(r.SLO, t.Expr)
	}
	for _, st := range steps {
		if st.OK && !st.GeneratorLimited && st.Rate > r.MaxRate {
			r.MaxRate = st.Rate
		}
	}
	return r
}

// save keeps res as run id's capacity result. A write that fails is
// logged: the run's intervals fail the same way and stop it.
func (cs *capacitySearch) save(s *Server, id string, res *capacity.Result, final bool) {
	raw, err := json.Marshal(res)
	if err != nil {
		s.log.Error("encoding a capacity result", "run", id, "err", err)
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(s.base), storeTimeout)
	defer cancel()
	err = s.st.SaveCapacity(wctx, id, raw, final)
	s.noteWrite(err)
	if err != nil {
		s.log.Error("saving a capacity result", "run", id, "final", final, "err", err)
	}
}

// servedCapacity is a search's surge.capacity/v1 result as the API serves
// it: with the run's status beside it.
type servedCapacity struct {
	*capacity.Result
	Status string `json:"status"`
}

// serve is res as served for a run in status. A result that is not final
// has steps the search has not analysed yet: its bottleneck says so.
func serve(res *capacity.Result, final bool, status store.Status) *servedCapacity {
	if !final {
		n := len(res.Steps)
		switch status {
		case store.Running:
			res.Bottleneck.Evidence = fmt.Sprintf("the search is in progress: %d steps so far", n)
		case store.Interrupted:
			res.Bottleneck.Evidence = fmt.Sprintf("the search was interrupted after %d steps (the server stopped while it ran): the result covers them, unanalysed", n)
		default:
			res.Bottleneck.Evidence = fmt.Sprintf("the search ended (%s) after %d steps, before its result was saved: the result covers them, unanalysed", status, n)
		}
	}
	return &servedCapacity{Result: res, Status: string(status)}
}

// capacityResult is run id's capacity result as served.
func (s *Server) capacityResult(ctx context.Context, id string) (*servedCapacity, error) {
	run, err := s.st.Get(ctx, id)
	if err != nil {
		return nil, storeError(err)
	}
	run = s.overlay(run)
	raw, final, err := s.st.Capacity(ctx, id)
	switch {
	case errors.Is(err, store.ErrNoCapacity) && run.Kind == store.KindCapacity:
		// Created a moment ago: its search saves its first result as it
		// begins.
		return serve(&capacity.Result{Schema: capacity.Schema, SLO: []string{}, Steps: []capacity.Step{}, LowerBound: true,
			Bottleneck: capacity.Bottleneck{Kind: capacity.KindUnknown}}, false, run.Status), nil
	case errors.Is(err, store.ErrNoCapacity):
		return nil, &apiError{Status: http.StatusNotFound, Msg: "run " + id + " is not a capacity search"}
	}
	if err != nil {
		return nil, storeError(err)
	}
	var res capacity.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("reading the capacity result of %s: %w", id, err)
	}
	return serve(&res, final, run.Status), nil
}

// serveCapacity answers GET …/summary of a capacity search with its
// surge.capacity/v1 result; ?of=load asks for its run's surge.summary/v1
// instead. It says whether it answered.
func (s *Server) serveCapacity(w http.ResponseWriter, r *http.Request) bool {
	id, q := r.PathValue("id"), r.URL.Query()
	of := q.Get("of")
	switch of {
	case "", "capacity":
	case "load":
		return false
	default:
		s.fail(w, r, badRequest("of", "of: want capacity or load, got %q", of))
		return true
	}
	run, err := s.st.Get(r.Context(), id)
	if err != nil || run.Kind != store.KindCapacity {
		if of == "capacity" {
			s.fail(w, r, &apiError{Status: http.StatusNotFound, Msg: "run " + id + " is not a capacity search"})
			return true
		}
		return false // answered as any run's
	}
	if q.Has("from") || q.Has("to") {
		s.fail(w, r, badRequest("from", "from: a window is of the search's load test: add of=load"))
		return true
	}
	res, err := s.capacityResult(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	writeJSON(w, http.StatusOK, res)
	return true
}

// reportCapacity answers GET …/report?format=json|html of a capacity
// search with its surge.capacity/v1 result or its HTML page (the curve);
// format=csv, or ?of=load, is its run's load report. It says whether it
// answered.
func (s *Server) reportCapacity(w http.ResponseWriter, r *http.Request) bool {
	id, q := r.PathValue("id"), r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if q.Get("of") == "load" || (format != "json" && format != "html") {
		return false
	}
	run, err := s.st.Get(r.Context(), id)
	if err != nil || run.Kind != store.KindCapacity {
		return false
	}
	res, err := s.capacityResult(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	var buf bytes.Buffer
	ctype := "application/json; charset=utf-8"
	if format == "html" {
		ctype = "text/html; charset=utf-8"
		err = capacity.WriteHTML(&buf, res.Result)
	} else {
		err = capacity.WriteJSON(&buf, res.Result)
	}
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="surge-capacity-%s.%s"`, safeName(id), format))
	if format == "html" {
		// As the load report: a self-contained page with inline script.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return true
}

// capacityHeadline is a search's headline in the run list.
type capacityHeadline struct {
	MaxRate    float64 `json:"max_rate"`
	LowerBound bool    `json:"lower_bound"`
	Bottleneck string  `json:"bottleneck"` // its kind; "unknown" until the search is done
	Steps      int     `json:"steps"`
}

// addCapacityHeadlines gives the capacity searches of a run list their
// headline.
func (s *Server) addCapacityHeadlines(ctx context.Context, runs []runInfo) error {
	var ids []string
	for _, r := range runs {
		if r.Kind == store.KindCapacity {
			ids = append(ids, r.ID)
		}
	}
	heads, err := s.st.CapacityHeadlines(ctx, ids)
	if err != nil {
		return err
	}
	for i := range runs {
		if h, ok := heads[runs[i].ID]; ok {
			runs[i].Capacity = &capacityHeadline{MaxRate: h.MaxRate, LowerBound: h.LowerBound, Bottleneck: h.Bottleneck, Steps: h.Steps}
		}
	}
	return nil
}
