package capacity

import (
	"fmt"
	"math"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/result"
)

// Generator limits are the run summary's (result.StartLagLimit,
// result.CPUBusyFrac, result.WaitCores): a step is generator-limited by
// the rules a run is.
const (
	lagLimit    = result.StartLagLimit
	cpuBusyFrac = result.CPUBusyFrac
	waitCores   = result.WaitCores
	// vuSlack is how much more concurrency than Little's law at the
	// baseline latency a rate may need before a full VU pool is the
	// generator's fault, not the target's slowness.
	vuSlack = 1.5
)

// judge measures a step on its window: the window's snapshots added into
// one, every objective measured on that merged snapshot.
func (sr *searcher) judge(win []metrics.Snapshot, rate float64, phase string) Step {
	st := Step{Phase: phase, Rate: round(rate, 2), Steady: true}
	if len(win) == 0 {
		st.Reason = "no interval was published"
		return st
	}
	total := metrics.Add(win...)
	dur := span(win)
	tot := total.Totals()
	st.Start, st.End, st.window = win[0].Start, win[len(win)-1].End, total
	st.WindowS = round(dur.Seconds(), 2)
	if dur > 0 {
		st.AchievedRPS = round(float64(tot.Requests)/dur.Seconds(), 2)
	}
	st.P50 = round(ms(tot.Latency.Quantile(0.5)), 3)
	st.P99 = round(ms(tot.Latency.Quantile(0.99)), 3)
	if dur > 0 {
		st.okRPS = float64(tot.Classes[metrics.OK]) / dur.Seconds()
		st.AchievedIPS = round(float64(total.Iterations)/dur.Seconds(), 2)
		st.okIPS = okIterations(total) / dur.Seconds()
	}
	if tot.Requests > 0 {
		st.ErrorRate = round(100*float64(tot.Errors())/float64(tot.Requests), 3)
	}
	if total.Lag != nil {
		st.StartLagP99 = round(ms(total.Lag.Quantile(0.99)), 3)
	}
	for _, t := range sr.o.SLO {
		v, found := t.Measure(total, dur)
		switch {
		case !found || math.IsNaN(v): // no such endpoint or flow, or no iteration of the flow finished
			st.Failed = append(st.Failed, fmt.Sprintf("%s (%s)", t.Expr, t.Missing(total)))
		case !t.Holds(v):
			st.Failed = append(st.Failed, fmt.Sprintf("%s: %s", t.Expr, value(t, v)))
		}
	}
	st.OK = len(st.Failed) == 0 && tot.Requests > 0
	if tot.Requests == 0 {
		st.Reason = "no request completed in the window"
	}
	// A rate at which every request failed is not one the target takes,
	// whatever objectives the errors met: a wrong URL answering 404 at
	// once would otherwise "pass" up to --max.
	if st.OK && tot.Classes[metrics.OK] == 0 {
		st.OK = false
		st.Reason = "every request failed"
		if top := total.TopMessages(); len(top) > 0 {
			st.Reason += fmt.Sprintf(", mostly %q (%d)", top[0].Message, top[0].Count)
		}
		st.Reason += ": the objectives do not judge errors, so give one that does (--slo 'errors<1%')"
	}
	// In a steady state as many iterations finish as fall due (Due counts
	// iterations, whatever number of requests each sends); a window that
	// finished fewer (beyond 5 %, a few iterations, and those the rate
	// change still has in flight) holds a growing queue, whatever its
	// percentiles say so far. The generator check (judgeGenerator) then
	// says whether the queue was Surge's.
	if deficit := total.Due - total.Iterations; st.OK && total.Due > 0 && float64(deficit) > math.Max(0.05*float64(total.Due), 3)+sr.inFlight(rate, total) {
		st.OK = false
		st.Reason = fmt.Sprintf("%d of %d due iterations finished in the window: iterations pile up, so the rate is above capacity", total.Iterations, total.Due)
	}
	if len(win) >= 2 {
		// Steady: the second half's median is not well above the first
		// half's. Below capacity a queue's latency is the same in both; one
		// that grows through the window is a rate above capacity.
		first, second := sr.half(win, false, 0.5), sr.half(win, true, 0.5)
		rising := second > 1.25*first+2
		if sr.base != nil {
			rising = rising && second > 1.5*sr.base.P50+1
		}
		st.Steady = !rising
	}
	st.intervals = win
	return st
}

