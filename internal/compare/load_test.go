package compare

import (
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// Compare judges the system under test, never its input: runs offered
// different loads are incomparable, whatever their numbers say.
func TestCompareRefusesToJudgeTheInput(t *testing.T) {
	closed := func(vus int, d time.Duration) scenario.Plan {
		p := openPlan(0)
		p.Load = scenario.Load{Model: engine.Closed, VUs: vus, Duration: d}
		return p
	}
	staged := func(target float64) scenario.Plan {
		p := openPlan(0)
		p.Load = scenario.Load{Model: engine.Open, Stages: []engine.Stage{{Duration: 10 * time.Second, Target: target}, {Duration: 20 * time.Second, Target: target}}}
		return p
	}
	withDuration := func(p scenario.Plan, d time.Duration) scenario.Plan { p.Load.Duration = d; return p }
	for _, tc := range []struct {
		name      string
		a, b      scenario.Plan
		adjusted  []Adjustment // B's live changes
		want      string
		wantInWhy string
	}{
		{"open vs closed", openPlan(100), closed(10, 30*time.Second), nil, verdictIncomparable, "load models differ"},
		{"other VU counts", closed(10, 30*time.Second), closed(50, 30*time.Second), nil, verdictIncomparable, "VU counts differ (10 vs 50)"},
		{"other stages", staged(100), staged(1000), nil, verdictIncomparable, "stage 1 differs"},
		{"20 % longer", openPlan(100), withDuration(openPlan(100), 36*time.Second), nil, verdictIncomparable, "durations differ"},
		{"5 % longer is the same load", openPlan(100), withDuration(openPlan(100), 31500*time.Millisecond), nil, verdictWorse, "p99 rose"},
		{"a live change in a recorded run", openPlan(100), openPlan(100), nil, verdictIncomparable, "B's load was changed while it ran (rate 300/s at 12s)"},
		{"a live change", openPlan(100), openPlan(100), []Adjustment{{At: time.Now(), Detail: "rate 300/s"}}, verdictIncomparable, "B's load was changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// B's p99 is three times A's: a real change, were the loads the same.
			ra := synthetic(tc.a, 30, 100, 100, 0, 0.05, 1)
			rb := synthetic(tc.b, 30, 300, 100, 0, 0.05, 2)
			if tc.name == "a live change in a recorded run" {
				rb.Summary.Events = []report.Event{{Elapsed: 12, Kind: "rate", Value: 300}}
			}
			rb.Adjustments = tc.adjusted
			c := Compare(ra, rb)
			if c.Verdict != tc.want || !strings.Contains(c.Reason, tc.wantInWhy) {
				t.Errorf("verdict %q (%s), want %q with %q", c.Verdict, c.Reason, tc.want, tc.wantInWhy)
			}
			for _, m := range c.Metrics {
				if tc.want == verdictIncomparable && m.Verdict != verdictIncomparable {
					t.Errorf("metric %s judged %q on different loads: %s", m.Name, m.Verdict, m.Reason)
				}
			}
			if c.Load[0] == "" || c.Load[1] == "" {
				t.Errorf("loads not named: %q", c.Load)
			}
		})
	}
}

func TestOpenModelThroughputIsKeepingUp(t *testing.T) {
	ra := synthetic(openPlan(200), 30, 100, 200, 0, 0.05, 1)
	rb := synthetic(openPlan(200), 30, 100, 200, 0, 0.05, 2)
	rb.Summary.Totals.DroppedIterations = 40
	c := Compare(ra, rb)
	if c.Verdict != verdictWorse || !strings.Contains(c.Reason, "dropped 40") {
		t.Errorf("B dropped iterations: %q %s", c.Verdict, c.Reason)
	}
	c = Compare(rb, ra)
	if c.Verdict != verdictBetter {
		t.Errorf("B kept up where A did not: %q %s", c.Verdict, c.Reason)
	}
}

func TestLoadText(t *testing.T) {
	for _, tc := range []struct {
		load scenario.Load
		want string
	}{
		{scenario.Load{Model: engine.Open, Rate: 200, Duration: 30 * time.Second}, "open · 200/s · 30s"},
		{scenario.Load{Model: engine.Closed, VUs: 50, Duration: time.Minute}, "closed · 50 VUs · 1m"},
		{scenario.Load{Model: engine.Open, Stages: []engine.Stage{{Duration: 15 * time.Second, Target: 1000}}}, "open · stages 0→1000/s · 15s"},
		{scenario.Load{Model: engine.Closed, VUs: 1, Iterations: 500, Duration: 90 * time.Second}, "closed · 1 VU · 1m30s · 500 requests"},
		{scenario.Load{Model: engine.Open, Rate: 2.5, Stages: []engine.Stage{{Duration: time.Minute, Target: 10}, {Duration: time.Hour, Target: 0}}}, "open · stages 2.5→10→0/s · 1h1m"},
	} {
		if got := LoadText(tc.load); got != tc.want {
			t.Errorf("LoadText(%+v) = %q, want %q", tc.load, got, tc.want)
		}
	}
}
