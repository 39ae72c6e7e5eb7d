package report

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/result"
	"github.com/surgeload/surge/internal/scenario"
)

// Schema names the summary format.
const Schema = "surge.summary/v1"

// Summary is the JSON summary of a run (CONTRACT.md). Durations are in
// milliseconds.
type Summary struct {
	Schema     string             `json:"schema"`
	Run        Run                `json:"run"`
	Plan       PlanInfo           `json:"plan"`
	Totals     Totals             `json:"totals"`
	Latency    Latency            `json:"latency_ms"`
	Errors     map[string]int64   `json:"errors"`
	Messages   []ErrorMessage     `json:"error_messages"`
	Endpoints  []EndpointSummary  `json:"endpoints"`
	Checks     []CheckSummary     `json:"checks"`
	Thresholds []ThresholdOutcome `json:"thresholds"`
	Timeline   []Point            `json:"timeline"`
	Generator  Generator          `json:"generator"`
	// Windows summarise the timeline in a few rows (offered and achieved
	// load, latency, errors), so the knee of a ramp shows at a glance.
	Windows []Window `json:"windows"`
	// Events are the live changes made to the run (rates, VUs, a stop).
	Events []Event `json:"events"`
	// Warnings are about what the target did: every request failed, its
	// cookies were too many for a browser's jar.
	Warnings []string `json:"warnings"`
	// Monitors are the scraped target monitors (monitors.go); absent when
	// the run had none.
	Monitors []MonitorSummary `json:"monitors,omitempty"`
	// Agents is what each agent did, from its own snapshots (agents.go):
	// present when the run had agents other than the one in-process agent
	// of a local run, absent for a local run.
	Agents []AgentSummary `json:"agents,omitempty"`
	// Flows are the flows' end-to-end iteration durations and Polls the
	// poll steps' (flows.go); [] when the run had none.
	Flows []FlowSummary `json:"flows"`
	Polls []PollSummary `json:"polls"`
}

// PlanInfo is the offered load, in the words of the CLI and scenario files.
type PlanInfo struct {
	Model      string      `json:"model"`
	VUs        int         `json:"vus,omitempty"`
	Rate       float64     `json:"rate,omitempty"`
	MaxVUs     int         `json:"max_vus,omitempty"`
	Duration   string      `json:"duration,omitempty"`
	Stages     []StageInfo `json:"stages,omitempty"`
	Iterations int64       `json:"iterations,omitempty"`
	Timeout    string      `json:"timeout"`
	// HTTP is the HTTP version asked for (--http2, defaults.http): 1 or
	// 2; absent for the default. endpoints[].protocols says what was used.
	HTTP int `json:"http,omitempty"`
}

// StageInfo is one stage of the plan.
type StageInfo struct {
	Duration string  `json:"duration"`
	Target   float64 `json:"target"`
}

// Event is one live change to the run.
type Event struct {
	T       string  `json:"t"`
	Elapsed float64 `json:"elapsed_s"`
	Kind    string  `json:"kind"` // rate, vus, agent_lost or stop
	Value   float64 `json:"value"`
	Detail  string  `json:"detail,omitempty"`
}

// Window summarises consecutive intervals of the timeline.
type Window struct {
	From float64 `json:"from_s"`
	To   float64 `json:"to_s"`
	// Offered is the open model's due iterations per second, or the
	// closed model's most VUs, in the window.
	Offered  float64  `json:"offered"`
	RPS      float64  `json:"rps"`
	Requests int64    `json:"requests"`
	P50      *float64 `json:"p50"` // null when no request completed
	P99      *float64 `json:"p99"`
	Errors   int64    `json:"errors"`
	Dropped  int64    `json:"dropped"`
}

// Run describes the run.
type Run struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Started   string  `json:"started"`
	Ended     string  `json:"ended"`
	DurationS float64 `json:"duration_s"`
	Model     string  `json:"model"`
	Status    string  `json:"status"` // finished, stopped, failed (every agent lost)
	MaxVUs    int     `json:"max_vus"`
}

