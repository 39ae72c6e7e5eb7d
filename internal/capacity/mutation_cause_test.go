package capacity_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/report"
)

// The causes' rules at their limits: which monitored CPU is named, the
// listen queue, a target that stops answering, the health probe's status.

// cpuSeries is a script with a monitor whose limit series (and timeline
// values) are idle below the script's capacity of 200/s and full at or
// past it.
type cpuSeries struct {
	*script
	idle, full map[string]float64 // Limits
	idleV      map[string]float64 // Values
	fullV      map[string]float64
}

func (m *cpuSeries) Monitors() []report.MonitorData {
	snaps, _ := m.Live()
	d := report.MonitorData{Name: "api"}
	for _, s := range snaps {
		lim, val := m.idle, m.idleV
		if s.Due >= 200 {
			lim, val = m.full, m.fullV
		}
		d.Points = append(d.Points, report.MonitorPoint{T: s.Start.Add(500 * time.Millisecond), Limits: lim, Values: val})
	}
	return []report.MonitorData{d}
}

func searchCPU(t *testing.T, m *cpuSeries) *capacity.Result {
	t.Helper()
	res, err := capacity.Search(context.Background(), m, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 50, Max: 2000, Clock: m.clock,
		Warmup: time.Second, Settle: time.Second, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func proc(pid int) string {
	return fmt.Sprintf(`process_cpu_percent_of_limit{name="api",pid="%d"}`, pid)
}

// The CPU named is the most specific series at its limit and, among
// those as specific, the highest (on a tie the first by name); a series
// at exactly 95 % at the baseline was already at its limit. Map order
// decides nothing: each search is run several times.
func TestTheCPUNamedAtItsLimits(t *testing.T) {
	host := "host_cpu_percent_of_limit"
	for _, tc := range []struct {
		name       string
		idle, full map[string]float64
		want       string // "" : no CPU at its limit
	}{
		{"at 95 % at the baseline", map[string]float64{proc(1): 95}, map[string]float64{proc(1): 99}, ""},
		{"the highest process", map[string]float64{proc(1): 30, proc(2): 30, proc(3): 30, host: 40},
			map[string]float64{proc(1): 96, proc(2): 99, proc(3): 97, host: 100}, proc(2)},
		{"the lowest first", map[string]float64{proc(3): 30, proc(4): 30, proc(5): 30},
			map[string]float64{proc(3): 99, proc(4): 97, proc(5): 96}, proc(3)},
		{"a tie", map[string]float64{proc(1): 30, proc(2): 30}, map[string]float64{proc(1): 98, proc(2): 98}, proc(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 8 {
				res := searchCPU(t, &cpuSeries{script: newScript(newClock(), capped(200, 20*time.Millisecond)), idle: tc.idle, full: tc.full})
				b := res.Bottleneck
				switch {
				case tc.want == "" && b.Kind == capacity.KindCPU:
					t.Fatalf("bottleneck %s (%s); want no CPU at its limit", b.Kind, b.Evidence)
				case tc.want != "" && (b.Kind != capacity.KindCPU || !strings.Contains(b.Evidence, "monitor api: "+tc.want+" at ")):
					t.Fatalf("bottleneck %s (%s); want cpu, naming %s", b.Kind, b.Evidence, tc.want)
				}
			}
		})
	}
}

// Listen-queue overflows at the bound are the connections' limit; a
// series at 0 overflows is none.
func TestListenOverflowsAboveZero(t *testing.T) {
	ovf := "host_tcp_listen_overflows_per_second"
	for _, tc := range []struct {
		full float64
		kind string
	}{
		{0, capacity.KindConcurrency},
		{12, capacity.KindConnections},
	} {
		res := searchCPU(t, &cpuSeries{script: newScript(newClock(), capped(200, 20*time.Millisecond)),
			idleV: map[string]float64{ovf: 0}, fullV: map[string]float64{ovf: tc.full}})
		if b := res.Bottleneck; b.Kind != tc.kind {
			t.Errorf("%v overflows/s at the bound: bottleneck %s (%s); want %s", tc.full, b.Kind, b.Evidence, tc.kind)
		}
	}
}

// A target that stops answering past a rate failed no request there: it
// is not "every request failed". One that answers every request past a
// rate with a 500, without messages, is errors, by class.
func TestATargetThatStopsAnsweringPastARate(t *testing.T) {
	for _, tc := range []struct {
		name string
		past iv
		kind string
		says string
		not  string
	}{
		{"nothing answered", iv{N: -1}, capacity.KindConcurrency, "no request completed in two intervals", "every request failed"},
		{"every request a 500", iv{Errs: 200}, capacity.KindErrors, "every request failed", "connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			s := noMessages{newScript(clock, func(rate float64, _ int) iv {
				if rate > 150 {
					v := tc.past
					if v.Errs > 0 {
						v.Errs = int(rate + 0.5)
					}
					return v
				}
				return iv{}
			})}
			res, err := capacity.Search(context.Background(), s, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 1000, Clock: clock,
				Warmup: time.Second, Settle: time.Second, Window: 4 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			b := res.Bottleneck
			if b.Kind != tc.kind || !strings.Contains(b.Evidence, tc.says) || strings.Contains(b.Evidence, tc.not) {
				t.Errorf("bottleneck %s (%s); want %s saying %q, not %q", b.Kind, b.Evidence, tc.kind, tc.says, tc.not)
			}
		})
	}
}