// okIterations is how many of the snapshot's finished iterations
// succeeded: the flows' iterations that failed (a failed request or check)
// left out. A snapshot without flow figures counts its iterations in the
// proportion of its requests that succeeded, exact for flows of one
// request.
func okIterations(s metrics.Snapshot) float64 {
	if len(s.Flows) > 0 {
		var failed int64
		for _, f := range s.Flows {
			failed += f.Errors
		}
		return float64(max(s.Iterations-failed, 0))
	}
	tot := s.Totals()
	if tot.Requests == 0 {
		return 0
	}
	return float64(s.Iterations) * float64(tot.Classes[metrics.OK]) / float64(tot.Requests)
}

// multiRequest is the requests per iteration above which a run's flows
// are taken to send several requests each (polls make the count vary).
const multiRequest = 1.05

// perIteration is the requests the snapshot's finished iterations sent
// each, on average: requests completed over iterations finished (0 when
// none finished).
func perIteration(s metrics.Snapshot) float64 {
	if s.Iterations == 0 {
		return 0
	}
	return float64(s.Totals().Requests) / float64(s.Iterations)
}

// iterationTime is the mean time an iteration of s took end to end (its
// flows' durations, think time left out), or 0 without flow figures.
func iterationTime(s metrics.Snapshot) time.Duration {
	var sum float64
	var n uint64
	for _, f := range s.Flows {
		if f.Duration == nil || f.Duration.Count() == 0 {
			continue
		}
		c := f.Duration.Count()
		sum += float64(f.Duration.Mean()) * float64(c)
		n += c
	}
	if n == 0 {
		return 0
	}
	return time.Duration(sum / float64(n))
}

// inFlight is the slack the completion check gives a step at rate for
// iterations longer than the settle time: those that fell due before the
// window at the previous step's rate and finish in it are fewer than the
// window's due ones, with no queue growing. It is the rate times the
// iteration time past the settle time — the baseline's iteration time
// (not inflated by a queue), or the window's before there is a baseline.
func (sr *searcher) inFlight(rate float64, win metrics.Snapshot) float64 {
	d := iterationTime(win)
	if sr.base != nil {
		d = iterationTime(sr.base.window)
	}
	if past := d - sr.o.Settle; past > 0 {
		return rate * past.Seconds()
	}
	return 0
}

// half is the q-quantile of the window's first or second half, in ms.
func (sr *searcher) half(win []metrics.Snapshot, second bool, q float64) float64 {
	h := len(win) / 2
	part := win[:h]
	if second {
		part = win[h:]
	}
	sum := metrics.Add(part...)
	t := sum.Totals()
	return ms(t.Latency.Quantile(q))
}

// judgeGenerator sets whether Surge itself limited the step, once its
// verdict is final. A step that met its objectives at the rate offered
// (achieved within 5 %) is a pass whatever the generator's figures:
// irregular starts only make a test harsher.
func (sr *searcher) judgeGenerator(st *Step) {
	if len(st.intervals) == 0 || (st.OK && st.AchievedIPS >= 0.95*st.Rate) {
		return
	}
	latencyFailed := st.AchievedIPS < 0.95*st.Rate || st.Reason != ""
	for _, t := range sr.o.SLO {
		if t.Unit == metrics.Milliseconds && !holds(t, st.window) {
			latencyFailed = true
		}
	}
	st.GeneratorReasons = sr.generator(st.intervals, st.window, st.Rate, latencyFailed)
	st.GeneratorLimited = len(st.GeneratorReasons) > 0
}

