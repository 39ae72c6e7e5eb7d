package compare

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/surgeload/surge/internal/report"
)

// MonitorDelta is one target-monitor series of both runs
// (Comparison.Monitors): the same monitor (by name) and series in each,
// over each run's steady intervals, with the rank test the load's metrics
// get. It says what changed on the target's side; it never changes the
// comparison's verdict, whose reason mentions it when it is beyond noise.
type MonitorDelta struct {
	Monitor string `json:"monitor"`
	// Series is the timeline's derived series (docs/monitor.md); a
	// process's is the sum or the most of all its processes of one name
	// (Labels {"name"}), as their pids differ from run to run.
	Series string            `json:"series"`
	Labels map[string]string `json:"labels"`
	// What is the figure compared: "cpu_ms_per_request" (host CPU busy,
	// in CPU-milliseconds per request), "bytes_per_request", "mean",
	// "peak" or "least".
	What     string   `json:"what"`
	Unit     string   `json:"unit"`
	Better   string   `json:"better"` // lower, higher, or "" when neither is
	A        float64  `json:"a"`
	B        float64  `json:"b"`
	Delta    float64  `json:"delta"`
	DeltaPct *float64 `json:"delta_pct,omitempty"`
	PValue   *float64 `json:"p_value,omitempty"`
	// Verdict is better, worse, changed (beyond noise, for a series with
	// no better direction), same or incomparable.
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}

// verdictChanged: a monitor series with no better direction changed
// beyond noise.
const verdictChanged = "changed"

// monitorFigure is how one timeline series is compared.
type monitorFigure struct {
	series, what, unit, better, words string
	// perRequest divides each interval's value by its requests per
	// second (scaled by scale), so a run that serves more requests is
	// not "worse" for the CPU or bytes they take.
	perRequest bool
	scale      float64
	// process series: the processes of one name are one (sum adds them
	// up, else the most of them counts).
	process, sum bool
}

var monitorFigures = []monitorFigure{
	{series: "host_cpu_busy_percent", what: "cpu_ms_per_request", unit: "ms", better: "lower", words: "host CPU per request", perRequest: true},
	{series: "host_memory_available_bytes", what: "least", unit: "B", better: "higher", words: "least host memory available"},
	{series: "host_network_receive_bytes_per_second", what: "bytes_per_request", unit: "B", words: "network received per request", perRequest: true, scale: 1},
	{series: "host_network_transmit_bytes_per_second", what: "bytes_per_request", unit: "B", words: "network sent per request", perRequest: true, scale: 1},
	{series: "host_tcp_established", what: "mean", words: "TCP connections established"},
	{series: "host_tcp_listen_overflows_per_second", what: "peak", unit: "/s", better: "lower", words: "peak listen overflows"},
	{series: "process_cpu_percent_of_limit", what: "mean", unit: "%", better: "lower", words: "CPU of its limit", process: true},
	{series: "process_rss_bytes", what: "peak", unit: "B", better: "lower", words: "RSS peak", process: true, sum: true},
}

// compareMonitors compares every monitor series both runs' steady
// timelines have, for the monitors (by name) both runs had. Host CPU busy
// is turned into CPU-milliseconds per request with each run's CPU count
// (cpuCount); without it, it is left out.
func compareMonitors(sums [2]report.Summary, steady [2][]report.Point, incomparable bool) []MonitorDelta {
	out := []MonitorDelta{}
	names := map[string]bool{}
	for _, m := range sums[0].Monitors {
		names[m.Name] = true
	}
	var both []string
	for _, m := range sums[1].Monitors {
		if names[m.Name] {
			both = append(both, m.Name)
		}
	}
	sort.Strings(both)
	for _, mon := range both {
		cpus := [2]float64{cpuCount(sums[0], mon), cpuCount(sums[1], mon)}
		for _, f := range monitorFigures {
			var vals [2]map[string][]float64 // by compared key: each steady interval's value
			var keys [2]map[string]bool
			for i := range steady {
				vals[i], keys[i] = map[string][]float64{}, map[string]bool{}
				for _, p := range steady[i] {
					for k, v := range intervalValues(p, mon, f) {
						keys[i][k] = true
						if f.perRequest {
							if p.RPS <= 0 {
								continue
							}
							v /= p.RPS
							if f.scale == 0 { // busy % of the CPUs → CPU-ms per request
								if cpus[i] == 0 {
									continue
								}
								v = v / 100 * cpus[i] * 1000
							}
						}
						vals[i][k] = append(vals[i][k], v)
					}
				}
			}
			var common []string
			for k := range keys[0] {
				if keys[1][k] {
					common = append(common, k)
				}
			}
			sort.Strings(common)
			for _, k := range common {
				out = append(out, monitorDelta(mon, f, k, vals[0][k], vals[1][k], incomparable))
			}
		}
	}
	return out
}

