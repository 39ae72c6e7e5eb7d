package compare

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/surgeload/surge/internal/scenario"
)

// CapacityRun is one side of a comparison of two capacity searches: what
// its surge.capacity/v1 result and its plan say. (compare does not import
// internal/capacity: the caller copies the fields.)
type CapacityRun struct {
	Plan      scenario.Plan // the search's one run: its requests
	Target    string        // the result's target
	SLO       []string      // the objectives, as given
	MaxRate   float64
	KneeRate  float64
	Plateau   float64 // plateau_rps
	Precision float64 // the bisection's: the true capacity is below MaxRate × (1 + Precision)
	// LowerBound: the target may take more than MaxRate (the search
	// reached its maximum, or the generator limited it).
	LowerBound bool
	// StartMissed: even the start rate (StartRate, the first step's)
	// missed the objectives: the capacity is below it.
	StartMissed bool
	StartRate   float64
	Bottleneck  string // its kind
	Running     bool   // still searching
}

// CapacityComparison says whether search B found more or less capacity
// than search A (GET /api/v1/compare on two capacity runs, docs/api.md).
type CapacityComparison struct {
	Kind    string        `json:"kind"` // "capacity"
	Metrics []MetricDelta `json:"metrics"`
	Verdict string        `json:"verdict"`
	Reason  string        `json:"reason"`
	Notes   []Note        `json:"notes"`
}

// capacityRange is where a search says the target's capacity lies:
// [lo, hi). A search that found MaxRate by bisecting to Precision knows
// it within [MaxRate, MaxRate×(1+Precision)); a lower bound is open
// above; a missed start rate puts it in [0, start).
func capacityRange(r CapacityRun) (lo, hi float64) {
	switch {
	case r.StartMissed:
		return 0, r.StartRate
	case r.LowerBound:
		return r.MaxRate, math.Inf(1)
	}
	return r.MaxRate, r.MaxRate * (1 + r.Precision)
}

// CompareCapacity says whether b's capacity is above or below a's. Two
// searches are compared on their max rates, each known only to the
// precision its bisection reached: B is better when its range lies wholly
// above A's, worse when wholly below, and the same when the two overlap.
// They are incomparable when their objectives or their targets differ,
// when one is still running, or when a lower bound overlaps the other's
// range (the direction is then unknown).
func CompareCapacity(a, b CapacityRun) CapacityComparison {
	c := CapacityComparison{Kind: "capacity", Notes: []Note{}}
	runs := [2]CapacityRun{a, b}
	d := MetricDelta{Name: "max_rate", Unit: "/s", Better: "higher", A: a.MaxRate, B: b.MaxRate, Delta: round3(b.MaxRate - a.MaxRate)}
	if a.MaxRate != 0 {
		pct := round3(100 * (b.MaxRate - a.MaxRate) / a.MaxRate)
		d.DeltaPct = &pct
	}
	var incomparable []string
	for i, r := range runs {
		name := "AB"[i : i+1]
		if r.Running {
			c.Notes = append(c.Notes, Note{Kind: "running", Params: map[string]string{"run": name},
				Text: fmt.Sprintf("search %s is still running", name)})
			incomparable = append(incomparable, fmt.Sprintf("search %s is still running: compare it once it has ended", name))
		}
	}
	if sa, sb := sloKey(a.SLO), sloKey(b.SLO); sa != sb {
		c.Notes = append(c.Notes, Note{Kind: "slo_differs", Params: map[string]string{"a": strings.Join(a.SLO, ", "), "b": strings.Join(b.SLO, ", ")},
			Text: fmt.Sprintf("the objectives differ (%s vs %s)", strings.Join(a.SLO, ", "), strings.Join(b.SLO, ", "))})
		incomparable = append(incomparable, fmt.Sprintf("the objectives differ: A met %s, B %s", strings.Join(a.SLO, ", "), strings.Join(b.SLO, ", ")))
	}
	if a.Target != b.Target || !sameRequests(a.Plan, b.Plan) {
		c.Notes = append(c.Notes, Note{Kind: "requests_differ", Params: map[string]string{"a": a.Target, "b": b.Target},
			Text: fmt.Sprintf("the searches sent different requests (%s vs %s)", orNone(a.Target), orNone(b.Target))})
		incomparable = append(incomparable, fmt.Sprintf("the targets differ: A searched %s, B %s", orNone(a.Target), orNone(b.Target)))
	}
	if a.KneeRate != b.KneeRate || a.Plateau != b.Plateau {
		c.Notes = append(c.Notes, Note{Kind: "curve", Params: map[string]string{"knee_a": rateText(a.KneeRate), "knee_b": rateText(b.KneeRate),
			"plateau_a": rateText(a.Plateau), "plateau_b": rateText(b.Plateau)},
			Text: fmt.Sprintf("knee %s/s → %s/s, throughput plateau %s/s → %s/s", rateText(a.KneeRate), rateText(b.KneeRate), rateText(a.Plateau), rateText(b.Plateau))})
	}
	if a.Bottleneck != b.Bottleneck && a.Bottleneck != "" && b.Bottleneck != "" {
		c.Notes = append(c.Notes, Note{Kind: "bottleneck_changed", Params: map[string]string{"a": a.Bottleneck, "b": b.Bottleneck},
			Text: fmt.Sprintf("the bottleneck changed: %s → %s", a.Bottleneck, b.Bottleneck)})
	}
	if len(incomparable) > 0 {
		d.Verdict, d.Reason = verdictIncomparable, strings.Join(incomparable, "; ")
	} else {
		d.Verdict, d.Reason = judgeCapacity(a, b, d)
	}
	c.Metrics = []MetricDelta{d}
	c.Verdict, c.Reason = d.Verdict, d.Reason
	return c
}

