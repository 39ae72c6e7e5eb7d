// Package compare tells whether one run is better or worse than another,
// metric by metric, and whether they can be compared at all: runs offered
// different loads are "incomparable". It also compares the target
// monitors' series both runs have (monitors.go), which never change the
// verdict. It reads summaries (report) and plans (scenario), never the
// store or the server.
package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// How compare tells a change from noise. Each run's steady intervals (all
// but the first, which warms up, and the last, which is partial) are the
// samples: a metric changed when the two samples differ by a rank test
// (Mann–Whitney U, two-sided, p < compareAlpha) and the whole-run figures
// differ by at least the metric's smallest meaningful change. The rank test
// needs no assumption about the distribution of per-interval latencies,
// which are skewed; the minimum effect keeps a long run's tiny but
// "significant" differences from counting.
const (
	compareAlpha       = 0.01
	minSteadyIntervals = 5
	minRelChange       = 0.05 // latencies and throughput: 5 %
	minErrorRateChange = 0.1  // error rate: 0.1 percentage points
)

// Verdicts.
const (
	verdictBetter = "better"
	verdictWorse  = "worse"
	verdictSame   = "same"
	// verdictIncomparable: the runs were offered different loads (or one's
	// load changed while it ran), so their measurements differ because the
	// input did; judging them would judge the input.
	verdictIncomparable = "incomparable"
)

// keptUpShare is the share of the offered rate an open-model run must
// achieve, with no iteration dropped, to have kept up.
const keptUpShare = 0.98

// MetricDelta is one metric of a comparison.
type MetricDelta struct {
	Name     string   `json:"name"`   // p50, p95, p99, rps, error_rate
	Unit     string   `json:"unit"`   // ms, /s, %
	Better   string   `json:"better"` // lower or higher
	A        float64  `json:"a"`
	B        float64  `json:"b"`
	Delta    float64  `json:"delta"`               // B − A
	DeltaPct *float64 `json:"delta_pct,omitempty"` // relative to A; absent when A is 0
	PValue   *float64 `json:"p_value,omitempty"`   // of the rank test; absent without enough intervals
	Verdict  string   `json:"verdict"`
	Reason   string   `json:"reason"`
}

// Note is something to know when reading a comparison. Kind says which
// (running, load_changed, load_differs, requests_differ) so a UI can word
// it in its language from Params; Text is the English wording.
type Note struct {
	Kind   string            `json:"kind"`
	Text   string            `json:"text"`
	Params map[string]string `json:"params,omitempty"`
}

// Comparison says whether run B is better or worse than run A, metric by
// metric, and why (GET /api/v1/compare, docs/api.md).
type Comparison struct {
	Metrics   []MetricDelta `json:"metrics"`
	Verdict   string        `json:"verdict"`
	Reason    string        `json:"reason"`
	Notes     []Note        `json:"notes"`
	Intervals [2]int        `json:"steady_intervals"` // samples per run
	// Load is each run's offered load in the CLI's words.
	Load [2]string `json:"load"`
	// EnoughData is false when a run has too few steady intervals for the
	// rank test: the verdict is then "same" for want of evidence.
	EnoughData bool `json:"enough_data"`
	// Monitors compares the target monitors' series both runs have
	// (monitors.go); empty when they share none. They do not change the
	// verdict: its reason names those beyond noise.
	Monitors []MonitorDelta `json:"monitors"`
	// Flows compares the flows' and poll steps' end-to-end durations both
	// runs have (flows.go); they do not change the verdict either.
	Flows []FlowDelta `json:"flows"`
}

// Run is one side of a comparison.
type Run struct {
	Plan    scenario.Plan
	Summary report.Summary
	Running bool      // still running: compared with its data so far
	Started time.Time // when it started
	// Adjustments are the live changes made to its load (by the server
	// that ran it; a run recorded from elsewhere lists its own in its
	// summary's events).
	Adjustments []Adjustment
}

// Adjustment is one live change of a run's load.
type Adjustment struct {
	At     time.Time
	Detail string // e.g. "rate 300/s"
}