// Totals are the run's counters.
type Totals struct {
	Requests          int64   `json:"requests"`
	Errors            int64   `json:"errors"`
	ErrorRate         float64 `json:"error_rate"` // percent
	RPS               float64 `json:"rps"`
	BytesSent         int64   `json:"bytes_sent"`
	BytesReceived     int64   `json:"bytes_received"`
	Iterations        int64   `json:"iterations"`
	DroppedIterations int64   `json:"dropped_iterations"`
	// DueIterations is, in the open model, how many iterations the plan
	// made due: Iterations + DroppedIterations.
	DueIterations int64 `json:"due_iterations"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// ErrorMessage is one distinct error message and its count.
type ErrorMessage struct {
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// EndpointSummary is one endpoint's row.
type EndpointSummary struct {
	Name     string           `json:"name"`
	Method   string           `json:"method"`
	Requests int64            `json:"requests"`
	Errors   int64            `json:"errors"`
	RPS      float64          `json:"rps"`
	Latency  Latency          `json:"latency_ms"`
	Classes  map[string]int64 `json:"error_classes"`
	// Phases are where its requests' time went, by phase name
	// (metrics.Phase: blocked, connect, tls, send, wait, receive, and in
	// the open model queued); absent for an endpoint whose client
	// measures none (WebSocket, gRPC). For each request the phases add up
	// to its latency.
	Phases map[string]PhaseMs `json:"phases_ms,omitempty"`
	// Protocols counts its requests by the protocol they were sent with
	// ("HTTP/1.1", "HTTP/2.0", "HTTP/1.0", "unknown" for one that failed
	// before the protocol was known); absent like Phases.
	Protocols map[string]int64 `json:"protocols,omitempty"`
}

// PhaseMs is one timing phase's distribution over an endpoint's requests,
// in milliseconds.
type PhaseMs struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// CheckSummary counts a check's passes and fails.
type CheckSummary struct {
	Name   string `json:"name"`
	Passes int64  `json:"passes"`
	Fails  int64  `json:"fails"`
}

// ThresholdOutcome is one threshold's verdict; Value is in the threshold's
// unit (ms for latencies, percent for rates).
type ThresholdOutcome struct {
	Expr  string  `json:"expr"`
	OK    bool    `json:"ok"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`            // "ms", "%" or "" (a count or rate per second); a monitor series' unit for monitor[…] thresholds
	Error string  `json:"error,omitempty"` // e.g. an endpoint that does not exist
	// Limited says the run was generator-limited (Generator.Limited): a
	// pass then says little about the target.
	Limited bool `json:"limited"`
}

// Point is one interval of the timeline.
type Point struct {
	T        string  `json:"t"`
	Elapsed  float64 `json:"elapsed_s"`
	Requests int64   `json:"requests"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	P95      float64 `json:"p95"`
	P99      float64 `json:"p99"`
	Max      float64 `json:"max"`
	Errors   int64   `json:"errors"`
	VUs      int     `json:"vus"`     // active at the end of the interval
	MaxVUs   int     `json:"max_vus"` // most active at once during it
	Dropped  int64   `json:"dropped"`
	// Offered is, in the open model, the iterations due per second in the
	// interval (the plan's rate, following live changes); nil in the
	// closed model.
	Offered *float64 `json:"offered_rps"`
	LagP99  float64  `json:"lag_p99_ms"`
	CPU     float64  `json:"generator_cpu"`
	// Monitors holds, per monitor name, the timeline's derived series in
	// this interval by series key (null: no value); absent without monitors.
	Monitors map[string]map[string]*float64 `json:"monitors,omitempty"`
}

// Generator reports how well the load generator kept up.
type Generator struct {
	// StartLag is how late open-model iterations started after they were due.
	StartLag Latency  `json:"start_lag_ms"`
	CPUMax   float64  `json:"cpu_max_cores"`
	Cores    int      `json:"cores"`
	Warnings []string `json:"warnings"`
	// Limited is true when Surge itself could not hold the plan: start
	// lag, its scheduling latency, dropped iterations or its own CPU say
	// so; Reasons says which.
	Limited bool     `json:"limited"`
	Reasons []string `json:"reasons"`
}

// Lag figures beyond which the generator is said to have fallen behind:
// the controller's, which judges each agent by the same rules.
const (
	lagWarnP99  = result.StartLagLimit
	cpuWarnFrac = result.CPUBusyFrac // of the cores Go may use
)

