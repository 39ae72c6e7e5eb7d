package engine_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
)

// noopWork's VUs do nothing: what remains is the engine's own cost.
type noopWork struct{}

func (noopWork) NewVU(context.Context, int) engine.VU { return noopVU{} }

type noopVU struct{}

func (noopVU) Iterate(context.Context, engine.Iteration) error { return nil }

// BenchmarkOpenPacing runs the open model at a fixed rate against a no-op
// step for b.N iterations and reports how well the scheduler kept time:
// the achieved rate, the distribution of actual-minus-due start times
// (lag-p50/p99/p999/max, in µs) and the CPU per iteration. ns/op is just
// 1/rate; read the custom metrics. To measure on one core:
//
//	taskset -c 0 go test ./internal/engine -run XXX -bench OpenPacing -cpu 1 -benchtime 2s
func BenchmarkOpenPacing(b *testing.B) {
	for _, rate := range []float64{5_000, 100_000, 200_000} {
		b.Run(fmt.Sprintf("rate=%.0f", rate), func(b *testing.B) {
			n := int64(b.N)
			start := time.Now().Add(10 * time.Millisecond)
			rec := metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "noop", Method: "GET"}}, nil)
			// The profile lasts a little longer than n iterations need;
			// the iteration budget ends the run.
			d := time.Duration(float64(n)/rate*float64(time.Second)) + time.Second
			e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(rate, d), Iterations: n, MaxVUs: 1000}, noopWork{}, rec)
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			if err := e.Run(context.Background(), start); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			end := time.Now()
			cpu := cpuTime() - cpu0
			s := rec.Snapshot(end)
			if s.Iterations != n {
				b.Fatalf("%d iterations ran, want %d", s.Iterations, n)
			}
			us := func(q float64) float64 { return float64(s.Lag.Quantile(q)) / 1e3 }
			b.ReportMetric(float64(n)/end.Sub(start).Seconds(), "iter/s")
			b.ReportMetric(us(0.5), "lag-p50-µs")
			b.ReportMetric(us(0.99), "lag-p99-µs")
			b.ReportMetric(us(0.999), "lag-p999-µs")
			b.ReportMetric(float64(s.Lag.Max())/1e3, "lag-max-µs")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/iter")
			b.ReportMetric(float64(s.Dropped), "dropped")
			b.ReportMetric(float64(s.MaxVUs), "max-vus")
		})
	}
}

// BenchmarkClosedNoop is the closed model's cost per iteration with no-op VUs.
func BenchmarkClosedNoop(b *testing.B) {
	start := time.Now()
	rec := metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "noop", Method: "GET"}}, nil)
	e, err := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(50, time.Hour), Iterations: int64(b.N)}, noopWork{}, rec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := e.Run(context.Background(), start); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRatePacer is computing one due time.
func BenchmarkRatePacer(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    engine.Profile
	}{
		{"constant", engine.Constant(1e6, 0)},
		{"ramp", engine.Profile{Stages: []engine.Stage{{Duration: time.Hour, Target: 1e6}}}},
		{"stages", engine.Profile{Stages: []engine.Stage{{Duration: time.Second, Target: 1e3}, {Duration: time.Hour, Target: 1e6}, {Duration: time.Hour, Target: 0}}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := engine.NewRatePacer(tc.p)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := p.Next(); !ok {
					p = engine.NewRatePacer(tc.p)
				}
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