// generator says why Surge itself could not offer rate in the window, if
// it could not (see the package doc). Late starts are a reason only when
// latency failed (lateness is in the latency; a target's 500s are its own).
func (sr *searcher) generator(win []metrics.Snapshot, total metrics.Snapshot, rate float64, latencyFailed bool) []string {
	var why []string
	o := sr.o
	poolFull := o.MaxVUs > 0 && total.MaxVUs >= o.MaxVUs
	limit := lagLimit
	if b := time.Duration(sr.bound * 0.1 * float64(time.Millisecond)); b > limit {
		limit = b
	}
	// rise is how far the step's p99 rose over the baseline's (all of it
	// before there is a baseline).
	rise := total.Totals().Latency.Quantile(0.99)
	if sr.base != nil {
		rise -= time.Duration(sr.base.P99 * float64(time.Millisecond))
	}
	// lag is the start lag's p99 where it may count: with the pool full a
	// late start is a wait for a VU the target's slowness holds.
	var lag time.Duration
	if latencyFailed && !poolFull && total.Lag != nil && total.Lag.Count() > 0 {
		// Late starts count when they explain the latency: at least half
		// of the p99's rise over the baseline is start lag. A loaded
		// machine delays a few starts by some ms without that.
		lag = total.Lag.Quantile(0.99)
		if lag > limit && 2*lag >= rise {
			why = append(why, fmt.Sprintf("iterations started late (start-lag p99 %s > %s)", lag.Round(100*time.Microsecond), limit))
		}
	}
	if latencyFailed && total.GeneratorSched != nil && total.GeneratorSched.Count() > 0 {
		// Responses read late count the same way: Surge's goroutines
		// waited, runnable, for its own CPU (the runtime's scheduling
		// latency), and that wait explains at least half of the p99's
		// rise — with iterations that started on time and CPU just under
		// cpuBusyFrac. It counts with the VU pool full too: reads that
		// wait for the CPU hold their VUs, so the generator fills its
		// own pool. The same floor as start lag: a loaded machine's
		// sub-ms scheduling never counts. A request that started late and
		// was then read late holds both delays, so the two together may
		// explain half the rise; the late reads are then named beside the
		// late starts (their cause too, when the CPU was busy), or alone
		// when the start lag did not explain half the rise by itself.
		p99 := total.GeneratorSched.Quantile(0.99)
		switch {
		case p99 <= limit:
		case 2*p99 >= rise:
			why = append(why, fmt.Sprintf("responses waited for Surge's CPU (scheduling latency p99 %s of the p99's %s rise)", fmtMS(ms(p99)), fmtMS(ms(max(rise, 0)))))
		case 2*(p99+lag) >= rise:
			why = append(why, fmt.Sprintf("responses waited for Surge's CPU (scheduling latency p99 %s, with start-lag p99 %s, of the p99's %s rise)", fmtMS(ms(p99)), fmtMS(ms(lag)), fmtMS(ms(max(rise, 0)))))
		}
	}
	if !poolFull && total.Dropped > 0 {
		why = append(why, fmt.Sprintf("%d of %d due iterations dropped with VUs free", total.Dropped, total.Due))
	}
	if o.Cores > 0 {
		busy := 0
		for _, s := range win {
			if s.GeneratorCPU >= cpuBusyFrac*float64(o.Cores) {
				busy++
			}
		}
		if busy > 0 && 3*busy >= len(win) {
			why = append(why, fmt.Sprintf("generator CPU ≥ %.0f%% of its %d cores in %d of %d intervals", cpuBusyFrac*100, o.Cores, busy, len(win)))
		}
	}
	// Surge's threads waited for a CPU the OS gave to other processes
	// (metrics.Snapshot.GeneratorWait, the threads' schedstat run_delay):
	// a generator held off its cores reads responses late, with its CPU
	// under cpuBusyFrac (it gets less CPU, not more) and its runtime's
	// scheduling latency blind to it. It counts when latency failed and
	// the window's wait is at least waitCores: the window's mean, each
	// interval weighted by its length (the window's total wait over its
	// length), not one interval's peak — the rule names the generator as
	// the whole step's limit, which a sustained competition for its cores
	// is and one interval's burst (a host's cron job) is not. Like the
	// late reads it counts with the VU pool full: reads the OS runs late
	// hold their VUs.
	if latencyFailed {
		var waited, length float64
		for _, s := range win {
			d := s.Duration().Seconds()
			if d > 0 {
				waited += s.GeneratorWait * d
				length += d
			}
		}
		if length > 0 && waited/length >= waitCores {
			why = append(why, fmt.Sprintf("Surge's threads waited for a CPU (%.2f cores of wait: other processes held its cores)", waited/length))
		}
	}
	if poolFull {
		// s a VU is held per iteration: the baseline's mean latency (this
		// step's p50 before one), or for a flow of several requests the
		// baseline's (this step's) mean iteration time.
		service := 0.0
		if sr.base != nil {
			service = sr.base.window.Totals().Latency.Mean().Seconds()
			if it := iterationTime(sr.base.window); perIteration(sr.base.window) > multiRequest && it > 0 {
				service = it.Seconds()
			}
		} else {
			service = total.Totals().Latency.Quantile(0.5).Seconds()
			if it := iterationTime(total); perIteration(total) > multiRequest && it > 0 {
				service = it.Seconds()
			}
		}
		if need := rate * service * vuSlack; float64(o.MaxVUs) < need {
			why = append(why, fmt.Sprintf("the VU cap (%d) was reached, below the %.0f the rate needs at the target's unloaded latency (%.0f/s × %s × %.1f)", o.MaxVUs, math.Ceil(need), rate, fmtMS(service*1000), vuSlack))
		}
	}
	return why
}

