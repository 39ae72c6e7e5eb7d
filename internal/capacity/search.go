package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// Phases of a search's steps.
const (
	PhaseGrow    = "grow"
	PhaseBisect  = "bisect"
	PhaseConfirm = "confirm"
)

// Step is one rate the search held and what it measured in the step's
// judged window.
type Step struct {
	Phase string  `json:"phase"`
	Rate  float64 `json:"rate"` // offered, iterations/s
	// AchievedIPS is the iterations that finished per second of the
	// window, the figure to hold against Rate; AchievedRPS the requests
	// that completed (errors too): the same for a flow of one request,
	// a multiple of it for a flow of several.
	AchievedIPS float64 `json:"achieved_ips"`
	AchievedRPS float64 `json:"achieved_rps"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	ErrorRate   float64 `json:"error_rate"` // percent of the window's requests
	OK          bool    `json:"ok"`         // every objective held
	// Failed lists the objectives that did not hold, with their values.
	Failed []string `json:"failed,omitempty"`
	// GeneratorLimited says Surge could not offer the rate as planned;
	// GeneratorReasons says why.
	GeneratorLimited bool     `json:"generator_limited"`
	GeneratorReasons []string `json:"generator_reasons,omitempty"`
	StartLagP99      float64  `json:"start_lag_p99_ms"`
	// Early says the step was stopped before its window was complete,
	// because it was clearly failing (Reason says how).
	Early  bool   `json:"stopped_early,omitempty"`
	Steady bool   `json:"steady"`
	Reason string `json:"reason,omitempty"`
	// WindowS is the judged window's length; RecoveryS how long the
	// target took to recover after the step (0: no recovery needed).
	WindowS   float64 `json:"window_s"`
	RecoveryS float64 `json:"recovery_s,omitempty"`
	// The health probe's answered latencies in the window (exact
	// percentiles, ms; absent when none answered), how many probes were
	// sent and how many failed: present only with a probe.
	ProbeP50    *float64 `json:"probe_p50_ms,omitempty"`
	ProbeP99    *float64 `json:"probe_p99_ms,omitempty"`
	ProbeN      *int     `json:"probes,omitempty"`
	ProbeErrors *int     `json:"probe_errors,omitempty"`
	// Monitors are the monitored series' lowest and highest values in the
	// window, by monitor and series: present only with monitors.
	Monitors map[string]map[string]Range `json:"monitors,omitempty"`

	Start, End time.Time        `json:"-"` // the judged window
	window     metrics.Snapshot // the window's merged snapshot
	okRPS      float64          // successful requests per second of the window
	okIPS      float64          // successful iterations per second of the window
	intervals  []metrics.Snapshot
	// probeLastErr is the window's last probe failure; mon the monitors'
	// series at the step's end (monitor.go).
	probeLastErr string
	mon          []monitorAt
}

// Range is a series' lowest and highest value in a step.
type Range struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// passes says the step is a rate the target was shown to sustain: every
// objective held and Surge offered the rate as planned.
func (s *Step) passes() bool { return s.OK && !s.GeneratorLimited }

// errNoData is returned when a session publishes nothing for a whole step.
var errNoData = errors.New("capacity: the session published no intervals during a step")

type searcher struct {
	o     Options
	s     Session
	steps []Step
	base  *Step   // the lowest passing step: the baseline latency
	bound float64 // the tightest latency objective, ms (0: none)
	probe Prober  // nil without a probe
}

// Search runs a capacity search on s, which must be an open-model run
// that has started and runs long enough for the whole search (the caller
// stops it after Search returns). It returns what it found, also when ctx
// ends it early: then err is ctx's cause and the result covers the steps
// so far.
func Search(ctx context.Context, s Session, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	sr := &searcher{o: o, s: s, probe: o.Prober}
	var hp *httpProber
	if sr.probe == nil && o.Probe != "" {
		hp = newHTTPProber(o)
		sr.probe = hp
	}
	for _, t := range o.SLO {
		if t.Unit == metrics.Milliseconds && (t.Op == "<" || t.Op == "<=") && (sr.bound == 0 || t.Value < sr.bound) {
			sr.bound = t.Value
		}
	}
	started := o.Clock.Now()
	res := &Result{Schema: Schema, Target: o.Target, Started: started, Precision: o.Precision, Probe: o.Probe}
	for _, t := range o.SLO {
		res.SLO = append(res.SLO, t.Expr)
	}
	var stopProbe func()
	if hp != nil {
		stopProbe = hp.start()
	}
	err = sr.run(ctx, res)
	if stopProbe != nil {
		// The probes in flight finish (within their timeout), so that each
		// step's figures include the ones that waited longest.
		stopProbe()
		for i := range sr.steps {
			sr.probeStep(&sr.steps[i])
		}
		if sr.base != nil {
			sr.probeStep(sr.base)
		}
	}
	res.Steps = sr.steps
	if res.Steps == nil {
		res.Steps = []Step{}
	}
	sr.analyse(res)
	res.DurationS = round(o.Clock.Now().Sub(started).Seconds(), 1)
	return res, err
}

func (sr *searcher) run(ctx context.Context, res *Result) error {
	o := sr.o
	sr.s.Adjust(o.Start)
	if err := o.Clock.Sleep(ctx, o.Warmup); err != nil {
		return err
	}
	// Growth: lo is the highest passing rate, hi the lowest failing one.
	lo, hi := 0.0, 0.0
	for r := o.Start; ; r = math.Min(r*o.Growth, o.Max) {
		st, err := sr.step(ctx, r, PhaseGrow, o.Window, lo, hi)
		if err != nil {
			return err
		}
		if !st.passes() {
			hi = r
			break
		}
		lo = r
		if r >= o.Max || len(sr.steps) >= maxSteps {
			break
		}
	}
	if lo == 0 {
		res.StartMissed = true
		return nil
	}
	for hi > 0 && hi-lo > o.Precision*lo && len(sr.steps) < maxSteps {
		mid := (lo + hi) / 2
		st, err := sr.step(ctx, mid, PhaseBisect, o.Window, lo, hi)
		if err != nil {
			return err
		}
		if st.passes() {
			lo = mid
		} else {
			hi = mid
		}
	}
	for range confirmTries {
		st, err := sr.step(ctx, lo, PhaseConfirm, o.Confirm, lo, hi)
		if err != nil {
			return err
		}
		if st.passes() {
			res.Confirmed = true
			res.MaxRate = round(lo, 2)
			return nil
		}
		if st.GeneratorLimited {
			continue // held twice, spoiled twice: try the same rate again
		}
		// The bisection put the limit within Precision below lo: step
		// down by half of it.
		hi, lo = lo, lo*(1-o.Precision/2)
	}
	// Never confirmed: the highest rate that passed a step below every
	// failed one, said to be unconfirmed.
	for _, st := range sr.steps {
		if st.passes() && st.Rate < hi && st.Rate > res.MaxRate {
			res.MaxRate = round(st.Rate, 2)
		}
	}
	return nil
}

// step runs a step at rate, and runs it once more when the generator
// limited it: a step Surge itself spoiled (a stall of a busy machine, a
// burst of late starts) says nothing of the target, so it is held again
// before it counts. A second limited one counts as not passing.
func (sr *searcher) step(ctx context.Context, rate float64, phase string, window time.Duration, lo, hi float64) (Step, error) {
	st, err := sr.stepOnce(ctx, rate, phase, window, lo, hi)
	if err != nil || !st.GeneratorLimited || len(sr.steps) >= maxSteps {
		return st, err
	}
	return sr.stepOnce(ctx, rate, phase, window, lo, hi)
}

// stepOnce holds rate for a settle time and a judged window (extended once
// when it passes but is not steady), after letting the target recover
// from the previous step if it needs to.
func (sr *searcher) stepOnce(ctx context.Context, rate float64, phase string, window time.Duration, lo, hi float64) (Step, error) {
	o := sr.o
	if n := len(sr.steps); n > 0 && sr.needsRecovery(sr.steps[n-1]) {
		took, err := sr.recover(ctx)
		sr.steps[n-1].RecoveryS = round(took.Seconds(), 1)
		if err != nil {
			return Step{}, err
		}
	}
	t0 := o.Clock.Now()
	sr.s.Adjust(rate)
	settled := t0.Add(o.Settle)
	// Intervals are published up to an interval late; a step whose window
	// never fills (a stalled session) is judged on what it has by then.
	deadline := settled.Add(2*window + 4*o.Interval + 2*time.Second)
	need, extended := window, false
	for {
		if err := o.Clock.Sleep(ctx, o.Interval); err != nil {
			return Step{}, err
		}
		snaps, _ := sr.s.Live()
		since := from(snaps, t0)
		if why := sr.clearlyFailing(since, rate); why != "" {
			st := sr.judge(since, rate, phase)
			st.OK, st.Early, st.Reason = false, true, why
			return sr.done(st, lo, hi), nil
		}
		win := from(snaps, settled)
		full := span(win) >= need
		if !full && o.Clock.Now().Before(deadline) {
			continue
		}
		if len(win) == 0 {
			return Step{}, fmt.Errorf("%w (rate %v, %v)", errNoData, rate, o.Clock.Now().Sub(t0).Round(time.Millisecond))
		}
		st := sr.judge(win, rate, phase)
		if st.OK && !st.Steady {
			if !extended && full {
				extended, need = true, need+window
				continue
			}
			st.OK = false
			st.Reason = fmt.Sprintf("latency still rising after %.0fs (p50 %s in the window's first half, %s in its second): the queue grows, so the rate is above capacity", span(win).Seconds(), fmtMS(sr.half(win, false, 0.5)), fmtMS(sr.half(win, true, 0.5)))
		}
		return sr.done(st, lo, hi), nil
	}
}

// done judges the generator's part in st, records st and reports it.
func (sr *searcher) done(st Step, lo, hi float64) Step {
	sr.judgeGenerator(&st)
	sr.probeStep(&st)
	sr.monitorStep(&st)
	if st.passes() && (sr.base == nil || st.Rate < sr.base.Rate) {
		b := st
		sr.base = &b
	}
	sr.steps = append(sr.steps, st)
	if sr.o.Progress != nil {
		if !st.passes() {
			hi = st.Rate
		} else if st.Rate > lo {
			lo = st.Rate
		}
		sr.o.Progress(st, sr.left(st.Phase, lo, hi))
	}
	return st
}

// left estimates the search's remaining time after a step of phase, with
// lo and hi the bracket so far (hi 0: nothing failed yet).
func (sr *searcher) left(phase string, lo, hi float64) time.Duration {
	o := sr.o
	stepT := o.Settle + o.Window + o.Interval
	bisect := func(lo, hi float64) int {
		if lo <= 0 || hi <= lo {
			return 0
		}
		return int(math.Ceil(math.Log2((hi - lo) / (o.Precision * lo))))
	}
	switch {
	case phase == PhaseConfirm:
		return 0
	case hi == 0 && lo >= o.Max:
		return o.Settle + o.Confirm
	case hi == 0:
		// One more growth step at least, then bisection of its bracket.
		return time.Duration(1+bisect(lo, lo*o.Growth))*stepT + o.Settle + o.Confirm
	case lo == 0:
		return 0
	}
	return time.Duration(bisect(lo, hi))*stepT + o.Settle + o.Confirm
}

func (sr *searcher) needsRecovery(prev Step) bool {
	if !prev.OK {
		return true
	}
	return sr.base != nil && prev.P99 > 2*sr.base.P99+5
}

// recover drops the rate to the start rate until an interval's p99 is back
// near the baseline, for at most Recover.
func (sr *searcher) recover(ctx context.Context) (time.Duration, error) {
	o := sr.o
	t0 := o.Clock.Now()
	sr.s.Adjust(o.Start)
	limit := 5.0 // ms above a baseline-less target's idle latency
	if sr.base != nil {
		limit = 2*sr.base.P99 + 5
	}
	for o.Clock.Now().Sub(t0) < o.Recover {
		if err := o.Clock.Sleep(ctx, o.Interval); err != nil {
			return o.Clock.Now().Sub(t0), err
		}
		snaps, _ := sr.s.Live()
		since := from(snaps, t0)
		if len(since) == 0 {
			continue
		}
		last := since[len(since)-1].Totals()
		if last.Requests > 0 && ms(last.Latency.Quantile(0.99)) <= limit && last.Errors() == 0 && sr.probeRecovered(t0) {
			break
		}
	}
	return o.Clock.Now().Sub(t0), nil
}

// probeRecovered says the health probe is back near its baseline: the
// latest probe sent since t0 answered within 2× the baseline's probe p99
// plus 5 ms. Without a probe, a baseline or a probe since t0, it does not
// hold the recovery back.
func (sr *searcher) probeRecovered(t0 time.Time) bool {
	if sr.probe == nil || sr.base == nil || sr.base.ProbeP99 == nil {
		return true
	}
	ps := sr.probe.Samples(t0, sr.o.Clock.Now().Add(time.Nanosecond))
	if len(ps) == 0 {
		return true
	}
	last := ps[len(ps)-1]
	return last.Err == "" && ms(last.Latency) <= 2**sr.base.ProbeP99+5
}

// from returns the snapshots that started at or after t.
func from(snaps []metrics.Snapshot, t time.Time) []metrics.Snapshot {
	for i, s := range snaps {
		if !s.Start.Before(t) {
			return snaps[i:]
		}
	}
	return nil
}

// span is the time the snapshots cover.
func span(snaps []metrics.Snapshot) time.Duration {
	var d time.Duration
	for _, s := range snaps {
		d += s.Duration()
	}
	return d
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}
