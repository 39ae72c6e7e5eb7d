package capacity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
)

// Schema is the version of the result's JSON (CONTRACT.md).
const Schema = "surge.capacity/v1"

// Bottleneck kinds.
const (
	KindCPU         = "cpu"
	KindMemory      = "memory"
	KindNetwork     = "network"
	KindConnections = "connections"
	KindConcurrency = "concurrency"
	KindErrors      = "errors"
	KindGenerator   = "generator"
	KindUnknown     = "unknown"
)

// Result is what a search found: surge.capacity/v1.
type Result struct {
	Schema string   `json:"schema"`
	Target string   `json:"target,omitempty"`
	SLO    []string `json:"slo"`
	// MaxRate is the highest rate that met every objective (confirmed by
	// holding it when Confirmed); 0 when even the start rate missed.
	MaxRate float64 `json:"max_rate"`
	// LowerBound says the target may take more: the search reached its
	// maximum, or the generator limited it.
	LowerBound  bool    `json:"lower_bound"`
	Confirmed   bool    `json:"confirmed"`
	StartMissed bool    `json:"start_missed"`
	KneeRate    float64 `json:"knee_rate"`
	// PlateauIPS is the most successful iterations per second any step
	// achieved (to hold against the rates, which are iterations/s);
	// PlateauRPS the most successful requests per second.
	PlateauIPS float64 `json:"plateau_ips"`
	PlateauRPS float64 `json:"plateau_rps"`
	// RequestsPerIteration is how many requests an iteration sent, on
	// average over the passing steps' windows: 1 for a flow of one
	// request. Above 1, Little's law is applied to iterations.
	RequestsPerIteration float64 `json:"requests_per_iteration"`
	Precision            float64 `json:"precision"`
	Steps                []Step  `json:"steps"`
	// Bottleneck is what stopped the target at MaxRate.
	Bottleneck Bottleneck `json:"bottleneck"`
	// Probe is the health endpoint sampled throughout (Options.Probe);
	// ProbeStarved says how it fared under load when it starved.
	Probe        string    `json:"probe,omitempty"`
	ProbeStarved string    `json:"probe_starved,omitempty"`
	Started      time.Time `json:"started"`
	DurationS    float64   `json:"duration_s"`
}

// Bottleneck names what limited the target, with the evidence.
type Bottleneck struct {
	Kind     string `json:"kind"`
	Evidence string `json:"evidence"`
	// Concurrency and ServiceMS are the Little's-law estimate (requests
	// in service at once, time each holds its slot), where it applies.
	// For flows of several requests ServiceMS is an iteration's time in
	// service (its requests' service times added), and Concurrency the
	// plateau of iterations/s times it.
	Concurrency *float64 `json:"concurrency,omitempty"`
	ServiceMS   *float64 `json:"service_ms,omitempty"`
}

// WriteJSON writes r as surge.capacity/v1, indented.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // objectives read "p99<250ms", not "p99\u003c250ms"
	return enc.Encode(r)
}

// WriteHTML writes r as a self-contained page: the verdict, the curve
// (achieved against offered rate, p50/p99 and the probe against rate, the
// knee and max rate marked), the monitors per step and the steps, with r's
// surge.capacity/v1 embedded (report.WriteCapacityHTML).
func WriteHTML(w io.Writer, r *Result) error {
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		return err
	}
	return report.WriteCapacityHTML(w, b.Bytes())
}