// Compare says whether b is better or worse than a.
func Compare(a, b Run) Comparison {
	runs := [2]Run{a, b}
	c := Comparison{Notes: []Note{}}
	var plans [2]scenario.Plan
	var sums [2]report.Summary
	for i := range runs {
		plans[i], sums[i] = runs[i].Plan, runs[i].Summary
		if runs[i].Running {
			c.Notes = append(c.Notes, Note{Kind: "running", Params: map[string]string{"run": "AB"[i : i+1]},
				Text: fmt.Sprintf("run %s is still running: compared with its data so far", "AB"[i:i+1])})
		}
	}
	var changed []string
	for i, r := range runs {
		var changes []string
		for _, e := range r.Adjustments {
			changes = append(changes, fmt.Sprintf("%s at %s", e.Detail, e.At.Sub(r.Started).Round(time.Second)))
		}
		if len(changes) == 0 {
			// A run recorded from elsewhere has no PATCH here: its summary
			// lists its live changes.
			for _, e := range sums[i].Events {
				switch e.Kind {
				case "rate":
					changes = append(changes, fmt.Sprintf("rate %s/s at %s", number(e.Value), shortDuration(time.Duration(e.Elapsed*float64(time.Second)).Round(time.Second))))
				case "vus":
					changes = append(changes, fmt.Sprintf("%s VUs at %s", number(e.Value), shortDuration(time.Duration(e.Elapsed*float64(time.Second)).Round(time.Second))))
				}
			}
		}
		if len(changes) > 0 {
			c.Notes = append(c.Notes, Note{Kind: "load_changed", Params: map[string]string{"run": "AB"[i : i+1], "changes": strings.Join(changes, ", ")},
				Text: fmt.Sprintf("run %s's load was changed while it ran (%s)", "AB"[i:i+1], strings.Join(changes, ", "))})
			changed = append(changed, fmt.Sprintf("run %s's load was changed while it ran (%s)", "AB"[i:i+1], strings.Join(changes, ", ")))
		}
	}
	la, lb := LoadText(plans[0].Load), LoadText(plans[1].Load)
	c.Load = [2]string{la, lb}
	differs := loadDifference(plans[0].Load, plans[1].Load)
	if differs != "" {
		c.Notes = append(c.Notes, Note{Kind: "load_differs", Params: map[string]string{"a": la, "b": lb},
			Text: fmt.Sprintf("the runs' load differs (%s vs %s)", la, lb)})
	}
	if !sameRequests(plans[0], plans[1]) {
		c.Notes = append(c.Notes, Note{Kind: "requests_differ", Text: "the runs sent different requests (targets or flows differ)"})
	}
	var incomparable []string
	if differs != "" {
		incomparable = append(incomparable, differs+": A was offered "+la+", B "+lb)
	}
	incomparable = append(incomparable, changed...)
	steady := [2][]report.Point{steadyPoints(sums[0].Timeline), steadyPoints(sums[1].Timeline)}
	c.Intervals = [2]int{len(steady[0]), len(steady[1])}
	c.EnoughData = c.Intervals[0] >= minSteadyIntervals && c.Intervals[1] >= minSteadyIntervals

	type metric struct {
		name, unit  string
		lowerBetter bool
		whole       func(*report.Summary) float64
		point       func(report.Point) (float64, bool)
	}
	lat := func(name string, whole func(report.Latency) float64, point func(report.Point) float64) metric {
		return metric{name: name, unit: "ms", lowerBetter: true,
			whole: func(s *report.Summary) float64 { return whole(s.Latency) },
			point: func(p report.Point) (float64, bool) { return point(p), p.Requests > 0 }}
	}
	metrics := []metric{
		lat("p50", func(l report.Latency) float64 { return l.P50 }, func(p report.Point) float64 { return p.P50 }),
		lat("p95", func(l report.Latency) float64 { return l.P95 }, func(p report.Point) float64 { return p.P95 }),
		lat("p99", func(l report.Latency) float64 { return l.P99 }, func(p report.Point) float64 { return p.P99 }),
		{name: "rps", unit: "/s",
			whole: func(s *report.Summary) float64 { return s.Totals.RPS },
			point: func(p report.Point) (float64, bool) { return p.RPS, true }},
		{name: "error_rate", unit: "%", lowerBetter: true,
			whole: func(s *report.Summary) float64 { return s.Totals.ErrorRate },
			point: func(p report.Point) (float64, bool) {
				if p.Requests == 0 {
					return 0, false
				}
				return 100 * float64(p.Errors) / float64(p.Requests), true
			}},
	}
	open := plans[0].Load.Model == engine.Open && plans[1].Load.Model == engine.Open

	var worse, better []string
	for _, m := range metrics {
		d := MetricDelta{Name: m.name, Unit: m.unit, Better: "higher", A: m.whole(&sums[0]), B: m.whole(&sums[1])}
		if m.lowerBetter {
			d.Better = "lower"
		}
		d.Delta = round3(d.B - d.A)
		if d.A != 0 {
			pct := round3(100 * (d.B - d.A) / d.A)
			d.DeltaPct = &pct
		}
		var xs, ys []float64
		for _, p := range steady[0] {
			if v, ok := m.point(p); ok {
				xs = append(xs, v)
			}
		}
		for _, p := range steady[1] {
			if v, ok := m.point(p); ok {
				ys = append(ys, v)
			}
		}
		d.Verdict, d.Reason = judge(m.name, m.unit, m.lowerBetter, d, xs, ys, &d.PValue)
		if m.name == "rps" && open {
			// The open model's throughput is the offered rate when the
			// run keeps up: it says whether each run kept up, not which
			// is "higher".
			d.PValue = nil
			d.Verdict, d.Reason = keptUp(plans, sums)
		}
		if len(incomparable) > 0 {
			d.Verdict = verdictIncomparable
			d.PValue = nil
			d.Reason = fmt.Sprintf("%s: %s → %s %s, not judged: the offered load differs", m.name, num(d.A), num(d.B), m.unit)
		}
		switch d.Verdict {
		case verdictWorse:
			worse = append(worse, d.Reason)
		case verdictBetter:
			better = append(better, d.Reason)
		}
		c.Metrics = append(c.Metrics, d)
	}
	switch {
	case len(incomparable) > 0:
		c.Verdict, c.Reason = verdictIncomparable, strings.Join(incomparable, "; ")+
			": the measurements differ because the input did; compare runs offered the same load"
	case len(worse) > 0:
		c.Verdict, c.Reason = verdictWorse, strings.Join(worse, "; ")
		if len(better) > 0 {
			c.Reason += " (while " + strings.Join(better, "; ") + ")"
		}
	case len(better) > 0:
		c.Verdict, c.Reason = verdictBetter, strings.Join(better, "; ")
	default:
		c.Verdict = verdictSame
		if !c.EnoughData {
			c.Reason = fmt.Sprintf("too few steady intervals to tell a change from noise (%d and %d; need %d each: run longer)",
				c.Intervals[0], c.Intervals[1], minSteadyIntervals)
		} else {
			c.Reason = "no metric changed beyond the run-to-run noise"
		}
	}
	c.Monitors = compareMonitors(sums, steady, len(incomparable) > 0)
	var target []string
	for _, d := range c.Monitors {
		switch d.Verdict {
		case verdictBetter, verdictWorse, verdictChanged:
			target = append(target, d.Reason)
		}
	}
	if len(target) > 0 {
		c.Reason += "; on the target (not part of the verdict): " + strings.Join(target, "; ")
	}
	c.Flows = compareFlows(sums, len(incomparable) > 0)
	c.Reason += flowsNote(c.Flows)
	return c
}

