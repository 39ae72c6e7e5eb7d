package capacity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
)

// Options at the edge of what is allowed are accepted; past it they are
// refused, every problem named at once.
func TestSearchOptionsAtTheirLimits(t *testing.T) {
	good := func(o capacity.Options) capacity.Options {
		if o.SLO == nil {
			o.SLO = slo(t, "p99<1s")
		}
		o.Start, o.Max = 100, 100
		return o
	}
	for _, tc := range []struct {
		name string
		o    capacity.Options
		want string // "" : accepted
	}{
		{"precision just under 1", good(capacity.Options{Precision: 0.999}), ""},
		{"precision negative", good(capacity.Options{Precision: -0.1}), "precision -0.1"},
		{"window of exactly two intervals", good(capacity.Options{Window: 2 * time.Second}), ""},
		{"window just under two intervals", good(capacity.Options{Window: 2*time.Second - time.Millisecond}), "window 1.999s"},
		{"settle of zero takes the default", good(capacity.Options{Settle: 0}), ""},
		{"negative settle", good(capacity.Options{Settle: -time.Second}), "settle -1s: want a duration ≥ 0"},
		{"negative recover", good(capacity.Options{Recover: -time.Second}), "recover -1s"},
		{"two problems", good(capacity.Options{Growth: 0.5, Precision: 2}), "growth 0.5: want a factor > 1; precision 2"},
		{"probe rate 10/s", good(capacity.Options{Probe: "http://127.0.0.1:1/health", ProbeRate: 10}), ""},
		{"probe rate past 10/s", good(capacity.Options{Probe: "http://127.0.0.1:1/health", ProbeRate: 10.5}), "probe rate 10.5"},
		{"probe not a URL", good(capacity.Options{Probe: "localhost:80/health"}), `probe "localhost:80/health": want an http:// or https:// URL`},
		{"negative link speed", good(capacity.Options{LinkBytesPerSec: -1}), "link speed -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Clock = newClock()
			if o.Probe != "" {
				o.Prober = steadyProber{} // nothing is sent
			}
			_, err := capacity.Search(context.Background(), newFake(model{Workers: 100, Service: time.Millisecond}, o.Clock.(*fakeClock), time.Second), o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, capacity.ErrOptions) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err %v; want ErrOptions saying %q", err, tc.want)
			}
		})
	}
}

// The bounding step's errors name the class most requests failed with.
func TestErrorsNameTheDominantClass(t *testing.T) {
	for _, tc := range []struct {
		class metrics.Class
		kind  string
	}{
		{metrics.Status5xx, capacity.KindErrors},
		{metrics.ConnRefused, capacity.KindConnections},
		{metrics.ConnReset, capacity.KindConnections},
	} {
		s := newScript(newClock(), func(rate float64, _ int) iv {
			if rate > 150 {
				return iv{Errs: int(rate) / 10, Class: tc.class}
			}
			return iv{}
		})
		res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Start: 100, Max: 400, Window: 4 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		b := res.Bottleneck
		if b.Kind != tc.kind || !strings.Contains(b.Evidence, "the most as "+tc.class.String()) {
			t.Errorf("%s: bottleneck %s (%s); want %s naming the class", tc.class, b.Kind, b.Evidence, tc.kind)
		}
		if res.MaxRate < 140 || res.MaxRate > 150 {
			t.Errorf("%s: max rate %v; want within 5 %% below 150", tc.class, res.MaxRate)
		}
	}
}