// StepLine is the one-line account of a step that the live output prints.
func StepLine(s Step) string {
	verdict := "ok"
	if !s.OK {
		verdict = "FAIL"
	}
	line := fmt.Sprintf("%-7s %8.1f/s → %8.1f/s", s.Phase, s.Rate, s.AchievedIPS)
	if multi(s.AchievedRPS, s.AchievedIPS) {
		line += fmt.Sprintf(" (%7.1f req/s)", s.AchievedRPS)
	}
	line += fmt.Sprintf("  p50 %9s  p99 %9s  errors %6.2f%%  %s", fmtMS(s.P50), fmtMS(s.P99), s.ErrorRate, verdict)
	if s.ProbeN != nil {
		switch {
		case *s.ProbeN == 0:
			line += "  probe –"
		case *s.ProbeErrors == *s.ProbeN:
			line += fmt.Sprintf("  probe all %d failed", *s.ProbeN)
		default:
			line += fmt.Sprintf("  probe p50 %s p99 %s", fmtMS(*s.ProbeP50), fmtMS(*s.ProbeP99))
			if *s.ProbeErrors > 0 {
				line += fmt.Sprintf(" (%d of %d failed)", *s.ProbeErrors, *s.ProbeN)
			}
		}
	}
	var notes []string
	if len(s.Failed) > 0 {
		notes = append(notes, strings.Join(s.Failed, ", "))
	}
	if s.Reason != "" {
		notes = append(notes, s.Reason)
	}
	if s.GeneratorLimited {
		notes = append(notes, "generator-limited: "+strings.Join(s.GeneratorReasons, "; "))
	}
	if len(notes) > 0 {
		line += "  (" + strings.Join(notes, "; ") + ")"
	}
	return line
}