// judge decides one metric.
func judge(name, unit string, lowerBetter bool, d MetricDelta, xs, ys []float64, pOut **float64) (string, string) {
	dir := "rose"
	if d.B < d.A {
		dir = "fell"
	}
	change := fmt.Sprintf("%s %s %s (%s → %s %s)", name, dir, changeText(d), num(d.A), num(d.B), unit)
	if d.B == d.A {
		return verdictSame, fmt.Sprintf("%s unchanged (%s %s)", name, num(d.A), unit)
	}
	if len(xs) < minSteadyIntervals || len(ys) < minSteadyIntervals {
		return verdictSame, change + ": too few steady intervals to tell from noise"
	}
	p := mannWhitneyP(xs, ys)
	pr := round3(p)
	*pOut = &pr
	big := math.Abs(d.B-d.A) >= minErrorRateChange
	if unit != "%" {
		big = d.A == 0 || math.Abs(d.B-d.A)/math.Abs(d.A) >= minRelChange
	}
	switch {
	case p >= compareAlpha:
		return verdictSame, fmt.Sprintf("%s: within noise (Mann–Whitney p = %s over %d and %d intervals)", change, pText(p), len(xs), len(ys))
	case !big:
		min := "5 %"
		if unit == "%" {
			min = "0.1 points"
		}
		return verdictSame, fmt.Sprintf("%s: a real but small difference (p = %s), under the %s that counts as a change", change, pText(p), min)
	}
	v := verdictBetter
	if (d.B > d.A) == lowerBetter {
		v = verdictWorse
	}
	return v, fmt.Sprintf("%s: beyond noise (Mann–Whitney p = %s over %d and %d intervals)", change, pText(p), len(xs), len(ys))
}

