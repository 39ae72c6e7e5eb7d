package metrics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/suggest"
)

// A Threshold is a pass/fail criterion on the run's totals, written as
// "[endpoint[NAME].]METRIC OP VALUE[UNIT]", e.g. "p99<200ms", "errors<1%",
// "rps>=1000", "endpoint[list todos].p95 < 300ms", or on a monitor's
// series as "monitor[NAME].SERIES OP VALUE[UNIT]", e.g.
// "monitor[api].process_cpu < 80%".
//
// Metrics: p50 p75 p90 p95 p99 p999 or p(Q) for any quantile Q in percent,
// med, mean (avg), min, max — latencies, in ns, us, ms (default), s or m;
// errors — the error rate with "%" or a count without; error_rate — always a
// rate; rps; requests; dropped; checks — the check pass rate in percent.
//
// A monitor threshold names a series of the run summary's monitors[].series
// (a Prometheus metric name or a derived series; the short names of
// seriesAliases too). Its value is in the series' unit: a plain number, or
// one of %, /s, cores, B, kB, MB, GB, KiB, MiB, GiB (bytes, optionally
// followed by /s), which must match the series' unit. It is measured at the
// series' worst moment (MeasureSeries).
//
// A flow threshold, "flow[NAME].METRIC OP VALUE[UNIT]" (e.g.
// "flow[order].p99 < 5s", "flow[order].errors < 1%"), is on the flow's
// end-to-end iteration durations (Snapshot.Flows): a latency metric, or
// errors — failed iterations, as a count or with "%" a share of the
// iterations (error_rate: always a share).
//
// A phase threshold, "[endpoint[NAME].]PHASE.METRIC OP VALUE[UNIT]" (e.g.
// "endpoint[login].wait.p95 < 100ms", "connect.max < 50ms"), is on one
// timing phase (phases.go) of the endpoint's requests, or of every
// endpoint's: a latency metric of that phase's distribution.
type Threshold struct {
	Expr     string
	Endpoint string // "" means every endpoint together
	// Phase names the timing phase of a phase threshold ("wait"; "" for
	// the others), as Phase.String spells it.
	Phase string
	// Flow names the flow of a flow threshold ("" for the others).
	Flow string
	// Monitor names the monitor of a monitor threshold ("" for the
	// others); Metric is then the series name and SeriesUnit the unit the
	// value was written in ("%", "/s", "cores", "B", "B/s" or "" for any).
	Monitor    string
	SeriesUnit string
	Metric     string  // canonical metric name, e.g. "p99", "errors", "rps"
	Quantile   float64 // for latency quantiles, in [0,1]
	Op         string  // one of < <= > >= ==
	Value      float64 // the bound, in Unit
	Unit       Unit
}

// Unit says how a threshold's value and measurement are expressed.
type Unit int

// Threshold units.
const (
	Milliseconds Unit = iota // latencies
	Percent                  // rates
	Count                    // counts and per-second rates
)

// ThresholdError is a threshold that does not parse. Col is 1-based.
type ThresholdError struct {
	Expr string
	Col  int
	Msg  string
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("threshold %q: column %d: %s", e.Expr, e.Col, e.Msg)
}

var latencyMetrics = map[string]float64{
	"p50": 0.5, "med": 0.5, "median": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95,
	"p99": 0.99, "p999": 0.999, "p99.9": 0.999, "p9999": 0.9999,
}

