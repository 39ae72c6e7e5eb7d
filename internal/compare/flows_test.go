package compare

import (
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/report"
)

func lat(p50, p99 float64) *report.Latency { return &report.Latency{P50: p50, P99: p99, Max: p99} }

// withFlows gives run r an order flow of the given p99 (nil: none
// finished) and cut iterations, and its poll step.
func withFlows(r Run, p99 *report.Latency, cut int64) Run {
	r.Summary.Flows = []report.FlowSummary{
		{Name: "order", Iterations: 100, Errors: 1, Cut: cut, Requests: 900, Duration: p99},
		{Name: "browse", Iterations: 1, Requests: 1, Duration: lat(1, 1)},
	}
	r.Summary.Polls = []report.PollSummary{{Name: "wait for order", Polls: 100, Timeouts: 1, Cut: cut, Attempts: 800, Duration: p99}}
	return r
}

// Compare reports each flow and poll step both runs have, with the change
// of its p99; a rise names the flow in the reason without changing the
// verdict, which stays the load's metrics'.
func TestCompareFlows(t *testing.T) {
	base := synthetic(openPlan(20), 30, 100, 20, 0, 0.05, 1)
	same := synthetic(openPlan(20), 30, 100, 20, 0, 0.05, 2)
	for _, tc := range []struct {
		name       string
		a, b       Run
		change     string
		deltaPct   float64 // of order's p99; 0: absent
		wantInWhy  string
		notInWhy   string
		verdict    string
		wantReason string // in the flow's own reason
	}{
		{name: "the backlog trap: the POST the same, the flow 10× slower",
			a: withFlows(base, lat(50, 60), 0), b: withFlows(same, lat(2500, 6000), 40),
			change: "rose", deltaPct: 9900, verdict: verdictSame,
			wantInWhy:  "flows (whole-run figures, not part of the verdict): flow order p99 rose 9900% (60.0 ms → 6.00 s)",
			wantReason: "cut short by the end of the run: A 0, B 40"},
		{name: "faster", a: withFlows(base, lat(500, 1000), 0), b: withFlows(same, lat(50, 100), 0),
			change: "fell", deltaPct: -90, verdict: verdictSame, wantInWhy: "flow order p99 fell 90.0% (1.00 s → 100 ms)"},
		{name: "within 5%", a: withFlows(base, lat(500, 1000), 0), b: withFlows(same, lat(500, 1040), 0),
			change: "same", deltaPct: 4, verdict: verdictSame, notInWhy: "flows", wantReason: "about the same"},
		{name: "none finished in B", a: withFlows(base, lat(500, 1000), 0), b: withFlows(same, nil, 100),
			change: "unknown", verdict: verdictSame, notInWhy: "flows", wantReason: "1.00 s → none: a run finished none"},
		{name: "another load", a: withFlows(base, lat(50, 60), 0), b: withFlows(synthetic(openPlan(40), 30, 100, 40, 0, 0.05, 3), lat(50, 600), 0),
			change: "incomparable", deltaPct: 900, verdict: verdictIncomparable, notInWhy: "flows (", wantReason: "not judged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.a, tc.b)
			if c.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (%s)", c.Verdict, tc.verdict, c.Reason)
			}
			if len(c.Flows) != 3 || c.Flows[0].Flow != "order" || c.Flows[1].Flow != "browse" || c.Flows[2].Kind != "poll" {
				t.Fatalf("flows %+v: want order, browse, and the poll", c.Flows)
			}
			d := c.Flows[0]
			if d.Change != tc.change {
				t.Errorf("change %s, want %s (%s)", d.Change, tc.change, d.Reason)
			}
			switch {
			case tc.deltaPct == 0 && d.DeltaP99Pct != nil:
				t.Errorf("delta %v%%, want none", *d.DeltaP99Pct)
			case tc.deltaPct != 0 && (d.DeltaP99Pct == nil || *d.DeltaP99Pct != tc.deltaPct):
				t.Errorf("delta %v, want %v%%", d.DeltaP99Pct, tc.deltaPct)
			}
			if tc.wantInWhy != "" && !strings.Contains(c.Reason, tc.wantInWhy) {
				t.Errorf("reason %q lacks %q", c.Reason, tc.wantInWhy)
			}
			if tc.notInWhy != "" && strings.Contains(c.Reason, tc.notInWhy) {
				t.Errorf("reason %q has %q", c.Reason, tc.notInWhy)
			}
			if !strings.Contains(d.Reason, tc.wantReason) {
				t.Errorf("flow reason %q lacks %q", d.Reason, tc.wantReason)
			}
			if p := c.Flows[2]; p.Change != tc.change || p.A.Errors != 1 || p.A.Iterations != 100 {
				t.Errorf("poll %+v", p)
			}
		})
	}
	// Runs without flows compare as before, with an empty list.
	if c := Compare(base, same); c.Flows == nil || len(c.Flows) != 0 || strings.Contains(c.Reason, "flow") {
		t.Errorf("without flows: %+v, %q", c.Flows, c.Reason)
	}
}
