package metrics_test

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// The metrics hot path: every request a VU sends ends in one Record.

func newBenchRecorder() *metrics.Recorder {
	return metrics.NewRecorder(time.Now(), []metrics.EndpointKey{{Name: "home", Method: "GET"}, {Name: "login", Method: "POST"}}, []string{"status 200"})
}

// latencies are realistic request latencies (log-normal around 5 ms), so the
// sketch touches as many bins as it would in a run.
func latencies() []time.Duration {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]time.Duration, 4096)
	for i := range out {
		out[i] = time.Duration(5e6 * rand.ExpFloat64() * (0.5 + r.Float64()))
	}
	return out
}

// BenchmarkRecord is one successful request outcome recorded by one VU.
func BenchmarkRecord(b *testing.B) {
	rec := newBenchRecorder()
	lat := latencies()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec.Record(7, 0, metrics.Outcome{Class: metrics.OK, Latency: lat[i&4095], BytesSent: 80, BytesReceived: 160})
		i++
	}
}

// BenchmarkRecordError is a failed request, whose message is counted too.
func BenchmarkRecordError(b *testing.B) {
	rec := newBenchRecorder()
	lat := latencies()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec.Record(7, 1, metrics.Outcome{Class: metrics.Status5xx, Latency: lat[i&4095], Message: "503 Service Unavailable"})
		i++
	}
}

// BenchmarkRecordParallel is every core's VUs recording at once, each VU
// passing its id as the shard hint.
func BenchmarkRecordParallel(b *testing.B) {
	rec := newBenchRecorder()
	lat := latencies()
	b.ReportAllocs()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		vu := int(next.Add(1))
		i := 0
		for pb.Next() {
			rec.Record(vu, 0, metrics.Outcome{Class: metrics.OK, Latency: lat[i&4095]})
			i++
		}
	})
}

// BenchmarkRecordLag is the open model's start-lag sample per iteration.
func BenchmarkRecordLag(b *testing.B) {
	rec := newBenchRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rec.RecordLag(3, 150*time.Microsecond)
		rec.IterationDone()
	}
}

// BenchmarkSketchAdd is the latency sketch alone.
func BenchmarkSketchAdd(b *testing.B) {
	s := metrics.NewSketch()
	lat := latencies()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(lat[i&4095])
		i++
	}
}

// BenchmarkSnapshot is the per-interval swap and merge of every shard, after
// an interval of n requests per endpoint.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("requests=%d", n), func(b *testing.B) {
			rec := newBenchRecorder()
			lat := latencies()
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for i := range n {
					rec.Record(i, i&1, metrics.Outcome{Class: metrics.OK, Latency: lat[i&4095]})
				}
				b.StartTimer()
				now = now.Add(time.Second)
				_ = rec.Snapshot(now)
			}
		})
	}
}

// BenchmarkMerge is the controller merging one interval's snapshots from
// several agents.
func BenchmarkMerge(b *testing.B) {
	lat := latencies()
	for _, agents := range []int{1, 10} {
		b.Run(fmt.Sprintf("agents=%d", agents), func(b *testing.B) {
			parts := make([]metrics.Snapshot, agents)
			for a := range parts {
				rec := newBenchRecorder()
				for i := range 10000 {
					rec.Record(i, i&1, metrics.Outcome{Class: metrics.OK, Latency: lat[(i+a)&4095]})
				}
				parts[a] = rec.Snapshot(time.Now())
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = metrics.Merge(parts...)
			}
		})
	}
}

// A snapshot with one node_exporter-sized monitor sample (500 series with
// labels), as a monitored run stores each interval.
func BenchmarkSnapshotMonitorsDecode(b *testing.B) {
	s := metrics.Snapshot{Start: t0, End: t0.Add(time.Second)}
	var vals []metrics.MonitorValue
	for i := range 500 {
		vals = append(vals, metrics.MonitorValue{Name: fmt.Sprintf("node_metric_%d_total", i%60), Unit: "/s",
			Labels: map[string]string{"cpu": fmt.Sprint(i % 8), "mode": fmt.Sprint("m", i%7)}, V: float64(i)})
	}
	s.Monitors = []metrics.MonitorSample{{Monitor: "node", T: t0, Values: vals}}
	enc, err := metrics.EncodeSnapshot(&s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(enc)), "bytes")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := metrics.DecodeSnapshot(enc); err != nil {
			b.Fatal(err)
		}
	}
}