// clearlyFailing says why the intervals since the rate change show a step
// that is clearly failing, or "" (see the package doc).
func (sr *searcher) clearlyFailing(since []metrics.Snapshot, rate float64) string {
	n := len(since)
	if n < 2 {
		return ""
	}
	last2 := since[n-2:]
	if rate > 0 && requests(last2[0]) == 0 && requests(last2[1]) == 0 && last2[0].Due+last2[1].Due > 0 {
		return "no request completed in two intervals"
	}
	for _, t := range sr.o.SLO {
		at := func(s metrics.Snapshot) float64 { v, _ := t.Measure(s, s.Duration()); return v }
		switch {
		case t.Unit == metrics.Milliseconds && (t.Op == "<" || t.Op == "<="):
			if a, b := at(last2[0]), at(last2[1]); a > 3*t.Value && b > 3*t.Value {
				return fmt.Sprintf("%s far past its bound: %s, then %s", t.Metric, fmtMS(a), fmtMS(b))
			}
			if n >= 3 {
				a, b, c := at(since[n-3]), at(since[n-2]), at(since[n-1])
				if a > t.Value && b > a && c > b {
					return fmt.Sprintf("%s growing past its bound: %s → %s → %s", t.Metric, fmtMS(a), fmtMS(b), fmtMS(c))
				}
			}
		case t.Unit == metrics.Percent && (t.Metric == "errors" || t.Metric == "error_rate") && (t.Op == "<" || t.Op == "<="):
			far := math.Max(5*t.Value, t.Value+10)
			if a, b := at(last2[0]), at(last2[1]); a > far && b > far {
				return fmt.Sprintf("errors far past the objective: %.1f%%, then %.1f%%", a, b)
			}
		}
	}
	return ""
}

// value formats a measured objective value in its unit.
func value(t metrics.Threshold, v float64) string {
	switch t.Unit {
	case metrics.Milliseconds:
		return fmtMS(v)
	case metrics.Percent:
		return fmt.Sprintf("%.2f%%", v)
	}
	return fmt.Sprintf("%.4g", v)
}

func requests(s metrics.Snapshot) int64 { return s.Totals().Requests }