// Build computes the summary of res. id names the run.
func Build(id string, res *result.Result, cores int) Summary {
	total := res.Total
	tot := total.Totals()
	elapsed := res.Ended.Sub(res.Started)
	if elapsed <= 0 {
		elapsed = time.Millisecond
	}
	s := Summary{
		Schema: Schema,
		Run: Run{
			ID: id, Name: res.Plan.Name,
			Started:   res.Started.UTC().Format(time.RFC3339Nano),
			Ended:     res.Ended.UTC().Format(time.RFC3339Nano),
			DurationS: round(elapsed.Seconds(), 3),
			Model:     res.Plan.Load.Model.String(),
			Status:    "finished",
			MaxVUs:    total.MaxVUs,
		},
		Totals: Totals{
			Requests: tot.Requests, Errors: tot.Errors(), ErrorRate: pct(tot.Errors(), tot.Requests),
			RPS:       round(float64(tot.Requests)/elapsed.Seconds(), 2),
			BytesSent: tot.BytesSent, BytesReceived: tot.BytesReceived,
			Iterations: total.Iterations, DroppedIterations: total.Dropped, DueIterations: total.Due,
		},
		Plan:       PlanOf(res.Plan),
		Latency:    latency(tot.Latency),
		Errors:     classes(&tot),
		Messages:   []ErrorMessage{},
		Endpoints:  []EndpointSummary{},
		Checks:     []CheckSummary{},
		Thresholds: []ThresholdOutcome{},
		Timeline:   []Point{},
		Generator:  Generator{Cores: cores, Warnings: []string{}, Reasons: []string{}},
		Windows:    windows(res),
		Events:     []Event{},
		Warnings:   targetWarnings(total),
	}
	for _, e := range res.Events {
		s.Events = append(s.Events, Event{T: e.At.UTC().Format(time.RFC3339Nano), Elapsed: round(e.At.Sub(res.Started).Seconds(), 3),
			Kind: e.Kind, Value: e.Value, Detail: e.Detail})
	}
	if res.Stopped != nil {
		s.Run.Status = "stopped"
	}
	if allLost(res) {
		s.Run.Status = "failed"
	}
	for _, m := range total.TopMessages() {
		s.Messages = append(s.Messages, ErrorMessage{m.Message, m.Count})
	}
	for i := range total.Endpoints {
		e := &total.Endpoints[i]
		s.Endpoints = append(s.Endpoints, EndpointSummary{
			Name: e.Name, Method: e.Method, Requests: e.Requests, Errors: e.Errors(),
			RPS: round(float64(e.Requests)/elapsed.Seconds(), 2), Latency: latency(e.Latency), Classes: classes(e),
			Phases: phasesMs(&e.Phases), Protocols: protocols(&e.Protos),
		})
	}
	for _, c := range total.Checks {
		s.Checks = append(s.Checks, CheckSummary(c))
	}
	s.Flows, s.Polls = flowSummaries(total.Flows), pollSummaries(total.Polls)
	for _, expr := range res.Plan.Thresholds {
		s.Thresholds = append(s.Thresholds, evaluate(expr, total, elapsed))
	}
	lagged := 0
	for _, snap := range res.Timeline {
		t := snap.Totals()
		d := snap.Duration().Seconds()
		p := Point{
			T: snap.End.UTC().Format(time.RFC3339Nano), Elapsed: round(snap.End.Sub(res.Started).Seconds(), 3),
			Requests: t.Requests, Errors: t.Errors(), VUs: snap.VUs, MaxVUs: snap.MaxVUs, Dropped: snap.Dropped,
			P50: ms(t.Latency.Quantile(0.5)), P90: ms(t.Latency.Quantile(0.9)), P95: ms(t.Latency.Quantile(0.95)),
			P99: ms(t.Latency.Quantile(0.99)), Max: ms(t.Latency.Max()), CPU: round(snap.GeneratorCPU, 3),
		}
		if d > 0 {
			p.RPS = round(float64(t.Requests)/d, 2)
			if res.Plan.Load.Model == engine.Open {
				o := round(float64(snap.Due)/d, 2)
				p.Offered = &o
			}
		}
		if snap.Lag != nil {
			p.LagP99 = ms(snap.Lag.Quantile(0.99))
		}
		s.Timeline = append(s.Timeline, p)
		s.Generator.CPUMax = max(s.Generator.CPUMax, p.CPU)
		if cores > 0 && !perAgentCPU(res) && snap.GeneratorCPU >= cpuWarnFrac*float64(cores) {
			lagged++
		}
	}
	if total.Lag != nil {
		s.Generator.StartLag = latency(total.Lag)
	}
	s.Generator.Warnings, s.Generator.Reasons = warnings(res, total, lagged, cores)
	s.Agents = agentSummaries(res)
	s.Generator.Warnings, s.Generator.Reasons = agentWarnings(res, s.Generator.Warnings, s.Generator.Reasons)
	s.Generator.Limited = len(s.Generator.Reasons) > 0
	for i := range s.Thresholds {
		s.Thresholds[i].Limited = s.Generator.Limited
	}
	return s
}

// The reasons for which a run is generator-limited (Generator.Reasons).
const (
	ReasonStartLag = result.ReasonStartLag // open-model iterations started late
	ReasonDropped  = result.ReasonDropped  // due iterations never started
	ReasonCPU      = result.ReasonCPU      // the generator used (nearly) all its cores
	// ReasonSchedLatency: the generator's goroutines waited for its own
	// CPU, so it read responses late.
	ReasonSchedLatency = result.ReasonSchedLatency
)