// ParseThreshold parses one threshold expression.
func ParseThreshold(expr string) (Threshold, error) {
	t := Threshold{Expr: expr}
	fail := func(pos int, format string, args ...any) (Threshold, error) {
		return Threshold{}, &ThresholdError{Expr: expr, Col: pos + 1, Msg: fmt.Sprintf(format, args...)}
	}
	opAt := strings.IndexAny(expr, "<>=")
	if opAt < 0 {
		return fail(len(expr), "missing comparison (one of < <= > >= ==)")
	}
	lhs := expr[:opAt]
	lhsStart := len(lhs) - len(strings.TrimLeft(lhs, " \t"))
	lhs = strings.TrimSpace(lhs)
	if lhs == "" {
		return fail(0, "missing metric before %q", expr[opAt:opAt+1])
	}
	if rest, ok := strings.CutPrefix(lhs, "endpoint["); ok {
		end := strings.Index(rest, "].")
		if end < 0 {
			return fail(lhsStart, `want endpoint[NAME].METRIC`)
		}
		t.Endpoint = rest[:end]
		if t.Endpoint == "" {
			return fail(lhsStart+len("endpoint["), "empty endpoint name")
		}
		lhsStart += len("endpoint[") + end + 2
		lhs = rest[end+2:]
	} else if rest, ok := strings.CutPrefix(lhs, "flow["); ok {
		end := strings.Index(rest, "].")
		if end < 0 {
			return fail(lhsStart, `want flow[NAME].METRIC`)
		}
		t.Flow = rest[:end]
		if t.Flow == "" {
			return fail(lhsStart+len("flow["), "empty flow name")
		}
		lhsStart += len("flow[") + end + 2
		lhs = rest[end+2:]
	} else if rest, ok := strings.CutPrefix(lhs, "monitor["); ok {
		end := strings.Index(rest, "].")
		if end < 0 {
			return fail(lhsStart, `want monitor[NAME].SERIES`)
		}
		t.Monitor = rest[:end]
		if t.Monitor == "" {
			return fail(lhsStart+len("monitor["), "empty monitor name")
		}
		lhsStart += len("monitor[") + end + 2
		lhs = rest[end+2:]
		if !seriesName(lhs) {
			return fail(lhsStart, "want a series name after monitor[%s]. (a Prometheus metric name, e.g. process_cpu_percent_of_limit), got %q", t.Monitor, lhs)
		}
		t.Metric, t.Unit = lhs, Count
		if full, ok := seriesAliases[lhs]; ok {
			t.Metric = full
		} else if base, ok := strings.CutSuffix(lhs, "_pct"); ok {
			t.Metric = base + "_percent"
		}
	}
	if t.Monitor == "" && !strings.HasPrefix(lhs, "p(") && latencyMetrics[strings.ToLower(lhs)] == 0 {
		if before, after, ok := strings.Cut(lhs, "."); ok {
			ph, known := ParsePhase(strings.ToLower(before))
			switch {
			case !known:
				return fail(lhsStart, "unknown phase %q%s (want blocked, connect, tls, send, wait, receive or queued, then .METRIC)", before, didYouMeanPhase(before))
			case t.Flow != "":
				return fail(lhsStart, "flow[%s].%s: a flow has no timing phases; an endpoint has (endpoint[NAME].%s)", t.Flow, before, lhs)
			}
			t.Phase = ph.String()
			lhsStart += len(before) + 1
			lhs = after
		}
	}
	metric := strings.ToLower(lhs)
	switch {
	case t.Monitor != "":
	case latencyMetrics[metric] > 0:
		t.Metric, t.Quantile, t.Unit = metric, latencyMetrics[metric], Milliseconds
		if metric == "med" || metric == "median" {
			t.Metric = "p50"
		}
	case strings.HasPrefix(metric, "p(") && strings.HasSuffix(metric, ")"):
		q, err := strconv.ParseFloat(metric[2:len(metric)-1], 64)
		if err != nil || q <= 0 || q >= 100 {
			return fail(lhsStart+2, "quantile must be a number between 0 and 100, got %q", metric[2:len(metric)-1])
		}
		t.Metric, t.Quantile, t.Unit = metric, q/100, Milliseconds
	case metric == "mean" || metric == "avg":
		t.Metric, t.Unit = "mean", Milliseconds
	case metric == "min" || metric == "max":
		t.Metric, t.Unit = metric, Milliseconds
	case metric == "errors" || metric == "requests" || metric == "rps" || metric == "dropped":
		t.Metric, t.Unit = metric, Count
	case metric == "error_rate" || metric == "checks":
		t.Metric, t.Unit = metric, Percent
	default:
		if t.Phase != "" {
			return fail(lhsStart, "unknown metric %q of phase %s%s (want p50, p90, p95, p99, p999, p(Q), mean, min or max)", lhs, t.Phase, didYouMean(metric))
		}
		if t.Flow != "" {
			return fail(lhsStart, "unknown metric %q of flow[%s]%s (want p50, p90, p95, p99, p999, p(Q), mean, min, max, errors or error_rate)", lhs, t.Flow, didYouMean(metric))
		}
		return fail(lhsStart, "unknown metric %q%s (want p50, p90, p95, p99, p999, p(Q), mean, min, max, errors, error_rate, rps, requests, dropped or checks)", lhs, didYouMean(metric))
	}
	if t.Phase != "" && t.Unit != Milliseconds {
		return fail(lhsStart, "%s.%s: a phase takes a latency metric (p50, p90, p95, p99, p999, p(Q), mean, min or max)", t.Phase, lhs)
	}
	if t.Flow != "" && (t.Metric == "checks" || t.Unit == Count && t.Metric != "errors") {
		return fail(lhsStart, "flow[%s].%s: a flow threshold is on its durations (p50, p90, p95, p99, p999, p(Q), mean, min, max) or its errors (errors, error_rate)", t.Flow, t.Metric)
	}

	op := expr[opAt:]
	switch {
	case strings.HasPrefix(op, "<="), strings.HasPrefix(op, ">="), strings.HasPrefix(op, "=="):
		t.Op = op[:2]
	case strings.HasPrefix(op, "<"), strings.HasPrefix(op, ">"):
		t.Op = op[:1]
	default:
		return fail(opAt, "unknown comparison %q (want < <= > >= ==)", op[:1])
	}
	valAt := opAt + len(t.Op)
	raw := expr[valAt:]
	valAt += len(raw) - len(strings.TrimLeft(raw, " \t"))
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return fail(valAt, "missing value after %q", t.Op)
	}
	numEnd := 0
	for numEnd < len(raw) && (raw[numEnd] >= '0' && raw[numEnd] <= '9' || raw[numEnd] == '.') {
		numEnd++
	}
	v, err := strconv.ParseFloat(raw[:numEnd], 64)
	if err != nil {
		return fail(valAt, "want a number, got %q", raw)
	}
	unit := strings.TrimSpace(raw[numEnd:])
	unitAt := valAt + numEnd
	switch {
	case t.Monitor != "":
		su, scale, ok := seriesUnit(unit)
		if !ok {
			return fail(unitAt, "unexpected unit %q for monitor series %s (want %%, /s, cores, bytes as B, kB, MB, GB, KiB, MiB or GiB, optionally with /s, or none)", unit, t.Metric)
		}
		t.SeriesUnit = su
		if su == "%" {
			t.Unit = Percent
		}
		v *= scale
	case t.Unit == Milliseconds:
		scale, ok := map[string]float64{"": 1, "ms": 1, "s": 1000, "m": 60000, "us": 1e-3, "µs": 1e-3, "ns": 1e-6}[unit]
		if !ok {
			return fail(unitAt, "unknown duration unit %q (want ns, us, ms, s or m)", unit)
		}
		v *= scale
	case t.Unit == Count:
		switch {
		case unit == "%" && t.Metric == "errors":
			t.Unit = Percent
		case unit == "/s" && t.Metric == "rps", unit == "":
		default:
			return fail(unitAt, "unexpected unit %q for %s", unit, t.Metric)
		}
	case t.Unit == Percent:
		if unit != "%" && unit != "" {
			return fail(unitAt, "unexpected unit %q for %s (want %%)", unit, t.Metric)
		}
	}
	if t.Unit == Percent && unit == "" && t.Metric != "errors" && t.Monitor == "" && v <= 1 {
		v *= 100 // "error_rate<0.01" means 1 %
	}
	t.Value = v
	return t, nil
}