// WriteText writes the result for a terminal: every step, the curve in
// brief, and the verdict.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\ncapacity search: %s, objectives %s\n\n", orDash(r.Target), strings.Join(r.SLO, ", "))
	for _, s := range r.Steps {
		b.WriteString("  " + StepLine(s) + "\n")
	}
	b.WriteString("\n")
	writeCurve(&b, r)
	switch {
	case r.StartMissed:
		hint := "try a lower --start"
		if len(r.Steps) > 0 && r.Steps[0].ErrorRate == 100 {
			hint = "every request failed: check the URL and that the target is up"
		}
		fmt.Fprintf(&b, "the start rate misses the objectives: no rate found (%s)\n", hint)
	default:
		qual := ""
		switch {
		case r.LowerBound:
			qual = " (a lower bound: the target may take more)"
		case !r.Confirmed:
			qual = " (not confirmed: it failed its confirming hold)"
		}
		fmt.Fprintf(&b, "max rate:   %.1f/s%s\n", r.MaxRate, qual)
		plateau := fmt.Sprintf("%.1f/s", r.PlateauIPS)
		if r.RequestsPerIteration > multiRequest {
			plateau += fmt.Sprintf(" (%.1f requests/s, %.2f per iteration)", r.PlateauRPS, r.RequestsPerIteration)
		}
		fmt.Fprintf(&b, "knee:       %.1f/s (latency turned upward past it); throughput plateau %s\n", r.KneeRate, plateau)
	}
	fmt.Fprintf(&b, "bottleneck: %s: %s\n", r.Bottleneck.Kind, r.Bottleneck.Evidence)
	fmt.Fprintf(&b, "took %.0fs, %d steps\n", r.DurationS, len(r.Steps))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCurve writes the curve in brief: one row per rate offered (the
// last step at it), lowest first, with the achieved rate as a bar against
// the highest achieved, p99 as a bar on a log scale between the lowest and
// highest, and the knee and the max rate marked.
func writeCurve(b *strings.Builder, r *Result) {
	byRate := map[float64]Step{}
	for _, s := range r.Steps {
		byRate[s.Rate] = s
	}
	if len(byRate) < 2 {
		return
	}
	rates := make([]float64, 0, len(byRate))
	top, lo, hi := 0.0, math.Inf(1), 0.0
	for rate, s := range byRate {
		rates = append(rates, rate)
		top = math.Max(top, s.AchievedIPS)
		if s.P99 > 0 {
			lo, hi = math.Min(lo, s.P99), math.Max(hi, s.P99)
		}
	}
	sort.Float64s(rates)
	const width = 24
	b.WriteString("  the curve, by offered rate (bars: achieved of the most achieved; p99 on a log scale):\n")
	for _, rate := range rates {
		s := byRate[rate]
		p99 := 0
		if s.P99 > 0 && hi > lo {
			p99 = int(math.Round(width * math.Log(s.P99/lo) / math.Log(hi/lo)))
		}
		mark := ""
		switch {
		case rate == r.MaxRate && rate == r.KneeRate:
			mark = "  ← knee, max rate"
		case rate == r.MaxRate:
			mark = "  ← max rate"
		case rate == r.KneeRate:
			mark = "  ← knee"
		}
		verdict := " "
		if !s.passes() {
			verdict = "✗"
		}
		row := fmt.Sprintf("  %s %8.1f/s → %8.1f/s %-*s  p99 %9s %-*s%s", verdict, rate, s.AchievedIPS, width, bar(s.AchievedIPS, top, width), fmtMS(s.P99), width+1, "▏"+strings.Repeat("▬", p99), mark)
		if s.ProbeP99 != nil && s.ProbeN != nil && *s.ProbeN > 0 {
			row = strings.TrimSuffix(row, mark) + fmt.Sprintf("  probe p99 %s%s", fmtMS(*s.ProbeP99), mark)
		}
		b.WriteString(strings.TrimRight(row, " ") + "\n")
	}
	b.WriteString("\n")
}

// multi says achieved requests/s of rps and iterations/s of ips are
// those of flows of several requests each.
func multi(rps, ips float64) bool { return ips > 0 && rps > multiRequest*ips }

// bar is v of top as a bar of at most width cells, in eighths.
func bar(v, top float64, width int) string {
	if !(top > 0) || !(v > 0) {
		return ""
	}
	eighths := int(math.Round(8 * float64(width) * math.Min(v/top, 1)))
	out := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		out += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// analyse sets the knee, plateau and bottleneck of res from the steps.
func (sr *searcher) analyse(res *Result) {
	steps := append([]Step(nil), sr.steps...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Rate < steps[j].Rate })
	// The bounding step: the lowest-rate failing one, i.e. what stopped
	// the rate from going higher. Of several failed holds at that rate
	// (a step the generator limited is held again; the sort keeps their
	// order) a limited one bounds: its retry ran on what it left behind
	// (the generator's backlog, the target's queue), so a retry that
	// failed without Surge's limits showing does not clear the generator —
	// the rate stays a lower bound, and the evidence says the retry failed
	// too. Otherwise the last hold bounds.
	var bound, retried *Step
	for i := range steps {
		if !steps[i].passes() && steps[i].Rate > res.MaxRate {
			bound = &steps[i]
			for j := i + 1; j < len(steps) && steps[j].Rate == steps[i].Rate; j++ {
				if !bound.GeneratorLimited {
					bound = &steps[j]
				} else if !steps[j].GeneratorLimited {
					retried = &steps[j]
				}
			}
			break
		}
	}
	if !res.StartMissed && bound == nil && len(steps) > 0 {
		res.LowerBound = true // every step passed, up to Max
	}
	// Knee: the highest rate up to which latency stayed near the baseline.
	var belowKnee []Step
	if sr.base != nil {
		// The median, not the p99: one stalled interval on a busy machine
		// moves a step's p99 but not its median, which rises only when a
		// queue forms.
		limit := 1.5*sr.base.P50 + 2
		for _, s := range steps {
			if s.P50 > limit || !s.passes() || s.Rate > res.MaxRate {
				break
			}
			res.KneeRate = s.Rate
			belowKnee = append(belowKnee, s)
		}
	}
	// The plateau counts successes: a request answered with an error (a
	// pool's wait timeout) never held what saturated. It is held against
	// the offered rates in iterations/s, like with like.
	for _, s := range steps {
		if !s.GeneratorLimited {
			res.PlateauRPS = math.Max(res.PlateauRPS, round(s.okRPS, 2))
			res.PlateauIPS = math.Max(res.PlateauIPS, round(s.okIPS, 2))
		}
	}
	res.RequestsPerIteration = requestsPerIteration(steps)
	several := res.RequestsPerIteration > multiRequest
	b := &res.Bottleneck
	// Little's law, where throughput stopped following the offered rate.
	saturated := false
	for _, s := range steps {
		if !s.OK && !s.GeneratorLimited && s.Rate > 1.05*res.PlateauIPS && s.okIPS <= 1.05*res.PlateauIPS {
			saturated = true
		}
	}
	// The service time: the lowest mean latency among the steps at up to
	// half the knee's rate (and the baseline), where queueing adds the
	// least. The lowest, because a stall of the machine (a busy CI host)
	// inflates the mean of the steps it hits and not the others; a mean,
	// not a median, because Little's law holds for means.
	var service float64 // ms
	for i, s := range belowKnee {
		if i == 0 || s.Rate <= res.KneeRate/2 {
			tot := s.window.Totals()
			if m := ms(tot.Latency.Mean()); service == 0 || m < service {
				service = m
			}
		}
	}
	little := ""
	switch {
	case saturated && service > 0 && several:
		// Little's law on iterations: an iteration holds the service for
		// its requests' service times, one after another (think time and
		// poll pauses hold nothing), so plateau iterations/s × that time
		// is the requests in service at once.
		per := res.RequestsPerIteration * service
		c := round(res.PlateauIPS*per/1000, 2)
		sv := round(per, 2)
		b.Concurrency, b.ServiceMS = &c, &sv
		little = fmt.Sprintf("by Little's law on iterations the service holds ~%.1f requests at a time (%.1f iterations/s × %s of service each: %.2f requests of %s, the lowest mean latency of the steps up to half the knee's rate)", c, res.PlateauIPS, fmtMS(per), res.RequestsPerIteration, fmtMS(service))
	case saturated && service > 0:
		c := round(res.PlateauRPS*service/1000, 2)
		sv := round(service, 2)
		b.Concurrency, b.ServiceMS = &c, &sv
		little = fmt.Sprintf("by Little's law on requests the service holds ~%.1f requests at a time (%.1f/s × %s each, the lowest mean latency of the steps up to half the knee's rate)", c, res.PlateauRPS, fmtMS(service))
	}
	lim := sr.limited(bound)
	defer func() {
		// The health probe's fate is evidence whatever saturated: a
		// starving health check is what takes a service out of its
		// balancer's rotation.
		at := bound
		if at == nil && len(steps) > 0 {
			at = &steps[len(steps)-1]
		}
		if why := sr.probeStarved(at); why != "" {
			res.ProbeStarved = why
			b.Evidence += "; " + why
		}
	}()
	switch {
	case lim != nil:
		b.Kind = KindGenerator
		res.LowerBound = true
		fix := "give the generator more cores, or spread the load with --agents"
		if strings.Contains(strings.Join(lim.GeneratorReasons, " "), "VU cap") {
			fix = "raise --max-vus"
		}
		b.Evidence = fmt.Sprintf("Surge could not offer %.1f/s: %s; %.1f/s is a lower bound of the target's capacity — %s", lim.Rate, strings.Join(lim.GeneratorReasons, "; "), res.MaxRate, fix)
		if retried != nil {
			failed := strings.Join(retried.Failed, ", ")
			if failed == "" {
				failed = retried.Reason
			}
			b.Evidence += fmt.Sprintf("; held again, it failed without Surge's limits showing (%s): the target may be the limit there too", failed)
		}
	case bound == nil && (res.StartMissed || len(steps) == 0):
		// Nothing to explain: the start rate missed, or the search was
		// stopped (Ctrl-C, the API) during its warm-up, before any step.
		b.Kind, b.Evidence = KindUnknown, "no step was judged"
	case bound == nil:
		b.Kind = KindUnknown
		b.Evidence = fmt.Sprintf("every step met the objectives, up to the maximum rate %.1f/s: nothing saturated; raise --max to search further", steps[len(steps)-1].Rate)
	default:
		sr.explain(res, steps, bound, saturated, little)
	}
}

// limited returns the bounding step when the generator limited it: then
// the search could not show where the target fails. (A limited step at
// the result's rate that was held again and passed says nothing.)
func (sr *searcher) limited(bound *Step) *Step {
	if bound != nil && bound.GeneratorLimited {
		return bound
	}
	return nil
}

// explain names the target's bottleneck from the bounding step.
func (sr *searcher) explain(res *Result, steps []Step, bound *Step, saturated bool, little string) {
	b := &res.Bottleneck
	failedErrors := func(s *Step) bool {
		for _, t := range sr.o.SLO {
			if (t.Metric == "errors" || t.Metric == "error_rate") && !holds(t, s.window) {
				return true
			}
		}
		return false
	}
	latencyHeld := func(s *Step) bool {
		for _, t := range sr.o.SLO {
			if t.Unit == metrics.Milliseconds && !holds(t, s.window) {
				return false
			}
		}
		return true
	}
	if tot := bound.window.Totals(); tot.Requests > 0 && tot.Classes[metrics.OK] == 0 {
		// Nothing but failures is not a capacity: a wrong URL, a target
		// that is down or refuses every request.
		msg := ""
		if top := bound.window.TopMessages(); len(top) > 0 {
			msg = fmt.Sprintf(", mostly %q", top[0].Message)
		}
		b.Kind = KindErrors
		if res.StartMissed {
			b.Evidence = fmt.Sprintf("every request failed at %.1f/s (%d of %d%s): check the URL and that the target is up — this is not a capacity", bound.Rate, tot.Errors(), tot.Requests, msg)
			return
		}
		// It answered below; past its rate it stopped answering at all.
		class, n := metrics.OK, int64(0)
		for _, c := range metrics.ErrorClasses() {
			if tot.Classes[c] > n {
				class, n = c, tot.Classes[c]
			}
		}
		if class == metrics.ConnRefused || class == metrics.ConnReset {
			b.Kind = KindConnections
		}
		if msg == "" {
			msg = ", the most as " + class.String()
		}
		b.Evidence = fmt.Sprintf("at %.1f/s every request failed (%d of %d%s): the target stopped answering past %.1f/s", bound.Rate, tot.Errors(), tot.Requests, msg, res.MaxRate)
		return
	}
	// errStep is the lowest rate past the result whose errors failed their
	// objective; deep the most overloaded step, which shows how the
	// target breaks: with errors at a bounded latency (a pool's wait
	// timeout, a shed load), even if a queue's climb failed a step first.
	var errStep, deep *Step
	for i := range steps {
		s := &steps[i]
		if s.passes() || s.GeneratorLimited || s.Rate <= res.MaxRate {
			continue
		}
		if tot := s.window.Totals(); errStep == nil && failedErrors(s) && tot.Errors() > 0 {
			errStep = s
		}
		deep = s
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, "; ")
	}
	if errStep != nil && (errStep == bound || (failedErrors(deep) && latencyHeld(deep))) {
		tot := errStep.window.Totals()
		class, n := metrics.OK, int64(0)
		for _, c := range metrics.ErrorClasses() {
			if tot.Classes[c] > n {
				class, n = c, tot.Classes[c]
			}
		}
		msg := ""
		if top := errStep.window.TopMessages(); len(top) > 0 {
			msg = fmt.Sprintf(", mostly %q (%d)", top[0].Message, top[0].Count)
		}
		b.Kind = KindErrors
		if class == metrics.ConnRefused || class == metrics.ConnReset {
			b.Kind = KindConnections
		}
		deepNote := ""
		if deep != errStep {
			deepNote = fmt.Sprintf("; at %.1f/s %.1f%% failed while p99 stayed at %s", deep.Rate, deep.ErrorRate, fmtMS(deep.P99))
		}
		b.Evidence = join(fmt.Sprintf("from %.1f/s, %.1f%% of requests failed (%s), the most as %s (%d of %d)%s; p99 %s%s",
			errStep.Rate, errStep.ErrorRate, strings.Join(errStep.Failed, ", "), class, n, tot.Requests, msg, fmtMS(errStep.P99), deepNote), little)
		return
	}
	if cpu := sr.cpuAtLimit(bound); cpu != "" {
		b.Kind = KindCPU
		b.Evidence = join(cpu, little)
		return
	}
	if mem := sr.memoryAtLimit(bound); mem != "" {
		b.Kind = KindMemory
		b.Evidence = join(mem, little)
		return
	}
	if net := sr.networkAtLimit(bound, saturated); net != "" {
		b.Kind = KindNetwork
		b.Evidence = join(net, little)
		return
	}
	if ovf := sr.listenOverflows(bound); ovf != "" {
		b.Kind = KindConnections
		b.Evidence = join(ovf, little)
		return
	}
	failed := strings.Join(bound.Failed, ", ")
	if failed == "" {
		failed = bound.Reason
	}
	plateau := fmt.Sprintf("%.1f/s", res.PlateauIPS)
	achieved := fmt.Sprintf("%.1f/s", bound.AchievedIPS)
	if res.RequestsPerIteration > multiRequest {
		plateau = fmt.Sprintf("%.1f iterations/s (%.1f requests/s)", res.PlateauIPS, res.PlateauRPS)
		achieved = fmt.Sprintf("%.1f iterations/s, %.1f requests/s", bound.AchievedIPS, bound.AchievedRPS)
	}
	if saturated && little != "" && *b.Concurrency < 0.75 {
		// Fewer than one request in service, yet throughput is flat: the
		// server is busy with something the responses do not show.
		each := "each answer"
		if res.RequestsPerIteration > multiRequest {
			each = "each iteration's answers"
		}
		b.Kind = KindUnknown
		b.Evidence = fmt.Sprintf("throughput flat at %s while the offered rate grew (%s at %.1f/s), yet %s took only %s: by Little's law ~%.1f requests were in service, less than one — the server is busy with work its responses do not show (work after the response, background jobs); give --monitor to see its CPU",
			plateau, failed, bound.Rate, each, fmtMS(*b.ServiceMS), *b.Concurrency)
		return
	}
	if saturated && little != "" {
		b.Kind = KindConcurrency
		mon := "no monitor given, so the target's CPU was not checked"
		if sr.monitored() {
			mon = "no monitored CPU sat at its limit"
			if m, dir, bps := sr.networkCarried(bound); bps > 0 && sr.o.LinkBytesPerSec == 0 {
				mon += fmt.Sprintf("; monitor %s's network %s carried %s/s at %.1f/s, and its link's real speed is not known (a shaped link, tc or a cloud's cap, is not in node_network_speed_bytes): if that is its limit, give --link", m, dir, bytesText(bps), bound.Rate)
			}
		}
		b.Evidence = fmt.Sprintf("throughput flat at %s while the offered rate grew and latency rose (%s at %.1f/s); %s — a pool of ~%.0f (workers, threads or connections); %s",
			plateau, failed, bound.Rate, little, math.Round(*b.Concurrency), mon)
		return
	}
	b.Kind = KindUnknown
	b.Evidence = fmt.Sprintf("at %.1f/s the objectives failed (%s) while throughput still followed the offered rate (%s achieved); the evidence does not decide what saturated", bound.Rate, failed, achieved)
}

