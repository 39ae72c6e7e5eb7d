package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/store"
)

// ErrStopped is the cause given to a run stopped through the API.
var ErrStopped = errors.New("stopped from the API")

// storeTimeout bounds one write of a run's data. The run's own context is
// cancelled by a stop, but its last intervals must still be written.
const storeTimeout = 10 * time.Second

// active is the run the server is running.
type active struct {
	id    string
	info  runInfo
	model engine.Model
	sess  *run.Session
	done  chan struct{} // closed when the run is recorded as ended
	// recordErr is the first write of the run's data that failed; set and
	// read by the controller's goroutine (the sink, then s.run).
	recordErr error
	cores     int    // the generator's: the server's, or its agents' (agents.go)
	release   func() // gives the run's agents back once it has ended
	// search is the capacity search that drives the run (capacity.go);
	// nil for a load test.
	search *capacitySearch
}

// control is what PATCH takes for this run.
func (a *active) control() string {
	if a.model == engine.Open {
		return "rate"
	}
	return "vus"
}

// NewRunID returns a fresh run id: its start time and a random suffix.
func NewRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// handleStart: POST /api/v1/runs
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	var req startRequest
	if err := decode(w, r, maxStartBody, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	plan, err := req.plan(s.loadScenario)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The request is kept with the run, but not a whole plan's data rows,
	// env values and tokens: the plan is kept as every plan is (planJSON).
	kept := req
	kept.WirePlan = scenario.WirePlan{}
	raw, _ := json.Marshal(kept) // our own type: cannot fail
	var id string
	pick, err := req.agentPick()
	if err == nil {
		id, err = s.start(r.Context(), plan, raw, pick)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/runs/"+id)
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

// errBusy answers a start while the server's own run is in progress.
func errBusy(id string) error {
	return &apiError{Status: http.StatusConflict, Msg: "run " + id + " is in progress: stop it or wait for it to end"}
}

// Start runs a validated plan in the background through the same controller
// `surge run` uses, recording it as it goes, and returns its id. request is
// what the client asked for, kept with the run; it may be nil.
func (s *Server) Start(ctx context.Context, plan scenario.Plan, request json.RawMessage) (string, error) {
	return s.start(ctx, plan, request, agentPick{})
}

// start is Start on the agents pick asks for (none: in this process).
func (s *Server) start(ctx context.Context, plan scenario.Plan, request json.RawMessage, pick agentPick) (string, error) {
	return s.startRun(ctx, plan, request, pick, nil)
}

// startRun is start for a load test (search nil) or a capacity search
// that drives the run (capacity.go).
func (s *Server) startRun(ctx context.Context, plan scenario.Plan, request json.RawMessage, pick agentPick, search *capacitySearch) (string, error) {
	if err := s.base.Err(); err != nil {
		return "", &apiError{Status: http.StatusServiceUnavailable, Msg: context.Cause(s.base).Error()}
	}
	if err := s.writable(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active != nil {
		return "", errBusy(s.active.id)
	}
	now := time.Now()
	id := NewRunID(now)
	agents, cores, release, err := s.acquireAgents(id, pick)
	if err != nil {
		return "", err
	}
	started := false
	defer func() {
		if !started {
			release()
		}
	}()
	pj, err := planJSON(plan)
	if err != nil {
		return "", fmt.Errorf("starting run: %w", err)
	}
	stored := store.Run{ID: id, Name: plan.Name, Status: store.Running, Source: store.SourceServer,
		Model: plan.Load.Model.String(), Started: now, Plan: pj, Request: request, Kind: store.KindLoad}
	if search != nil {
		stored.Kind = store.KindCapacity
	}
	if err := s.st.Create(ctx, stored); err != nil {
		if errors.Is(err, store.ErrWrite) {
			s.noteWrite(err)
			return "", unavailable(err)
		}
		return "", err
	}
	a := &active{id: id, info: info(stored), model: plan.Load.Model, done: make(chan struct{}), cores: cores, release: release, search: search}
	tr := newLiveTracker(id, plan, cores)
	a.sess = run.New(plan, run.Options{Sinks: []sink.Sink{&runSink{s: s, a: a, tr: tr}}, Logger: s.log,
		Agents: agents, OnAgentLoss: pick.onLoss, Interval: s.opts.Interval})
	if len(plan.Monitors) > 0 {
		tr.monitors = a.sess.Monitors
	}
	// The server's base context is the run's parent: Close stops it with
	// ErrShutdown.
	if err := a.sess.Start(s.base); err != nil {
		return "", fmt.Errorf("starting run: %w", err)
	}
	s.active, started = a, true
	s.log.Info("run started", "run", id, "name", plan.Name, "model", stored.Model, "kind", stored.Kind)
	if search != nil {
		search.begin(s, a)
	}
	go s.run(a)
	s.hub.publish("", newEvent("run", a.info))
	return id, nil
}

// run waits for a's session to end and records how it ended.
func (s *Server) run(a *active) {
	defer close(a.done)
	res, err := a.sess.Wait()
	if a.search != nil {
		a.search.end() // its result is saved before the run's end
	}
	a.release()
	status, why := store.Finished, ""
	var sum *report.Summary
	if res != nil {
		b := a.sess.Summary(a.id, res, a.cores) // with the plan's monitors
		sum = &b
		if res.Stopped != nil {
			status, why = store.Stopped, res.Stopped.Error()
		}
	}
	if err != nil {
		status, why = store.Failed, err.Error()
	}
	if a.recordErr != nil {
		status, why = store.Failed, "stopped because its data could not be recorded: "+a.recordErr.Error()
	}
	if a.search != nil {
		status, why = a.search.status(status, why)
	}
	if sum != nil {
		sum.Run.Status = string(status)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(s.base), storeTimeout)
	defer cancel()
	e := &ending{status: status, why: why, sum: sum, ended: time.Now()}
	if err := s.finishRun(wctx, a.id, e); err != nil {
		s.log.Error("recording the end of a run: kept until the store can write", "run", a.id, "err", err)
		s.mu.Lock()
		s.unrecorded[a.id] = e
		s.mu.Unlock()
	}
	s.log.Info("run ended", "run", a.id, "status", status, "why", why)
	s.mu.Lock()
	s.active = nil
	s.mu.Unlock()
	s.ended(a.id)
}

// runSink records the server's own run interval by interval.
type runSink struct {
	s  *Server
	a  *active
	tr *Tracker
}

var _ sink.Sink = (*runSink)(nil)

// Consume implements sink.Sink.
func (k *runSink) Consume(ctx context.Context, snap metrics.Snapshot) error {
	iv := k.tr.Add(snap)
	if k.a.recordErr != nil {
		// Stopping: the run's data can no longer be written.
		k.s.interval(k.a.info, iv.live())
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	err := k.s.st.AppendInterval(wctx, k.a.id, iv.Seq, iv.Point, &iv.Summary, iv.Snapshot)
	k.s.noteWrite(err)
	if err != nil {
		err = fmt.Errorf("recording interval %d: %w", iv.Seq, err)
		// Load that cannot be recorded is sent for nothing: stop the run.
		k.a.recordErr = err
		k.a.sess.Stop(err)
		k.s.log.Error("stopping a run whose data cannot be recorded", "run", k.a.id, "err", err)
		return err
	}
	k.s.interval(k.a.info, iv.live())
	return nil
}

// Close implements sink.Sink.
func (k *runSink) Close(context.Context) error { return nil }

// steered is a running run the API can adjust and stop: the server's own,
// or a recorded run whose recorder takes control.
type steered struct {
	id     string
	model  engine.Model
	adjust func(float64)
	stop   func() // graceful, with the cause why says
	why    string // the stop's cause, as its event says it
	done   <-chan struct{}
	search bool // a capacity search sets the rate: no adjusting
}

func (t *steered) control() string {
	if t.model == engine.Open {
		return "rate"
	}
	return "vus"
}

// ownRun returns the running run id that the API can steer: the server's
// active run, or a recorded run whose recorder takes control (the control
// is queued and handed to the recorder with the answer to its next
// interval).
func (s *Server) ownRun(ctx context.Context, id string) (*steered, error) {
	s.mu.Lock()
	a := s.active
	s.mu.Unlock()
	if a != nil && a.id == id {
		return &steered{id: id, model: a.model, adjust: a.sess.Adjust,
			stop: func() { a.stop(ErrStopped) }, why: ErrStopped.Error(), done: a.done, search: a.search != nil}, nil
	}
	run, err := s.st.Get(ctx, id)
	if err != nil {
		return nil, storeError(err)
	}
	if e := s.unrecordedEnd(id); e != nil {
		return nil, &apiError{Status: http.StatusConflict, Msg: fmt.Sprintf("run %s has ended (%s: %s)", id, e.status, e.why)}
	}
	if run.Status == store.Running && run.Source == store.SourceCLI {
		rr := s.remotes()
		if r := rr.get(id); r != nil {
			return &steered{id: id, model: r.model,
				adjust: func(v float64) { rr.queue(id, Control{Adjust: &v}) },
				stop:   func() { rr.queue(id, Control{Stop: StopFromDashboard}) },
				why:    StopFromDashboard, done: r.done}, nil
		}
		return nil, &apiError{Status: http.StatusConflict, Msg: "run " + id + " is being run by a surge run on another machine or process that takes no control from here (an older surge): control it there"}
	}
	return nil, &apiError{Status: http.StatusConflict, Msg: fmt.Sprintf("run %s is not running (%s)", id, run.Status)}
}

type adjustRequest struct {
	Rate *float64 `json:"rate,omitempty"`
	VUs  *int     `json:"vus,omitempty"`
}

// handleAdjust: PATCH /api/v1/runs/{id} {"rate": R} or {"vus": N}
func (s *Server) handleAdjust(w http.ResponseWriter, r *http.Request) {
	var req adjustRequest
	if err := decode(w, r, 4096, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.ownRun(r.Context(), r.PathValue("id"))
	if err == nil && a.search {
		err = &apiError{Status: http.StatusConflict, Msg: "run " + a.id + " is a capacity search, which sets its rate itself: stop it to end the search"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v float64
	var detail string
	switch {
	case req.Rate != nil && req.VUs != nil:
		err = badRequest("rate", "give rate or vus, not both")
	case a.model == engine.Open && req.VUs != nil:
		err = badRequest("vus", "vus: this run uses the open model: change its rate")
	case a.model == engine.Closed && req.Rate != nil:
		err = badRequest("rate", "rate: this run uses the closed model: change its vus")
	case req.Rate != nil:
		v = *req.Rate
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			err = badRequest("rate", "rate: want a number ≥ 0, got %v", v)
		} else if v > engine.MaxRate {
			err = badRequest("rate", "rate: %v/s is more than the %d/s one run may ask for (docs/limits.md)", v, engine.MaxRate)
		}
		detail = "rate " + strconv.FormatFloat(v, 'f', -1, 64) + "/s"
	case req.VUs != nil:
		if *req.VUs < 0 {
			err = badRequest("vus", "vus: want a number ≥ 0, got %d", *req.VUs)
		} else if *req.VUs > engine.MaxVUs {
			err = badRequest("vus", "vus: %d is more than the %d VUs one run may have (docs/limits.md)", *req.VUs, engine.MaxVUs)
		}
		v = float64(*req.VUs)
		detail = strconv.Itoa(*req.VUs) + " VUs"
	default:
		err = badRequest(a.control(), "%s: give the new load as {\"%s\": N}", a.control(), a.control())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a.adjust(v)
	e := store.Event{T: time.Now(), Kind: "adjust", Detail: detail}
	if err := s.st.AddEvent(r.Context(), a.id, e); err != nil {
		s.log.Warn("recording adjustment", "run", a.id, "err", err)
	}
	s.hub.publish(a.id, newEvent("adjust", e))
	d, err := s.detail(r.Context(), a.id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// stopWait bounds how long POST …/stop waits for in-flight requests to end
// before it answers; the run ends on its own afterwards.
const stopWait = 30 * time.Second

// handleStop: POST /api/v1/runs/{id}/stop stops the run as Ctrl-C stops
// `surge run` (in-flight requests finish, the summary is kept) and answers
// with the run once it has ended.
func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) {
	a, err := s.ownRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e := store.Event{T: time.Now(), Kind: "stop", Detail: a.why}
	if err := s.st.AddEvent(r.Context(), a.id, e); err != nil {
		s.log.Warn("recording stop", "run", a.id, "err", err)
	}
	a.stop()
	status := http.StatusOK
	select {
	case <-a.done:
	case <-time.After(stopWait):
		status = http.StatusAccepted // still finishing
	case <-r.Context().Done():
		return
	}
	d, err := s.detail(r.Context(), a.id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, d)
}