var metricNames = []string{"p50", "p90", "p95", "p99", "p999", "mean", "min", "max", "errors", "error_rate", "rps", "requests", "dropped", "checks"}

func didYouMeanPhase(name string) string {
	if p := suggest.Closest(strings.ToLower(name), PhaseNames()); p != "" {
		return fmt.Sprintf("; did you mean %q?", p)
	}
	return ""
}

func didYouMean(metric string) string {
	if m := suggest.Closest(metric, metricNames); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}

// seriesAliases are the short names of the derived monitor series people
// put thresholds on first.
var seriesAliases = map[string]string{
	"host_cpu":    "host_cpu_busy_percent",
	"process_cpu": "process_cpu_percent_of_limit",
	"cgroup_cpu":  "cgroup_cpu_percent_of_limit",
	"process_rss": "process_rss_bytes",
}

// seriesName reports whether s is a Prometheus metric name.
func seriesName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// seriesUnit maps a monitor threshold's unit to the series unit it must
// match and the factor to it.
func seriesUnit(u string) (string, float64, bool) {
	switch u {
	case "", "%", "/s", "cores":
		return u, 1, true
	}
	rate := ""
	if b, ok := strings.CutSuffix(u, "/s"); ok {
		u, rate = b, "/s"
	}
	scale, ok := map[string]float64{"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[u]
	return "B" + rate, scale, ok
}

// A SeriesRange is one monitor series over the run, as a monitor threshold
// is measured on it: its name, unit and extremes.
type SeriesRange struct {
	Name, Unit string
	Min, Max   float64
}

// MeasureSeries measures a monitor threshold on its monitor's series: the
// worst moment of every series named t.Metric (all their label sets
// together) — the highest value for < and <=, the lowest for > and >=,
// and for == the extreme farthest from the bound (it holds only if the
// series sat at the bound throughout). The error names a series the
// monitor lacks, or a unit that is not the series'.
func (t Threshold) MeasureSeries(series []SeriesRange) (float64, error) {
	var (
		v     float64
		found bool
		names []string
	)
	for _, s := range series {
		if s.Name != t.Metric {
			names = append(names, s.Name)
			continue
		}
		if t.SeriesUnit != "" && s.Unit != t.SeriesUnit {
			unit := s.Unit
			if unit == "" {
				unit = "a plain number"
			}
			return 0, fmt.Errorf("monitor %q: series %s is in %s, not %s", t.Monitor, t.Metric, unit, t.SeriesUnit)
		}
		var w float64
		switch t.Op {
		case "<", "<=":
			w = s.Max
		case ">", ">=":
			w = s.Min
		default:
			w = s.Max
			if math.Abs(s.Min-t.Value) > math.Abs(s.Max-t.Value) {
				w = s.Min
			}
		}
		if !found {
			v, found = w, true
			continue
		}
		switch t.Op {
		case "<", "<=":
			v = max(v, w)
		case ">", ">=":
			v = min(v, w)
		default:
			if math.Abs(w-t.Value) > math.Abs(v-t.Value) {
				v = w
			}
		}
	}
	if !found {
		hint := ""
		if best := suggest.Closest(t.Metric, names); best != "" {
			hint = fmt.Sprintf("; did you mean %q?", best)
		}
		return 0, fmt.Errorf("monitor %q has no series named %q%s", t.Monitor, t.Metric, hint)
	}
	return v, nil
}

// Measure returns the threshold's metric over the run total, in the
// threshold's unit. found is false when it names an endpoint that total
// lacks or a phase that none of the endpoint's requests has, and for a
// monitor threshold (MeasureSeries measures those).
func (t Threshold) Measure(total Snapshot, elapsed time.Duration) (v float64, found bool) {
	if t.Monitor != "" {
		return 0, false
	}
	if t.Flow != "" {
		return t.measureFlow(total)
	}
	var ep Endpoint
	if t.Endpoint == "" {
		ep = total.Totals()
	} else {
		for _, e := range total.Endpoints {
			if e.Name == t.Endpoint {
				ep.Name = e.Name
				addEndpoint(&ep, &e)
				found = true
			}
		}
		if !found {
			return 0, false
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	if t.Phase != "" {
		p, _ := ParsePhase(t.Phase)
		s := ep.Phases.Sketch(p)
		if s == nil || s.Count() == 0 {
			return 0, false // Missing says why
		}
		return t.measureSketch(s), true
	}
	switch t.Metric {
	case "mean":
		return ms(ep.Latency.Mean()), true
	case "min":
		return ms(ep.Latency.Min()), true
	case "max":
		return ms(ep.Latency.Max()), true
	case "errors", "error_rate":
		if t.Unit == Count {
			return float64(ep.Errors()), true
		}
		if ep.Requests == 0 {
			return 0, true
		}
		return 100 * float64(ep.Errors()) / float64(ep.Requests), true
	case "requests":
		return float64(ep.Requests), true
	case "rps":
		if elapsed <= 0 {
			return 0, true
		}
		return float64(ep.Requests) / elapsed.Seconds(), true
	case "dropped":
		return float64(total.Dropped), true
	case "checks":
		var pass, all int64
		for _, c := range total.Checks {
			pass += c.Passes
			all += c.Passes + c.Fails
		}
		if all == 0 {
			return 100, true
		}
		return 100 * float64(pass) / float64(all), true
	}
	return ms(ep.Latency.Quantile(t.Quantile)), true
}

// measureSketch is a latency metric of s, in ms.
func (t Threshold) measureSketch(s *Sketch) float64 {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	switch t.Metric {
	case "mean":
		return ms(s.Mean())
	case "min":
		return ms(s.Min())
	case "max":
		return ms(s.Max())
	}
	return ms(s.Quantile(t.Quantile))
}

// measureFlow measures a flow threshold on total's flow of that name. A
// latency is NaN (no value: Holds is false) when no iteration of the flow
// finished — all of them still running or cut short by the run's end —
// so that a backlog that lets no flow finish fails its objective rather
// than passing with 0 ms.
func (t Threshold) measureFlow(total Snapshot) (float64, bool) {
	i := slices.IndexFunc(total.Flows, func(f Flow) bool { return f.Name == t.Flow })
	if i < 0 {
		return 0, false
	}
	f := &total.Flows[i]
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	d := f.Duration
	timed := d != nil && d.Count() > 0
	switch t.Metric {
	case "errors", "error_rate":
		if t.Unit == Count {
			return float64(f.Errors), true
		}
		if f.Iterations == 0 {
			return 0, true
		}
		return 100 * float64(f.Errors) / float64(f.Iterations), true
	}
	if !timed {
		return math.NaN(), true
	}
	switch t.Metric {
	case "mean":
		return ms(d.Mean()), true
	case "min":
		return ms(d.Min()), true
	case "max":
		return ms(d.Max()), true
	}
	return ms(d.Quantile(t.Quantile)), true
}

// Missing says why t has no value in total, where Measure found none or
// NaN: no endpoint or flow of its name, no finished iteration of its
// flow, or no request with its phase. It is "" when t has a value.
func (t Threshold) Missing(total Snapshot) string {
	switch {
	case t.Monitor != "":
		return ""
	case t.Flow != "":
		i := slices.IndexFunc(total.Flows, func(f Flow) bool { return f.Name == t.Flow })
		if i < 0 {
			return fmt.Sprintf("no flow named %q", t.Flow)
		}
		if v, _ := t.measureFlow(total); !math.IsNaN(v) {
			return ""
		}
		f := &total.Flows[i]
		return fmt.Sprintf("no iteration of flow %q finished (%d cut short by the end of the run)", t.Flow, f.Cut)
	case t.Endpoint != "" && !slices.ContainsFunc(total.Endpoints, func(e Endpoint) bool { return e.Name == t.Endpoint }):
		return fmt.Sprintf("no endpoint named %q", t.Endpoint)
	case t.Phase != "":
		if _, found := t.Measure(total, time.Second); found {
			return ""
		}
		what := "no request has a"
		if t.Endpoint != "" {
			what = fmt.Sprintf("endpoint[%s] has no", t.Endpoint)
		}
		why := "phases are measured for HTTP requests"
		if t.Phase == PhaseQueued.String() {
			why = "it is measured for HTTP requests in the open model, for an iteration's first request"
		}
		return fmt.Sprintf("%s %q phase (%s)", what, t.Phase, why)
	}
	return ""
}

// Holds reports whether measured value v satisfies the threshold.
func (t Threshold) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	default:
		return v == t.Value
	}
}