func changeText(d MetricDelta) string {
	if d.Unit == "%" || d.DeltaPct == nil {
		return fmt.Sprintf("by %s %s", num(math.Abs(d.Delta)), map[bool]string{true: "points", false: d.Unit}[d.Unit == "%"])
	}
	return fmt.Sprintf("%s%%", num(math.Abs(*d.DeltaPct)))
}

func pText(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// steadyPoints drops the first interval (connections and VUs warming up)
// and the last (usually partial).
func steadyPoints(tl []report.Point) []report.Point {
	if len(tl) <= 2 {
		return nil
	}
	return tl[1 : len(tl)-1]
}

// mannWhitneyP is the two-sided p-value of the Mann–Whitney U test, by the
// normal approximation with tie correction and continuity correction (good
// from about five samples a side).
func mannWhitneyP(xs, ys []float64) float64 {
	n1, n2 := float64(len(xs)), float64(len(ys))
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, len(xs)+len(ys))
	for _, v := range xs {
		all = append(all, obs{v, true})
	}
	for _, v := range ys {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := n1 + n2
	var r1, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1 … j
		t := float64(j - i)
		ties += t*t*t - t
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += rank
			}
		}
		i = j
	}
	u := r1 - n1*(n1+1)/2
	mu := n1 * n2 / 2
	sigma := math.Sqrt(n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1))))
	if sigma == 0 {
		return 1
	}
	z := math.Max(math.Abs(u-mu)-0.5, 0) / sigma
	return math.Erfc(z / math.Sqrt2)
}

func sameRequests(a, b scenario.Plan) bool {
	ja, _ := json.Marshal([]any{a.Target, a.Flows, a.Headers})
	jb, _ := json.Marshal([]any{b.Target, b.Flows, b.Headers})
	return bytes.Equal(ja, jb)
}

// keptUp judges the open model's throughput: whether each run achieved
// the offered rate (within keptUpShare, with no iteration dropped).
func keptUp(plans [2]scenario.Plan, sums [2]report.Summary) (verdict, reason string) {
	var ok [2]bool
	var says [2]string
	for i := range sums {
		ok[i], says[i] = keptUpWith(plans[i].Load, &sums[i])
	}
	why := "A " + says[0] + "; B " + says[1]
	switch {
	case ok[0] && !ok[1]:
		return verdictWorse, "rps: B did not keep up with the offered rate (" + why + ")"
	case !ok[0] && ok[1]:
		return verdictBetter, "rps: B kept up with the offered rate and A did not (" + why + ")"
	case ok[0]:
		return verdictSame, "rps: both kept up with the offered rate (" + why + ")"
	}
	return verdictSame, "rps: neither kept up with the offered rate (" + why + ")"
}

func keptUpWith(l scenario.Load, s *report.Summary) (bool, string) {
	offered := offeredRate(l)
	achieved := s.Totals.RPS // quick mode: one request per iteration
	if s.Totals.Iterations > 0 && s.Run.DurationS > 0 {
		achieved = float64(s.Totals.Iterations) / s.Run.DurationS
	}
	dropped := s.Totals.DroppedIterations
	text := fmt.Sprintf("achieved %s of %s iterations/s", num(achieved), num(offered))
	if dropped > 0 {
		text += fmt.Sprintf(", dropped %d", dropped)
	}
	return dropped == 0 && (offered == 0 || achieved >= keptUpShare*offered), text
}