// requestsPerIteration is the requests an iteration sent on average over
// the passing steps' windows (every step's when none passed), to two
// digits; 0 when no iteration finished.
func requestsPerIteration(steps []Step) float64 {
	sum := func(all bool) (req, it int64) {
		// A flow counts an iteration's requests when the iteration ends,
		// so its figure is exact; the window's totals are not (an
		// iteration's last request and its end can fall in two
		// intervals). Flows leave out setup's requests, sent once per VU
		// and not by every iteration. The totals stand in when the plan
		// records no flows or the end of a run cut an iteration short.
		var fReq, fIt, cut int64
		for _, s := range steps {
			if all || s.passes() {
				req += s.window.Totals().Requests
				it += s.window.Iterations
				for _, f := range s.window.Flows {
					fReq += f.Requests
					fIt += f.Iterations
					cut += f.Cut
				}
			}
		}
		if fIt > 0 && cut == 0 {
			return fReq, fIt
		}
		return req, it
	}
	req, it := sum(false)
	if it == 0 {
		req, it = sum(true)
	}
	if it == 0 {
		return 0
	}
	return round(float64(req)/float64(it), 2)
}

func holds(t metrics.Threshold, s metrics.Snapshot) bool {
	v, found := t.Measure(s, s.Duration())
	return found && t.Holds(v)
}

