package compare_test

import (
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/compare"
)

func search(maxRate float64, mod ...func(*compare.CapacityRun)) compare.CapacityRun {
	r := compare.CapacityRun{Target: "http://127.0.0.1:8080/work", SLO: []string{"p99<250ms", "errors<1%"},
		MaxRate: maxRate, KneeRate: maxRate * 0.8, Plateau: maxRate, Precision: 0.05, StartRate: 10, Bottleneck: "concurrency"}
	for _, m := range mod {
		m(&r)
	}
	return r
}

func TestCompareCapacity(t *testing.T) {
	for _, tc := range []struct {
		name       string
		a, b       compare.CapacityRun
		verdict    string
		reason     string // a substring of the reason
		deltaPct   float64
		noDeltaPct bool
	}{
		{name: "fell 18 %", a: search(200), b: search(164), verdict: "worse", reason: "max rate fell 18 %: regression", deltaPct: -18},
		{name: "rose 12 %", a: search(100), b: search(112), verdict: "better", reason: "max rate rose 12 %: improvement", deltaPct: 12},
		// A's capacity is in [100, 105), B's in [104, 109.2): they overlap.
		{name: "within the precision", a: search(100), b: search(104), verdict: "same", reason: "the same within the searches' precision (5 %)", deltaPct: 4},
		// B's range starts exactly where A's ends: better.
		{name: "just past the precision", a: search(100), b: search(105), verdict: "better", reason: "max rate rose 5 %: improvement", deltaPct: 5},
		{name: "below by the B's precision", a: search(105), b: search(100), verdict: "worse", reason: "fell 4.8 %", deltaPct: -4.762},
		{name: "a coarser precision widens same", a: search(100, func(r *compare.CapacityRun) { r.Precision = 0.2 }), b: search(115), verdict: "same", reason: "(20 %)", deltaPct: 15},
		{name: "objectives differ", a: search(200), b: search(100, func(r *compare.CapacityRun) { r.SLO = []string{"p99<500ms"} }),
			verdict: "incomparable", reason: "the objectives differ: A met p99<250ms, errors<1%, B p99<500ms", deltaPct: -50},
		{name: "objectives in another order and spacing", a: search(100), b: search(130, func(r *compare.CapacityRun) { r.SLO = []string{"errors < 1%", "p99 < 250ms"} }),
			verdict: "better", reason: "rose 30 %", deltaPct: 30},
		{name: "targets differ", a: search(200), b: search(200, func(r *compare.CapacityRun) { r.Target = "http://127.0.0.1:8080/db" }),
			verdict: "incomparable", reason: "the targets differ: A searched http://127.0.0.1:8080/work, B http://127.0.0.1:8080/db"},
		{name: "one still running", a: search(200), b: search(50, func(r *compare.CapacityRun) { r.Running = true }),
			verdict: "incomparable", reason: "search B is still running", deltaPct: -75},
		{name: "a lower bound above the other", a: search(100), b: search(400, func(r *compare.CapacityRun) { r.LowerBound = true }),
			verdict: "better", reason: "rose 300 %", deltaPct: 300},
		{name: "a lower bound below the other", a: search(400), b: search(100, func(r *compare.CapacityRun) { r.LowerBound = true; r.Bottleneck = "generator" }),
			verdict: "incomparable", reason: "B's 100/s is a lower bound (the generator limited it)", deltaPct: -75},
		{name: "both reached the maximum", a: search(5000, func(r *compare.CapacityRun) { r.LowerBound = true }), b: search(5000, func(r *compare.CapacityRun) { r.LowerBound = true }),
			verdict: "incomparable", reason: "every step passed up to the search's maximum"},
		{name: "b missed its start rate", a: search(50), b: search(0, func(r *compare.CapacityRun) { r.StartMissed = true }),
			verdict: "worse", reason: "B missed the objectives even at its start rate 10/s where A sustained 50/s: regression", deltaPct: -100},
		{name: "a missed its start rate", a: search(0, func(r *compare.CapacityRun) { r.StartMissed = true }), b: search(50),
			verdict: "better", reason: "A missed the objectives even at its start rate 10/s: improvement", noDeltaPct: true},
		{name: "both missed", a: search(0, func(r *compare.CapacityRun) { r.StartMissed = true }), b: search(0, func(r *compare.CapacityRun) { r.StartMissed = true }),
			verdict: "same", noDeltaPct: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compare.CompareCapacity(tc.a, tc.b)
			if c.Kind != "capacity" || c.Verdict != tc.verdict || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("kind %q verdict %q (%s); want %q containing %q", c.Kind, c.Verdict, c.Reason, tc.verdict, tc.reason)
			}
			if len(c.Metrics) != 1 || c.Metrics[0].Name != "max_rate" || c.Metrics[0].Verdict != c.Verdict {
				t.Fatalf("metrics %+v", c.Metrics)
			}
			m := c.Metrics[0]
			if m.A != tc.a.MaxRate || m.B != tc.b.MaxRate || m.Delta != tc.b.MaxRate-tc.a.MaxRate {
				t.Errorf("a %v b %v delta %v", m.A, m.B, m.Delta)
			}
			switch {
			case tc.noDeltaPct && m.DeltaPct != nil:
				t.Errorf("delta_pct %v from a max rate of 0", *m.DeltaPct)
			case !tc.noDeltaPct && (m.DeltaPct == nil || *m.DeltaPct != tc.deltaPct):
				t.Errorf("delta_pct %v; want %v", m.DeltaPct, tc.deltaPct)
			}
		})
	}
}

func TestCompareCapacityNotes(t *testing.T) {
	a := search(200)
	b := search(100, func(r *compare.CapacityRun) { r.Bottleneck = "cpu"; r.KneeRate = 60 })
	c := compare.CompareCapacity(a, b)
	kinds := map[string]string{}
	for _, n := range c.Notes {
		kinds[n.Kind] = n.Text
	}
	if kinds["bottleneck_changed"] != "the bottleneck changed: concurrency → cpu" {
		t.Errorf("bottleneck note %q", kinds["bottleneck_changed"])
	}
	if kinds["curve"] != "knee 160/s → 60/s, throughput plateau 200/s → 100/s" {
		t.Errorf("curve note %q", kinds["curve"])
	}
}
