package compare

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/report"
)

// withMonitor gives run r a monitor "api" on a 4-CPU host whose busy
// percentage is cpuPerReq CPU-ms per request at each interval's rate, and
// two gunicorn workers (pids differ per run) of rss bytes each, each
// scattered by ±noise.
func withMonitor(r Run, cpuPerReq, rss, noise float64, pids [2]string, seed uint64) Run {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	jitter := func(v float64) float64 { return v * (1 + noise*(2*rng.Float64()-1)) }
	f := func(v float64) *float64 { return &v }
	var busyPct float64
	tl := make([]report.Point, len(r.Summary.Timeline))
	for i, p := range r.Summary.Timeline {
		pct := jitter(cpuPerReq) * p.RPS / 1000 / 4 * 100
		busyPct += pct
		p.Monitors = map[string]map[string]*float64{"api": {
			"host_cpu_busy_percent": f(pct),
			`process_rss_bytes{name="gunicorn",pid="` + pids[0] + `"}`: f(jitter(rss)),
			`process_rss_bytes{name="gunicorn",pid="` + pids[1] + `"}`: f(jitter(rss)),
		}}
		if i == 3 {
			p.Monitors["api"]["host_cpu_busy_percent"] = nil // a failed scrape: a gap, not a zero
		}
		tl[i] = p
	}
	r.Summary.Timeline = tl
	mean := busyPct / float64(len(tl))
	r.Summary.Monitors = []report.MonitorSummary{{Name: "api", Series: []report.MonitorSeries{
		{Name: "host_cpu_busy_cores", Labels: map[string]string{}, Mean: mean / 100 * 4},
		{Name: "host_cpu_busy_percent", Labels: map[string]string{}, Mean: mean},
	}}}
	return r
}

func findDelta(c Comparison, series string) *MonitorDelta {
	for i := range c.Monitors {
		if c.Monitors[i].Series == series {
			return &c.Monitors[i]
		}
	}
	return nil
}

// Compare reports each monitor series both runs have: host CPU per
// request and the processes' RSS peak, judged against noise with the
// load's rank test, named in the reason when beyond it, and never
// changing the verdict of the load's metrics.
func TestCompareMonitors(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		cpuA, cpuB, rssA, rssB float64
		rateB                  float64
		wantCPU, wantRSS       string
		wantInWhy, notInWhy    string
		wantVerdict            string
	}{
		{"CPU per request up 30%", 0.5, 0.65, 100e6, 100e6, 200, verdictWorse, verdictSame,
			"api host CPU per request rose 29.9% (0.50 → 0.65 ms): beyond noise", "RSS", verdictSame},
		{"RSS peak up, CPU the same", 0.5, 0.5, 100e6, 150e6, 200, verdictSame, verdictWorse,
			"api gunicorn RSS peak rose", "CPU per request rose", verdictSame},
		{"CPU per request down", 0.65, 0.5, 100e6, 100e6, 200, verdictBetter, verdictSame,
			"host CPU per request fell", "RSS", verdictSame},
		{"within noise", 0.5, 0.505, 100e6, 100.5e6, 200, verdictSame, verdictSame,
			"no metric changed", "on the target", verdictSame},
		{"other load: not judged", 0.5, 0.65, 100e6, 150e6, 300, verdictIncomparable, verdictIncomparable,
			"offered", "on the target", verdictIncomparable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := withMonitor(synthetic(openPlan(200), 30, 100, 200, 0, 0.05, 1), tc.cpuA, tc.rssA, 0.03, [2]string{"10", "11"}, 7)
			b := withMonitor(synthetic(openPlan(tc.rateB), 30, 100, 200, 0, 0.05, 2), tc.cpuB, tc.rssB, 0.03, [2]string{"977", "978"}, 8)
			c := Compare(a, b)
			if c.Verdict != tc.wantVerdict {
				t.Errorf("verdict %s (%s), want %s: monitors never change it", c.Verdict, c.Reason, tc.wantVerdict)
			}
			cpu, rss := findDelta(c, "host_cpu_busy_percent"), findDelta(c, "process_rss_bytes")
			if cpu == nil || rss == nil {
				t.Fatalf("monitor deltas %+v", c.Monitors)
			}
			if cpu.Verdict != tc.wantCPU || cpu.What != "cpu_ms_per_request" || cpu.Unit != "ms" {
				t.Errorf("CPU: %+v, want %s", cpu, tc.wantCPU)
			}
			if want := tc.cpuA; abs(cpu.A-want) > 0.05*want {
				t.Errorf("CPU per request of A %v ms, want about %v", cpu.A, want)
			}
			// The two workers of each run are one series, summed, whatever their pids.
			if rss.Verdict != tc.wantRSS || rss.What != "peak" || rss.Labels["name"] != "gunicorn" || len(rss.Labels) != 1 {
				t.Errorf("RSS: %+v, want %s", rss, tc.wantRSS)
			}
			if rss.A < 2*tc.rssA || rss.A > 2.1*tc.rssA {
				t.Errorf("RSS peak of A %v, want the two workers' sum, about %v", rss.A, 2*tc.rssA)
			}
			if !strings.Contains(c.Reason, tc.wantInWhy) || strings.Contains(c.Reason, tc.notInWhy) {
				t.Errorf("reason %q: want %q in it and not %q", c.Reason, tc.wantInWhy, tc.notInWhy)
			}
		})
	}
}

func abs(v float64) float64 { return max(v, -v) }

// Runs without monitors in common compare no series; an empty list, not
// null, in the JSON.
func TestCompareWithoutCommonMonitors(t *testing.T) {
	a := withMonitor(synthetic(openPlan(200), 30, 100, 200, 0, 0.05, 1), 0.5, 1e6, 0.03, [2]string{"1", "2"}, 1)
	b := synthetic(openPlan(200), 30, 100, 200, 0, 0.05, 2)
	if c := Compare(a, b); c.Monitors == nil || len(c.Monitors) != 0 {
		t.Errorf("monitors %#v, want an empty list", c.Monitors)
	}
}

func TestParseKey(t *testing.T) {
	for key, want := range map[string][2]string{
		`host_cpu_busy_percent`:                        {"host_cpu_busy_percent", ""},
		`process_rss_bytes{name="gunicorn",pid="12"}`:  {"process_rss_bytes", "gunicorn"},
		`process_rss_bytes{name="a \"b\" c",pid="12"}`: {"process_rss_bytes", `a "b" c`},
		`process_rss_bytes{pid="12",name="x,y"}`:       {"process_rss_bytes", "x,y"},
	} {
		name, labels := parseKey(key)
		if name != want[0] || labels["name"] != want[1] {
			t.Errorf("parseKey(%s) = %s %v, want %v", key, name, labels, want)
		}
	}
}