// PlanOf describes p's offered load in the words of the CLI.
func PlanOf(p scenario.Plan) PlanInfo {
	l := p.Load
	out := PlanInfo{Model: l.Model.String(), MaxVUs: l.MaxVUs, Iterations: l.Iterations, Timeout: p.Timeout.String(), HTTP: p.HTTP}
	if l.Model == engine.Open {
		out.Rate = l.Rate
	} else {
		out.VUs = l.VUs
	}
	if l.Duration > 0 {
		out.Duration = l.Duration.String()
	}
	for _, st := range l.Stages {
		out.Stages = append(out.Stages, StageInfo{Duration: st.Duration.String(), Target: st.Target})
	}
	return out
}

// windowRows is about how many rows the windows table has at most.
const windowRows = 15

// windows groups the timeline into at most about windowRows rows of equal
// length, merging each row's sketches (never averaging percentiles).
func windows(res *result.Result) []Window {
	out := []Window{}
	tl := res.Timeline
	per := max(1, (len(tl)+windowRows-1)/windowRows)
	for i := 0; i < len(tl); i += per {
		span := metrics.Add(tl[i:min(i+per, len(tl))]...)
		t := span.Totals()
		w := Window{
			From: round(span.Start.Sub(res.Started).Seconds(), 3), To: round(span.End.Sub(res.Started).Seconds(), 3),
			Requests: t.Requests, Errors: t.Errors(), Dropped: span.Dropped,
		}
		if d := span.Duration().Seconds(); d > 0 {
			w.RPS = round(float64(t.Requests)/d, 2)
			w.Offered = float64(span.MaxVUs)
			if res.Plan.Load.Model == engine.Open {
				w.Offered = round(float64(span.Due)/d, 2)
			}
		}
		if t.Requests > 0 {
			p50, p99 := ms(t.Latency.Quantile(0.5)), ms(t.Latency.Quantile(0.99))
			w.P50, w.P99 = &p50, &p99
		}
		out = append(out, w)
	}
	return out
}

// targetWarnings are about what the target did.
func targetWarnings(total metrics.Snapshot) []string {
	w := []string{}
	t := total.Totals()
	if t.Requests > 0 && t.Errors() == t.Requests {
		top := ""
		if m := total.TopMessages(); len(m) > 0 {
			top = ", most often " + m[0].Message
		}
		w = append(w, fmt.Sprintf("every one of the %d requests failed%s: check the URL and that the target is up", t.Requests, top))
	}
	if total.CookiesDropped > 0 {
		w = append(w, fmt.Sprintf("the target set more cookies than a browser keeps: %d were dropped (docs/limits.md)", total.CookiesDropped))
	}
	return w
}

// warnings says, in words and as reasons, where the generator could not
// hold the plan.
func warnings(res *result.Result, total metrics.Snapshot, cpuBusy, cores int) (w, reasons []string) {
	w, reasons = []string{}, []string{}
	if res.Plan.Load.Model == engine.Open && total.Lag != nil && total.Lag.Count() > 0 {
		if p99 := total.Lag.Quantile(0.99); p99 > lagWarnP99 {
			w = append(w, fmt.Sprintf("iterations started late: start-lag p99 %s (the generator or its VU pool fell behind schedule; latencies still count from the due time)", p99.Round(time.Millisecond)))
			reasons = append(reasons, ReasonStartLag)
		}
	}
	if sched := total.GeneratorSched; sched != nil && sched.Count() > 0 {
		// Any model: a closed model's VUs read their responses late too.
		if p99 := sched.Quantile(0.99); p99 > lagWarnP99 {
			w = append(w, fmt.Sprintf("responses waited for Surge's CPU: scheduling latency p99 %s (the generator's goroutines waited that long to run, so it read responses late and the latencies include its own delay, not only the target's)", p99.Round(100*time.Microsecond)))
			reasons = append(reasons, ReasonSchedLatency)
		}
	}
	// Any model, like the scheduling latency. In a third of the intervals
	// or more, like the CPU: one interval's burst of another process (a
	// host's cron job) does not make the whole run the generator's. An
	// interval's wait is its most waiting agent's (metrics.Merge). A
	// warning, not a limit: a contended generator's run can still have
	// measured well (a capacity step counts it only when a latency
	// objective failed, which a whole run cannot tell), and a shared CI
	// machine waits that much on an easy run.
	waited, most := 0, 0.0
	for i := range res.Timeline {
		if g := res.Timeline[i].GeneratorWait; g >= result.WaitCores {
			waited++
			most = max(most, g)
		}
	}
	if n := len(res.Timeline); waited > 0 && waited*3 >= n {
		w = append(w, fmt.Sprintf("Surge's threads waited for a CPU: ≥ %.2f cores of wait in %d of %d intervals, at most %.2f (other processes held its cores): the latencies may hold its own delay — give the generator cores of its own", result.WaitCores, waited, n, most))
	}
	if total.Dropped > 0 {
		of := ""
		if total.Due > 0 {
			of = fmt.Sprintf(" of %d due", total.Due)
		}
		w = append(w, fmt.Sprintf("%d iterations%s were dropped: they never started (no VU free within the request timeout, the generator fell behind, or the run was stopped); raise --max-vus, or the target is saturated", total.Dropped, of))
		reasons = append(reasons, ReasonDropped)
	}
	if n := len(res.Timeline); n > 0 && cpuBusy*3 >= n && cpuBusy > 0 {
		w = append(w, fmt.Sprintf("the generator used ≥ %.0f%% of its %d CPU cores in %d of %d intervals: results may be limited by the generator, not the target", cpuWarnFrac*100, cores, cpuBusy, n))
		reasons = append(reasons, ReasonCPU)
	}
	return w, reasons
}

