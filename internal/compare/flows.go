package compare

import (
	"fmt"
	"math"
	"strings"

	"github.com/surgeload/surge/internal/report"
)

// FlowDelta is one flow (or poll step) both runs had (Comparison.Flows):
// its whole-run end-to-end figures in each, and the change of its p99.
// The summary keeps a flow's durations for the whole run only, not per
// interval, so there is no rank test: the change is reported, not judged,
// and never changes the comparison's verdict (its reason names a change
// of 5 % or more).
type FlowDelta struct {
	Flow string   `json:"flow"`
	Kind string   `json:"kind"` // "flow", or "poll" for a poll step (until:)
	A    FlowSide `json:"a"`
	B    FlowSide `json:"b"`
	// DeltaP99 is B's p99 less A's, in ms; absent when either finished
	// none. DeltaP99Pct is relative to A's; absent also when A's is 0.
	DeltaP99    *float64 `json:"delta_p99_ms,omitempty"`
	DeltaP99Pct *float64 `json:"delta_p99_pct,omitempty"`
	// Change is "rose", "fell" (by at least 5 %), "same", "unknown" (a
	// side has no duration) or "incomparable" (the offered load differs).
	Change string `json:"change"`
	Reason string `json:"reason"`
}

// FlowSide is one run's figures of a flow: for a poll step, Iterations
// are its polls and Errors its timeouts.
type FlowSide struct {
	Iterations int64    `json:"iterations"`
	Errors     int64    `json:"errors"`
	Cut        int64    `json:"cut"` // cut short by the end of the run: not in the percentiles
	P50        *float64 `json:"p50_ms"`
	P99        *float64 `json:"p99_ms"`
}

// compareFlows compares every flow, then every poll step, both runs had,
// by name, in run A's order.
func compareFlows(sums [2]report.Summary, incomparable bool) []FlowDelta {
	out := []FlowDelta{}
	side := func(iters, errs, cut int64, d *report.Latency) FlowSide {
		s := FlowSide{Iterations: iters, Errors: errs, Cut: cut}
		if d != nil {
			p50, p99 := d.P50, d.P99
			s.P50, s.P99 = &p50, &p99
		}
		return s
	}
	for _, fa := range sums[0].Flows {
		for _, fb := range sums[1].Flows {
			if fb.Name == fa.Name {
				out = append(out, flowDelta(fa.Name, "flow", side(fa.Iterations, fa.Errors, fa.Cut, fa.Duration),
					side(fb.Iterations, fb.Errors, fb.Cut, fb.Duration), incomparable))
			}
		}
	}
	for _, pa := range sums[0].Polls {
		for _, pb := range sums[1].Polls {
			if pb.Name == pa.Name {
				out = append(out, flowDelta(pa.Name, "poll", side(pa.Polls, pa.Timeouts, pa.Cut, pa.Duration),
					side(pb.Polls, pb.Timeouts, pb.Cut, pb.Duration), incomparable))
			}
		}
	}
	return out
}

func flowDelta(name, kind string, a, b FlowSide, incomparable bool) FlowDelta {
	d := FlowDelta{Flow: name, Kind: kind, A: a, B: b, Change: "unknown"}
	what := fmt.Sprintf("%s %s p99", kind, name)
	switch {
	case a.P99 == nil || b.P99 == nil:
		d.Reason = fmt.Sprintf("%s: %s → %s: a run finished none", what, msText(a.P99), msText(b.P99))
	default:
		delta := round3(*b.P99 - *a.P99)
		d.DeltaP99 = &delta
		d.Change = "same"
		rel := math.Inf(1)
		if *a.P99 != 0 {
			pct := round3(100 * delta / *a.P99)
			d.DeltaP99Pct, rel = &pct, math.Abs(pct)/100
		}
		switch {
		case delta > 0 && rel >= minRelChange:
			d.Change = "rose"
		case delta < 0 && rel >= minRelChange:
			d.Change = "fell"
		}
		by := ""
		if d.DeltaP99Pct != nil {
			by = fmt.Sprintf(" %s%%", num(math.Abs(*d.DeltaP99Pct)))
		}
		if d.Change == "same" {
			d.Reason = fmt.Sprintf("%s about the same (%s → %s)", what, msText(a.P99), msText(b.P99))
		} else {
			d.Reason = fmt.Sprintf("%s %s%s (%s → %s)", what, d.Change, by, msText(a.P99), msText(b.P99))
		}
	}
	if b.Cut > a.Cut || a.Cut > b.Cut {
		// The cut iterations are the slowest: a run that cut more has a
		// p99 that leaves more of its slowest out.
		d.Reason += fmt.Sprintf("; cut short by the end of the run: A %d, B %d (not in the percentiles)", a.Cut, b.Cut)
	}
	if incomparable {
		d.Change = "incomparable"
		d.Reason += ", not judged: the offered load differs"
	}
	return d
}

// flowsNote is what the comparison's reason says of the flows that rose
// or fell, or "".
func flowsNote(ds []FlowDelta) string {
	var changed []string
	for _, d := range ds {
		if d.Change == "rose" || d.Change == "fell" {
			changed = append(changed, d.Reason)
		}
	}
	if len(changed) == 0 {
		return ""
	}
	return "; flows (whole-run figures, not part of the verdict): " + strings.Join(changed, "; ")
}

func msText(v *float64) string {
	if v == nil {
		return "none"
	}
	if *v >= 1000 {
		return num(*v/1000) + " s"
	}
	return num(*v) + " ms"
}