func (sr *searcher) monitors() []report.MonitorData {
	if m, ok := sr.s.(Monitored); ok {
		return m.Monitors()
	}
	return nil
}

func (sr *searcher) monitored() bool { return len(sr.monitors()) > 0 }

// cpuAtLimit says which monitored CPU sat at its limit during st and not
// at the baseline, or "". Each series is held against its own baseline
// (a host busy with other work at the baseline does not hide a process
// that was not), and the most specific series at its limit is named: a
// process's, then a cgroup's, then the host's — on a shared host the
// host may be full too, but the process's limit is what stopped it.
func (sr *searcher) cpuAtLimit(st *Step) string {
	for _, m := range sr.monitors() {
		peak, base := map[string]float64{}, map[string]float64{}
		for _, p := range m.Points {
			for k, v := range p.Limits {
				switch {
				case within(p.T, st.Start, st.End):
					peak[k] = math.Max(peak[k], v)
				case sr.base != nil && within(p.T, sr.base.Start, sr.base.End):
					base[k] = math.Max(base[k], v)
				}
			}
		}
		best := ""
		for k, v := range peak {
			if v < 95 || base[k] >= 95 {
				continue
			}
			if best == "" || cpuSpecificity(k) > cpuSpecificity(best) ||
				cpuSpecificity(k) == cpuSpecificity(best) && (v > peak[best] || v == peak[best] && k < best) {
				best = k
			}
		}
		if best != "" {
			return fmt.Sprintf("monitor %s: %s at %.0f%% of its CPU limit at %.1f/s (%.0f%% at the baseline %.1f/s)", m.Name, best, peak[best], st.Rate, base[best], baseRate(sr.base))
		}
	}
	return ""
}

// cpuSpecificity ranks a CPU limit series: a process's above a cgroup's
// above the host's.
func cpuSpecificity(key string) int {
	switch {
	case strings.HasPrefix(key, "process_"):
		return 2
	case strings.HasPrefix(key, "cgroup_"):
		return 1
	}
	return 0
}

// listenOverflows says which monitor saw the listen queue overflow during
// st, or "".
func (sr *searcher) listenOverflows(st *Step) string {
	for _, m := range sr.monitors() {
		for _, p := range m.Points {
			if !within(p.T, st.Start, st.End) {
				continue
			}
			for k, v := range p.Values {
				if strings.HasPrefix(k, "host_tcp_listen_overflows_per_second") && v > 0 {
					return fmt.Sprintf("monitor %s: the listen queue overflowed (%.0f/s) at %.1f/s: connections were refused before the application saw them", m.Name, v, st.Rate)
				}
			}
		}
	}
	return ""
}

func within(t, start, end time.Time) bool { return !t.Before(start) && t.Before(end) }

func baseRate(b *Step) float64 {
	if b == nil {
		return 0
	}
	return b.Rate
}