func evaluate(expr string, total metrics.Snapshot, elapsed time.Duration) ThresholdOutcome {
	out := ThresholdOutcome{Expr: expr}
	t, err := metrics.ParseThreshold(expr)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	if t.Monitor != "" {
		return evaluateMonitor(out, t, nil) // AddMonitors evaluates it on the monitors
	}
	v, found := t.Measure(total, elapsed)
	if !found || math.IsNaN(v) {
		out.Error = t.Missing(total) // no such endpoint or flow, or no finished iteration of the flow
		return out
	}
	out.Value = round(v, 3)
	out.OK = t.Holds(v)
	switch t.Unit {
	case metrics.Milliseconds:
		out.Unit = "ms"
	case metrics.Percent:
		out.Unit = "%"
	}
	return out
}

// MarshalJSON writes an interval in which no request completed with null
// latencies: it has none, and 0 ms would draw a dive on every chart.
func (p Point) MarshalJSON() ([]byte, error) {
	type plain Point
	if p.Requests > 0 {
		return json.Marshal(plain(p))
	}
	return json.Marshal(struct {
		plain
		P50 *float64 `json:"p50"`
		P90 *float64 `json:"p90"`
		P95 *float64 `json:"p95"`
		P99 *float64 `json:"p99"`
		Max *float64 `json:"max"`
	}{plain: plain(p)})
}

func latency(s *metrics.Sketch) Latency {
	if s == nil {
		return Latency{}
	}
	return Latency{
		Min: ms(s.Min()), Mean: ms(s.Mean()), P50: ms(s.Quantile(0.5)), P90: ms(s.Quantile(0.9)),
		P95: ms(s.Quantile(0.95)), P99: ms(s.Quantile(0.99)), P999: ms(s.Quantile(0.999)), Max: ms(s.Max()),
	}
}

// phasesMs is the figures of each phase that was recorded; nil when none
// was.
func phasesMs(ps *metrics.PhaseSketches) map[string]PhaseMs {
	var m map[string]PhaseMs
	for p := range metrics.NumPhases {
		st, ok := ps.Stats(p)
		if !ok {
			continue
		}
		if m == nil {
			m = make(map[string]PhaseMs, metrics.NumPhases)
		}
		m[p.String()] = PhaseMs{P50: ms(st.P50), P95: ms(st.P95), P99: ms(st.P99), Max: ms(st.Max)}
	}
	return m
}

// protocols is the non-zero protocol counts; nil when there are none.
func protocols(c *[metrics.NumProtos]int64) map[string]int64 {
	var m map[string]int64
	for p, n := range c {
		if n == 0 {
			continue
		}
		if m == nil {
			m = make(map[string]int64, 2)
		}
		m[metrics.Proto(p).String()] = n
	}
	return m
}

func classes(e *metrics.Endpoint) map[string]int64 {
	m := make(map[string]int64, metrics.NumClasses)
	for _, c := range metrics.ErrorClasses() {
		m[c.String()] = e.Classes[c]
	}
	return m
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return round(100*float64(a)/float64(b), 4)
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// Passed reports whether every threshold held.
func (s *Summary) Passed() bool {
	for _, t := range s.Thresholds {
		if !t.OK {
			return false
		}
	}
	return true
}
