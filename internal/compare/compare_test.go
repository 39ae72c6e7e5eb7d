package compare

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// synthetic makes a run of n intervals whose per-interval p50/p95/p99 and
// rps scatter around the given means by ±noise (relative), with seed.
func synthetic(plan scenario.Plan, n int, p99, rps, errPct, noise float64, seed uint64) Run {
	rng := rand.New(rand.NewPCG(seed, seed))
	jitter := func(v float64) float64 { return v * (1 + noise*(2*rng.Float64()-1)) }
	var sum report.Summary
	var reqs, errs int64
	for i := range n {
		r := jitter(rps)
		req := int64(r)
		e := int64(math.Round(float64(req) * errPct / 100))
		reqs, errs = reqs+req, errs+e
		sum.Timeline = append(sum.Timeline, report.Point{Elapsed: float64(i + 1), Requests: req, Errors: e, RPS: r,
			P50: jitter(p99 / 4), P95: jitter(p99 / 1.5), P99: jitter(p99)})
	}
	sum.Totals = report.Totals{Requests: reqs, Errors: errs, RPS: rps, ErrorRate: 100 * float64(errs) / float64(reqs)}
	sum.Latency = report.Latency{P50: p99 / 4, P95: p99 / 1.5, P99: p99}
	return Run{Plan: plan, Summary: sum, Started: time.Now()}
}

func openPlan(rate float64) scenario.Plan {
	return scenario.Plan{Target: "http://127.0.0.1:1", Load: scenario.Load{Model: engine.Open, Rate: rate, Duration: 30 * time.Second},
		Flows: []scenario.Flow{{Name: "default", Steps: []scenario.Step{{Method: "GET", URL: "/"}}}}}
}

func TestCompareVerdicts(t *testing.T) {
	type run struct {
		n                int
		p99, rps, errPct float64
		noise            float64
		rate             float64
	}
	for _, tc := range []struct {
		name       string
		a, b       run
		want       string
		wantMetric string // a metric that must carry the verdict
		wantInWhy  string
	}{
		{"same within noise", run{30, 100, 200, 0, 0.2, 200}, run{30, 102, 199, 0, 0.2, 200}, verdictSame, "", "noise"},
		{"p99 up 50%", run{30, 100, 200, 0, 0.1, 200}, run{30, 150, 200, 0, 0.1, 200}, verdictWorse, "p99", "p99 rose 50.0%"},
		{"p99 down", run{30, 150, 200, 0, 0.1, 200}, run{30, 100, 200, 0, 0.1, 200}, verdictBetter, "p99", "p99 fell"},
		{"errors up", run{30, 100, 200, 0, 0.05, 200}, run{30, 100, 200, 5, 0.05, 200}, verdictWorse, "error_rate", "error_rate rose"},
		{"small but real", run{30, 100, 200, 0, 0.005, 200}, run{30, 102, 200, 0, 0.005, 200}, verdictSame, "", "small"},
		{"too short to tell", run{4, 100, 200, 0, 0.1, 200}, run{4, 300, 200, 0, 0.1, 200}, verdictSame, "", "too few steady intervals"},
		{"open model at another rate: incomparable", run{30, 100, 200, 0, 0.05, 100}, run{30, 1, 200, 0, 0.05, 300}, verdictIncomparable, "p99", "offered rates differ (100 vs 300/s)"},
		{"open model that kept up: rps judged by keeping up", run{30, 100, 200, 0, 0.05, 200}, run{30, 100, 180, 0, 0.05, 200}, verdictWorse, "rps", "B did not keep up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra := synthetic(openPlan(tc.a.rate), tc.a.n, tc.a.p99, tc.a.rps, tc.a.errPct, tc.a.noise, 1)
			rb := synthetic(openPlan(tc.b.rate), tc.b.n, tc.b.p99, tc.b.rps, tc.b.errPct, tc.b.noise, 2)
			c := Compare(ra, rb)
			if c.Verdict != tc.want {
				t.Errorf("verdict %q, want %q: %s", c.Verdict, tc.want, c.Reason)
			}
			reasons := c.Reason
			for _, m := range c.Metrics {
				reasons += "\n" + m.Reason
			}
			if !strings.Contains(reasons, tc.wantInWhy) {
				t.Errorf("reasons lack %q:\n%s", tc.wantInWhy, reasons)
			}
			found := tc.wantMetric == ""
			for _, m := range c.Metrics {
				if m.Name == tc.wantMetric {
					found = true
					if m.Verdict != tc.want {
						t.Errorf("metric %s: verdict %q, want %q (%s)", m.Name, m.Verdict, tc.want, m.Reason)
					}
				}
				if tc.want == verdictSame && m.Verdict != verdictSame {
					t.Errorf("metric %s: verdict %q in a comparison judged same (%s)", m.Name, m.Verdict, m.Reason)
				}
			}
			if !found {
				t.Errorf("no metric %s in %+v", tc.wantMetric, c.Metrics)
			}
			if len(c.Metrics) != 5 {
				t.Errorf("%d metrics, want p50 p95 p99 rps error_rate", len(c.Metrics))
			}
		})
	}
}

func TestMannWhitney(t *testing.T) {
	same := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	if p := mannWhitneyP(same, same); p < 0.9 {
		t.Errorf("identical samples: p = %v, want ≈ 1", p)
	}
	lo := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	hi := []float64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if p := mannWhitneyP(lo, hi); p > 0.001 {
		t.Errorf("separated samples: p = %v, want < 0.001", p)
	}
	if p := mannWhitneyP([]float64{5, 5, 5, 5, 5}, []float64{5, 5, 5, 5, 5}); p != 1 {
		t.Errorf("all ties: p = %v, want 1", p)
	}
	// Exact two-sided p for n1 = n2 = 5, U = 0 is 2/252 ≈ 0.0079; the
	// normal approximation with continuity correction gives ≈ 0.012.
	if p := mannWhitneyP([]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}); p < 0.005 || p > 0.02 {
		t.Errorf("n=5 separated: p = %v, want ≈ 0.01", p)
	}
}