// The service time of Little's law is the lowest mean latency of the
// steps at up to half the knee's rate (and the start step), not one past
// the knee: a target of 100/s that takes 30 ms at 12.5/s, 20 ms at 25 and
// 50/s and 60 ms at 100/s holds 100 × 20 ms = 2 requests at once.
func TestLittlesLawUsesTheLowestLatencyBelowHalfTheKnee(t *testing.T) {
	ms := time.Millisecond
	s := newScript(newClock(), func(rate float64, k int) iv {
		switch {
		case rate <= 12.5:
			return iv{Latency: 30 * ms}
		case rate <= 50:
			return iv{Latency: 20 * ms}
		case rate <= 75:
			return iv{Latency: 35 * ms}
		case rate <= 100:
			return iv{Latency: 60 * ms}
		}
		return capped(100, 60*ms)(rate, k)
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<500ms"), Start: 12.5, Max: 1000, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bottleneck
	if b.Kind != capacity.KindConcurrency || b.ServiceMS == nil {
		t.Fatalf("bottleneck %s (%s); want concurrency with a service time", b.Kind, b.Evidence)
	}
	if *b.ServiceMS < 19.5 || *b.ServiceMS > 20.5 {
		t.Errorf("service time %v ms; want the 20 ms of the steps up to half the knee (knee %v)", *b.ServiceMS, res.KneeRate)
	}
	if *b.Concurrency < 1.9 || *b.Concurrency > 2.1 {
		t.Errorf("concurrency %v; want 100/s × 20 ms = 2", *b.Concurrency)
	}
}

// Throughput that keeps following the offered rate is no saturation:
// objectives that fail while every step achieves what it is offered leave
// the bottleneck unknown, saying so.
func TestFailingObjectivesWithThroughputFollowingAreUnknown(t *testing.T) {
	ms := time.Millisecond
	s := newScript(newClock(), func(rate float64, _ int) iv {
		if rate > 150 {
			return iv{Latency: 300 * ms}
		}
		return iv{Latency: 20 * ms}
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 1000, Window: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bottleneck
	if b.Kind != capacity.KindUnknown || !strings.Contains(b.Evidence, "while throughput still followed the offered rate") || b.Concurrency != nil {
		t.Errorf("bottleneck %s (%s, concurrency %v); want unknown, throughput following, no Little's law", b.Kind, b.Evidence, b.Concurrency)
	}
}

// A monitored CPU at 95 % of its limit at the bound (and not at the
// baseline) is the bottleneck; at 94 % it is not, and neither is one as
// busy at the baseline as at the bound.
func TestCPUAtItsLimitFromTheMonitor(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, peak float64
		kind       string
	}{
		{"95% at the bound", 40, 95, capacity.KindCPU},
		{"94% at the bound", 40, 94, capacity.KindConcurrency},
		{"as busy at the baseline", 96, 99, capacity.KindConcurrency},
		{"just under at the baseline", 94.9, 99, capacity.KindCPU},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			s := newScript(clock, capped(200, 20*time.Millisecond))
			m := &cpuMon{script: s, base: tc.base, peak: tc.peak}
			o := capacity.Options{SLO: slo(t, "p99<250ms"), Start: 50, Max: 2000, Window: 4 * time.Second, Clock: clock, Settle: time.Second, Warmup: time.Second}
			res, err := capacity.Search(context.Background(), m, o)
			if err != nil {
				t.Fatal(err)
			}
			if b := res.Bottleneck; b.Kind != tc.kind {
				t.Errorf("bottleneck %s (%s); want %s", b.Kind, b.Evidence, tc.kind)
			}
		})
	}
}

// cpuMon is a script with a monitor whose process CPU is base % below the
// script's capacity (200/s) and peak % at or past it.
type cpuMon struct {
	*script
	base, peak float64
}

func (m *cpuMon) Monitors() []report.MonitorData {
	snaps, _ := m.Live()
	d := report.MonitorData{Name: "api"}
	for _, s := range snaps {
		v := m.base
		if s.Due >= 200 {
			v = m.peak
		}
		d.Points = append(d.Points, report.MonitorPoint{T: s.Start.Add(500 * time.Millisecond),
			Limits: map[string]float64{`process_cpu_percent_of_limit{name="api",pid="1"}`: v}})
	}
	return []report.MonitorData{d}
}

// After a failing step the rate drops to the start rate until an
// interval's p99 is back within 2× the baseline's plus 5 ms; a step
// whose p99 ended below that needs no recovery.
func TestRecoveryWaitsForTheBaselineLatency(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		after   []time.Duration // p99 of the intervals at the start rate after the 400/s step
		recover float64         // s
	}{
		{"back at once", []time.Duration{20 * ms}, 1},
		{"back within 2× + 5 ms", []time.Duration{200 * ms, 44 * ms}, 2},
		{"above 2× + 5 ms, then back", []time.Duration{200 * ms, 47 * ms, 30 * ms}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed := false
			s := newScript(newClock(), func(rate float64, k int) iv {
				switch {
				case rate > 300:
					failed = true
					return iv{Latency: 900 * ms}
				case failed && rate == 100 && k < len(tc.after):
					return iv{Latency: tc.after[k]}
				}
				return iv{Latency: 20 * ms}
			})
			res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 400, Growth: 4, Window: 4 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			var st *capacity.Step
			for i := range res.Steps {
				if res.Steps[i].Rate == 400 {
					st = &res.Steps[i]
				}
			}
			if st == nil || st.OK {
				t.Fatalf("no failing step at 400/s: %+v", res.Steps)
			}
			if st.RecoveryS != tc.recover {
				t.Errorf("recovery %vs; want %vs", st.RecoveryS, tc.recover)
			}
		})
	}
}

// With a probe, the recovery after a failing step also waits for the
// health probe to answer within 2× its baseline p99 plus 5 ms: a target
// whose requests are fast again at once but whose health check stays slow
// for 3 s more recovers in about 3 s, not 1.
func TestRecoveryWaitsForTheProbe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		slowFor time.Duration
		recover float64
	}{
		{"probe back at once", 0, 1},
		{"probe slow for 3s more", 3 * time.Second, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hot time.Time // the end of the last interval at 400/s
			var s *script
			s = newScript(newClock(), func(rate float64, k int) iv {
				if rate > 300 {
					hot = s.start.Add(time.Duration(len(s.snaps)+1) * s.interval)
					return iv{Latency: 900 * time.Millisecond}
				}
				return iv{Latency: 20 * time.Millisecond}
			})
			p := funcProber(func(at time.Time) time.Duration {
				if !hot.IsZero() && !at.Before(hot.Add(-time.Second)) && at.Before(hot.Add(tc.slowFor)) {
					return 300 * time.Millisecond
				}
				return time.Millisecond
			})
			res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 100, Max: 400, Growth: 4, Window: 4 * time.Second, Prober: p})
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range res.Steps {
				if st.Rate == 400 && (st.RecoveryS < tc.recover || st.RecoveryS > tc.recover+1) {
					t.Errorf("recovery %vs; want %v–%vs", st.RecoveryS, tc.recover, tc.recover+1)
				}
			}
		})
	}
}

// funcProber probes every 500 ms with the latency f gives for the time.
type funcProber func(at time.Time) time.Duration

func (f funcProber) Samples(from, to time.Time) []capacity.ProbeSample {
	var out []capacity.ProbeSample
	for at := from.Truncate(500 * time.Millisecond); at.Before(to); at = at.Add(500 * time.Millisecond) {
		if !at.Before(from) {
			out = append(out, capacity.ProbeSample{T: at, Latency: f(at)})
		}
	}
	return out
}
