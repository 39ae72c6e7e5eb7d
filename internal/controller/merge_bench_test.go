package controller_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
)

// The shape of a multi-step scenario's snapshot: 8 endpoints, 6 checks,
// about 100 requests per endpoint per agent per second (800 rps an agent,
// 80,000 rps on 100 agents), latencies spread like a real service's.
const (
	benchEndpoints = 8
	benchChecks    = 6
	benchReqs      = 100
	benchFleet     = 100
)

// benchSnapshot makes one agent's interval: its sketches hold real,
// log-normally spread latencies (median 20 ms, a tail to seconds), a few
// errors of three classes, and start lags of a fraction of a millisecond.
func benchSnapshot(r *rand.Rand) metrics.Snapshot {
	s := metrics.Snapshot{Lag: metrics.NewSketch(), GeneratorCPU: 0.4, VUs: 40, MaxVUs: 45,
		Messages: map[string]int64{"status_5xx: 503 Service Unavailable": 2, "timeout: request timed out": 1}}
	for e := range benchEndpoints {
		ep := metrics.Endpoint{Name: fmt.Sprintf("step %d", e), Method: "GET", Requests: benchReqs,
			BytesSent: 120 * benchReqs, BytesReceived: 2400 * benchReqs, Latency: metrics.NewSketch()}
		ep.Classes[metrics.OK] = benchReqs - 3
		ep.Classes[metrics.Status5xx] = 2
		ep.Classes[metrics.Timeout] = 1
		for range benchReqs {
			ep.Latency.Add(time.Duration(20e6 * math.Exp(0.8*r.NormFloat64())))
			s.Lag.Add(time.Duration(200e3 * math.Exp(r.NormFloat64())))
		}
		s.Endpoints = append(s.Endpoints, ep)
		s.Iterations += benchReqs / 2
		s.Due += benchReqs / 2
	}
	for c := range benchChecks {
		s.Checks = append(s.Checks, metrics.Check{Name: fmt.Sprintf("check %d", c), Passes: benchReqs - 1, Fails: 1})
	}
	return s
}

// benchAgent emits n intervals as fast as the controller takes them; with
// encoded set it decodes each from the wire form first, as the
// controller's side of a remote agent does.
type benchAgent struct {
	name    string
	n       int
	snaps   []metrics.Snapshot // a few distinct intervals, used in turn
	encoded [][]byte
}

func (a *benchAgent) Name() string   { return a.name }
func (a *benchAgent) Adjust(float64) {}
func (a *benchAgent) Run(_ context.Context, _ agent.Segment, emit func(metrics.Snapshot)) error {
	for i := range a.n {
		var s metrics.Snapshot
		if a.encoded != nil {
			var err error
			if s, err = metrics.DecodeSnapshot(a.encoded[i%len(a.encoded)]); err != nil {
				return err
			}
		} else {
			s = a.snaps[i%len(a.snaps)]
		}
		s.Seq = i
		emit(s)
	}
	return nil
}

func benchAgents(b *testing.B, n int, wire bool) []agent.Agent {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var out []agent.Agent
	for i := range benchFleet {
		a := &benchAgent{name: fmt.Sprint(i), n: n}
		for range 4 {
			s := benchSnapshot(r)
			if wire {
				enc, err := metrics.EncodeSnapshot(&s)
				if err != nil {
					b.Fatal(err)
				}
				a.encoded = append(a.encoded, enc)
			} else {
				a.snaps = append(a.snaps, s)
			}
		}
		out = append(out, a)
	}
	return out
}

// BenchmarkMerge100Agents runs the controller's whole merge path — receive,
// per-agent truth, bin-wise merge, the live timeline — on 100 agents' b.N
// intervals. Run with -cpu 1 for one controller core; ns/agent-interval
// gives agents/core: how many agents at 1 s intervals one core merges.
func BenchmarkMerge100Agents(b *testing.B) {
	for _, wire := range []bool{false, true} {
		name := "merge"
		if wire {
			name = "decode+merge"
		}
		b.Run(name, func(b *testing.B) {
			agents := benchAgents(b, b.N, wire)
			plan := scenario.Plan{Load: scenario.Load{Model: engine.Open, Rate: 80000, Duration: time.Minute}}
			c := controller.New(plan, controller.Options{Agents: agents})
			b.ReportAllocs()
			b.ResetTimer()
			res, err := c.Run(context.Background())
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Timeline) != b.N || res.Total.Totals().Requests != int64(b.N)*benchFleet*benchEndpoints*benchReqs {
				b.Fatalf("%d intervals, %d requests", len(res.Timeline), res.Total.Totals().Requests)
			}
			per := float64(b.Elapsed().Nanoseconds()) / float64(b.N*benchFleet)
			b.ReportMetric(per, "ns/agent-interval")
			b.ReportMetric(1e9/per, "agents/core@1s")
		})
	}
}

// BenchmarkMergeInterval is metrics.Merge alone on one interval of 100
// agents' snapshots: the part of the path above that is the merge itself.
func BenchmarkMergeInterval(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	parts := make([]metrics.Snapshot, benchFleet)
	for i := range parts {
		parts[i] = benchSnapshot(r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		metrics.Merge(parts...)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchFleet), "ns/agent-interval")
}
