package capacity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/report"
)

// Monitors, options and the health probe at their limits.

// At the limits of the monitors' evidence: memory at exactly 95 % at the
// baseline was already full; a link at exactly 90 % at the baseline was
// already full; with no link speed known, traffic under load that the
// baseline did not show is still no evidence of a full link.
func TestMonitorEvidenceAtTheBaselinesLimits(t *testing.T) {
	for _, name := range []string{"cgroup_memory_base_at_95", "network_link_base_at_112500000", "network_no_speed_quiet_idle"} {
		t.Run(name, func(t *testing.T) {
			clock := newClock()
			f := monitored{newFake(model{Workers: 4, Service: 20 * time.Millisecond, Fixture: fixture(t, name)}, clock, time.Second)}
			res, err := capacity.Search(context.Background(), f, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			if b := res.Bottleneck; b.Kind != capacity.KindConcurrency || !strings.Contains(b.Evidence, "a pool of ~4") {
				t.Errorf("bottleneck %s (%s); want concurrency, a pool of ~4", b.Kind, b.Evidence)
			}
		})
	}
}

// unscraped is a fakeSession whose monitor has a fixture's series listed
// but never scraped (N 0) and no timeline points.
type unscraped struct{ *fakeSession }

func (u unscraped) Monitors() []report.MonitorData {
	u.mu.Lock()
	defer u.mu.Unlock()
	d := report.MonitorData{Name: "api", URL: "http://127.0.0.1:9465/metrics"}
	for k, v := range u.last {
		name, labels := parseKey(k)
		d.Series = append(d.Series, scrape.SeriesSummary{Name: name, Labels: labels, Last: v})
	}
	return []report.MonitorData{d}
}

// A series never scraped is no evidence, and a monitor with no point in a
// step's window gives the step no monitor ranges.
func TestAnUnscrapedSeriesIsNoEvidence(t *testing.T) {
	clock := newClock()
	f := unscraped{newFake(model{Workers: 4, Service: 20 * time.Millisecond, Fixture: fixture(t, "process_memory_full")}, clock, time.Second)}
	res, err := capacity.Search(context.Background(), f, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if b := res.Bottleneck; b.Kind != capacity.KindConcurrency {
		t.Errorf("bottleneck %s (%s); want concurrency", b.Kind, b.Evidence)
	}
	for _, s := range res.Steps {
		if s.Monitors != nil {
			t.Errorf("step at %v/s has monitor ranges %v without a point in its window", s.Rate, s.Monitors)
		}
	}
}

// Options at the edges the other tests leave: a probe URL without a rate
// takes the default rate; https is a probe's scheme as much as http, ftp
// is not; the window's message says the two intervals it needs; several
// problems are joined, the first not preceded by a separator.
func TestOptionsAtTheirEdges(t *testing.T) {
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer health.Close()
	for _, tc := range []struct {
		name string
		o    capacity.Options
		want string // "" : accepted
	}{
		{"a probe at the default rate", capacity.Options{Probe: health.URL + "/health"}, ""},
		{"an https probe", capacity.Options{Probe: "https://127.0.0.1:8443/health", Prober: steadyProber{}}, ""},
		{"an ftp probe", capacity.Options{Probe: "ftp://127.0.0.1/health", Prober: steadyProber{}}, `probe "ftp://127.0.0.1/health": want an http:// or https:// URL`},
		{"a window of one interval", capacity.Options{Window: time.Second}, "capacity: bad options: window 1s: want at least two intervals (2s)"},
		{"two problems", capacity.Options{Growth: 0.5, Precision: 2}, "capacity: bad options: growth 0.5: want a factor > 1; precision 2: want a fraction in (0, 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.SLO, o.Start, o.Max = slo(t, "p99<1s"), 100, 100
			clock := newClock()
			o.Clock = clock
			res, err := capacity.Search(context.Background(), newFake(model{Workers: 100, Service: time.Millisecond}, clock, time.Second), o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, capacity.ErrOptions) || !strings.HasPrefix(err.Error(), "capacity: bad options: ") || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err %v; want ErrOptions saying %q", err, tc.want)
			case tc.want == "" && (len(res.Steps) == 0 || res.Steps[0].ProbeN == nil):
				t.Errorf("steps %+v; want probe figures in each", res.Steps)
			}
		})
	}
}

// A bounding step whose every probe failed says no probe answered (not
// a p99 of 0), with the failures counted.
func TestAProbeThatNeverAnsweredAtTheBound(t *testing.T) {
	ms := time.Millisecond
	s := newScript(newClock(), func(rate float64, _ int) iv {
		if rate > 100 {
			return iv{Latency: 400 * ms}
		}
		return iv{Latency: 10 * ms}
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<100ms"), Start: 100, Max: 1000, Window: 4 * time.Second, Prober: snapProber{s: s, failAbove: 100 * ms}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.ProbeStarved, "no probe answered at ") || !strings.Contains(res.ProbeStarved, "probes failed (status 503)") {
		t.Errorf("probe starved %q; want no probe answered, the failures counted", res.ProbeStarved)
	}
	for _, st := range res.Steps {
		if !st.OK && (st.ProbeP99 != nil || st.ProbeP50 != nil) {
			t.Errorf("step at %v/s: probe p50 %v p99 %v with every probe failed; want none", st.Rate, st.ProbeP50, st.ProbeP99)
		}
	}
}

// The probe starved when its p99 at the bound is above 3× the baseline's
// plus 20 ms: after 10 ms, 50 ms is not above, 51 ms is.
func TestTheProbeStarvesAboveThreeTimesItsBaselinePlus20ms(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		bound   time.Duration
		starved bool
	}{
		{50 * ms, false},
		{51 * ms, true},
	} {
		s := newScript(newClock(), func(rate float64, _ int) iv {
			if rate > 100 {
				return iv{Latency: tc.bound}
			}
			return iv{Latency: 10 * ms}
		})
		res, err := s.run(capacity.Options{SLO: slo(t, "p99<40ms"), Start: 100, Max: 1000, Window: 4 * time.Second, Prober: snapProber{s: s}})
		if err != nil {
			t.Fatal(err)
		}
		if res.MaxRate != 100 {
			t.Fatalf("max rate %v; want 100", res.MaxRate)
		}
		if starved := res.ProbeStarved != ""; starved != tc.starved {
			t.Errorf("probe at %v under load after 10 ms: starved %q; want starved %v", tc.bound, res.ProbeStarved, tc.starved)
		}
	}
}