// judgeCapacity is the verdict on two comparable searches' max rates.
func judgeCapacity(a, b CapacityRun, d MetricDelta) (verdict, reason string) {
	loA, hiA := capacityRange(a)
	loB, hiB := capacityRange(b)
	change := func(verb string) string {
		if d.DeltaPct == nil {
			return fmt.Sprintf("max rate %s from %s/s to %s/s", verb, rateText(a.MaxRate), rateText(b.MaxRate))
		}
		return fmt.Sprintf("max rate %s %s %%", verb, pctText(math.Abs(*d.DeltaPct)))
	}
	// The ranges' ends are products of rates and precisions: compare them
	// with a tolerance, so 100 × 1.05 meets 105.
	const eps = 1e-9
	switch {
	case a.StartMissed && b.StartMissed:
		return verdictSame, fmt.Sprintf("both searches missed the objectives even at their start rates (%s/s, %s/s)", rateText(a.StartRate), rateText(b.StartRate))
	case loB >= hiA*(1-eps):
		if a.StartMissed {
			return verdictBetter, fmt.Sprintf("B sustained %s/s where A missed the objectives even at its start rate %s/s: improvement", rateText(b.MaxRate), rateText(a.StartRate))
		}
		return verdictBetter, change("rose") + ": improvement"
	case hiB <= loA*(1+eps):
		if b.StartMissed {
			return verdictWorse, fmt.Sprintf("B missed the objectives even at its start rate %s/s where A sustained %s/s: regression", rateText(b.StartRate), rateText(a.MaxRate))
		}
		return verdictWorse, change("fell") + ": regression"
	case math.IsInf(hiA, 1) || math.IsInf(hiB, 1):
		var bounds []string
		for i, r := range []CapacityRun{a, b} {
			if r.LowerBound {
				bounds = append(bounds, fmt.Sprintf("%s's %s/s is a lower bound (%s)", "AB"[i:i+1], rateText(r.MaxRate), boundWhy(r)))
			}
		}
		return verdictIncomparable, strings.Join(bounds, "; ") + ": which searched the higher capacity is unknown"
	}
	p := math.Max(a.Precision, b.Precision)
	return verdictSame, fmt.Sprintf("max rate %s/s vs %s/s: the same within the searches' precision (%s %%)", rateText(a.MaxRate), rateText(b.MaxRate), pctText(100*p))
}

// rateText is a rate as a sentence says it: "164", "23.4".
func rateText(v float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64), ".0")
}

// pctText is a percentage as a sentence says it: "18", "4.5".
func pctText(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
}

func boundWhy(r CapacityRun) string {
	if r.Bottleneck == "generator" {
		return "the generator limited it"
	}
	return "every step passed up to the search's maximum"
}

// sloKey is a set of objectives in a form that ignores order and spaces.
func sloKey(slo []string) string {
	keys := make([]string, len(slo))
	for i, s := range slo {
		keys[i] = strings.Join(strings.Fields(s), "")
	}
	sort.Strings(keys)
	return strings.Join(keys, "\x00")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