// A start rate missed with every request failed says to check the URL;
// one missed otherwise (or a result with no step) to try a lower start.
func TestTheStartMissedHint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []capacity.Step
		want  string
	}{
		{"no step", nil, "(try a lower --start)"},
		{"half the requests failed", []capacity.Step{{Phase: "grow", Rate: 10, ErrorRate: 50}}, "(try a lower --start)"},
		{"every request failed", []capacity.Step{{Phase: "grow", Rate: 10, ErrorRate: 100}}, "(every request failed: check the URL and that the target is up)"},
	} {
		var b strings.Builder
		if err := capacity.WriteText(&b, &capacity.Result{StartMissed: true, Steps: tc.steps}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "no rate found "+tc.want) {
			t.Errorf("%s: %s; want %q", tc.name, b.String(), tc.want)
		}
	}
}

// slowClock is a fake clock that also lets real time pass, a twentieth
// of what it is asked to sleep: a real prober at 10/s, ticking on real
// time, sends about one probe per 2 s of the search.
type slowClock struct{ *fakeClock }

func (c slowClock) Sleep(ctx context.Context, d time.Duration) error {
	time.Sleep(d / 20)
	return c.fakeClock.Sleep(ctx, d)
}

// A health endpoint answering 400 fails every probe, counted with its
// status; one answering 204 passes.
func TestTheHTTPProbeFailsFrom400(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusNoContent, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			probeStatus(t, status)
		})
	}
}

// probeStatus searches with a real prober of a loopback health endpoint
// answering status.
func probeStatus(t *testing.T, status int) {
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	clock := newClock()
	s := newScript(clock, func(float64, int) iv { return iv{} })
	res, err := capacity.Search(context.Background(), s, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 100, Clock: slowClock{clock},
		Warmup: time.Second, Settle: time.Second, Window: 2 * time.Second, Confirm: 5 * time.Second, Probe: health.URL + "/health", ProbeRate: 10})
	health.Close()
	if err != nil {
		t.Fatal(err)
	}
	last := res.Steps[len(res.Steps)-1]
	if last.ProbeN == nil || *last.ProbeN == 0 {
		t.Fatalf("status %d: no probe in the last step (%+v)", status, last)
	}
	failed := strings.Contains(res.ProbeStarved, fmt.Sprintf("probes failed (status %d)", status))
	if want := status >= 400; failed != want || (*last.ProbeErrors == *last.ProbeN) != want {
		t.Errorf("status %d: %d of %d probes failed, probe starved %q; want all failed: %v", status, *last.ProbeErrors, *last.ProbeN, res.ProbeStarved, want)
	}
}

// A link's speed is doubted only when more than 1.2× it went through:
// 150 MB/s on a link of 125 MB/s is at the limit, not past it.
func TestALinkAtExactly120PercentIsNotDoubted(t *testing.T) {
	clock := newClock()
	f := monitored{newFake(model{Workers: 4, Service: 20 * time.Millisecond, Fixture: fixture(t, "network_link_at_150000000")}, clock, time.Second)}
	res, err := capacity.Search(context.Background(), f, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if b := res.Bottleneck; b.Kind != capacity.KindNetwork || !strings.Contains(b.Evidence, "120% of the link's") || strings.Contains(b.Evidence, "check that speed") {
		t.Errorf("bottleneck %s (%s); want network at 120%% of the link, its speed not doubted", b.Kind, b.Evidence)
	}
}

// The recovery waits for the probe to answer within 2× its baseline p99
// plus 5 ms: after a 10 ms baseline, a probe (and requests) of exactly
// 25 ms are back at once, not held for the whole recovery.
func TestTheProbeIsBackAtExactlyTwiceItsBaselinePlus5ms(t *testing.T) {
	ms := time.Millisecond
	overloaded := false
	s := newScript(newClock(), func(rate float64, _ int) iv {
		switch {
		case rate > 100:
			overloaded = true
			return iv{Latency: 400 * ms}
		case overloaded:
			return iv{Latency: 25 * ms}
		}
		return iv{Latency: 10 * ms}
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<100ms"), Start: 100, Max: 400, Growth: 4, Window: 4 * time.Second, Prober: snapProber{s: s}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Steps {
		if st.Rate == 400 && st.RecoveryS != 1 {
			t.Errorf("recovery after 400/s: %vs; want 1s (the first interval back at 25 ms)", st.RecoveryS)
		}
	}
}