// cpuCount is the CPUs of monitor mon's host: its busy cores over its busy
// fraction (both derived from node_cpu_seconds_total); 0 when unknown.
func cpuCount(s report.Summary, mon string) float64 {
	var cores, pct float64
	for _, m := range s.Monitors {
		if m.Name != mon {
			continue
		}
		for _, ss := range m.Series {
			switch {
			case ss.Name == "host_cpu_busy_cores" && len(ss.Labels) == 0:
				cores = ss.Mean
			case ss.Name == "host_cpu_busy_percent" && len(ss.Labels) == 0:
				pct = ss.Mean
			}
		}
	}
	if pct <= 0 || cores <= 0 {
		return 0
	}
	return math.Round(100 * cores / pct) // a whole number of CPUs
}

// intervalValues are the values of figure f in point p's monitor mon, by
// compared key: the series itself, or one per process name.
func intervalValues(p report.Point, mon string, f monitorFigure) map[string]float64 {
	out := map[string]float64{}
	for key, v := range p.Monitors[mon] {
		if v == nil {
			continue // the scrape failed: a gap
		}
		name, labels := parseKey(key)
		if name != f.series {
			continue
		}
		k := name
		if f.process {
			k = name + `{name="` + labels["name"] + `"}`
		}
		old, seen := out[k]
		switch {
		case !seen:
			out[k] = *v
		case f.sum:
			out[k] = old + *v
		default:
			out[k] = max(old, *v)
		}
	}
	return out
}

// parseKey splits a series key (name{a="x",b="y"}, as scrape.Value.Key
// writes it) into its name and labels.
func parseKey(key string) (string, map[string]string) {
	name, rest, ok := strings.Cut(key, "{")
	labels := map[string]string{}
	if !ok {
		return name, labels
	}
	rest = strings.TrimSuffix(rest, "}")
	for rest != "" {
		k, r, ok := strings.Cut(rest, `="`)
		if !ok {
			break
		}
		var v strings.Builder
		i := 0
		for ; i < len(r); i++ {
			if r[i] == '\\' && i+1 < len(r) && r[i+1] == '"' {
				v.WriteByte('"')
				i++
				continue
			}
			if r[i] == '"' {
				break
			}
			v.WriteByte(r[i])
		}
		labels[k] = v.String()
		rest = strings.TrimPrefix(r[min(i+1, len(r)):], ",")
	}
	return name, labels
}

// monitorDelta compares one series' steady-interval values xs (A) and ys
// (B).
func monitorDelta(mon string, f monitorFigure, key string, xs, ys []float64, incomparable bool) MonitorDelta {
	_, labels := parseKey(key)
	d := MonitorDelta{Monitor: mon, Series: f.series, Labels: labels, What: f.what, Unit: f.unit, Better: f.better,
		A: round3(figureOf(f, xs)), B: round3(figureOf(f, ys))}
	d.Delta = round3(d.B - d.A)
	if d.A != 0 {
		pct := round3(100 * (d.B - d.A) / d.A)
		d.DeltaPct = &pct
	}
	who := mon + " " + f.words
	if f.process {
		who = mon + " " + labels["name"] + " " + f.words
	}
	unit := ""
	if f.unit != "" {
		unit = " " + f.unit
	}
	dir := "rose"
	if d.B < d.A {
		dir = "fell"
	}
	change := fmt.Sprintf("%s %s %s (%s → %s%s)", who, dir, changeText(MetricDelta{Unit: f.unit, Delta: d.Delta, DeltaPct: d.DeltaPct}), num(d.A), num(d.B), unit)
	switch {
	case incomparable:
		d.Verdict, d.Reason = verdictIncomparable, fmt.Sprintf("%s: %s → %s%s, not judged: the offered load differs", who, num(d.A), num(d.B), unit)
		return d
	case d.A == d.B:
		d.Verdict, d.Reason = verdictSame, fmt.Sprintf("%s unchanged (%s%s)", who, num(d.A), unit)
		return d
	case len(xs) < minSteadyIntervals || len(ys) < minSteadyIntervals:
		d.Verdict, d.Reason = verdictSame, change+": too few steady intervals with a scrape to tell from noise"
		return d
	}
	p := mannWhitneyP(xs, ys)
	pr := round3(p)
	d.PValue = &pr
	switch {
	case p >= compareAlpha:
		d.Verdict, d.Reason = verdictSame, fmt.Sprintf("%s: within noise (Mann–Whitney p = %s over %d and %d intervals)", change, pText(p), len(xs), len(ys))
	case d.A != 0 && math.Abs(d.B-d.A)/math.Abs(d.A) < minRelChange:
		d.Verdict, d.Reason = verdictSame, fmt.Sprintf("%s: a real but small difference (p = %s), under the 5 %% that counts as a change", change, pText(p))
	default:
		d.Verdict = verdictChanged
		if f.better != "" {
			d.Verdict = verdictBetter
			if (d.B > d.A) == (f.better == "lower") {
				d.Verdict = verdictWorse
			}
		}
		d.Reason = fmt.Sprintf("%s: beyond noise (Mann–Whitney p = %s over %d and %d intervals)", change, pText(p), len(xs), len(ys))
	}
	return d
}

// figureOf is the compared figure of a series' interval values.
func figureOf(f monitorFigure, vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	switch f.what {
	case "peak":
		return slices.Max(vs)
	case "least":
		return slices.Min(vs)
	}
	var sum float64
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}
