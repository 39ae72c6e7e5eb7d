package metrics_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// BenchmarkMergeSched is BenchmarkMerge's merge of agents' snapshots that
// each carry a scheduling-latency sketch.
func BenchmarkMergeSched(b *testing.B) {
	for _, c := range []struct {
		agents int
		named  bool // named agents: the merged snapshot keeps each one's part
	}{{1, false}, {10, false}, {10, true}} {
		b.Run(fmt.Sprintf("agents=%d,parts=%v", c.agents, c.named), func(b *testing.B) {
			parts := make([]metrics.Snapshot, c.agents)
			for a := range parts {
				parts[a] = metrics.Snapshot{Start: t0, End: t0.Add(time.Second), GeneratorSched: schedSketch(uint64(a + 1))}
				if c.named {
					parts[a].Agent = fmt.Sprintf("agent-%d", a)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = metrics.Merge(parts...)
			}
		})
	}
}

// BenchmarkEncodeSnapshotSched and BenchmarkDecodeSnapshotSched are the
// codec benchmarks' snapshot with a scheduling-latency sketch: what the
// field adds to each interval on the wire.
func BenchmarkEncodeSnapshotSched(b *testing.B) {
	s := testSnapshot(rand.New(rand.NewPCG(7, 8)), 1)
	s.GeneratorSched = schedSketch(50)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		out, err := metrics.EncodeSnapshot(&s)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "wire-bytes")
}

func BenchmarkDecodeSnapshotSched(b *testing.B) {
	s := testSnapshot(rand.New(rand.NewPCG(7, 8)), 1)
	s.GeneratorSched = schedSketch(50)
	enc := encode(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := metrics.DecodeSnapshot(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "wire-bytes")
}
