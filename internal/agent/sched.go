package agent

import (
	"math"
	rtmetrics "runtime/metrics"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// schedMetric is the Go runtime's histogram of scheduling latencies: how
// long goroutines spent runnable before they ran, cumulative since the
// process started.
const schedMetric = "/sched/latencies:seconds"

// SchedMeter measures the scheduling latency of this process between
// readings: how long its goroutines waited, runnable, for a CPU. A
// response the target sent in time but that the generator read late,
// because every P was busy, shows here and not in start lag: it is the
// generator's own CPU in the latency it measured. Like CPUMeter it is
// the whole process's figure (the runtime keeps one histogram per
// process), not only the load's goroutines': an agent process runs little
// else, and anything else that keeps its CPUs busy delays the load too.
// The runtime samples it — one in eight of each goroutine's transitions
// is timed — so its counts are a sample and its quantiles the
// distribution's. A SchedMeter is not safe for concurrent use.
type SchedMeter struct {
	sample [1]rtmetrics.Sample
	last   []uint64 // the histogram's counts at the last reading
}

// NewSchedMeter starts measuring from now.
func NewSchedMeter() *SchedMeter {
	m := &SchedMeter{sample: [1]rtmetrics.Sample{{Name: schedMetric}}}
	if h := m.read(); h != nil {
		m.last = append([]uint64(nil), h.Counts...)
	}
	return m
}

// read reads the runtime's histogram, or nil when this Go runtime does not
// have it.
func (m *SchedMeter) read() *rtmetrics.Float64Histogram {
	rtmetrics.Read(m.sample[:])
	if m.sample[0].Value.Kind() != rtmetrics.KindFloat64Histogram {
		return nil
	}
	return m.sample[0].Value.Float64Histogram()
}

// Latencies is the scheduling latency since the last reading (or
// NewSchedMeter) as a sketch; nil when the runtime does not measure it.
// Each bucket's new count is added at the bucket's midpoint: the
// runtime's buckets split each power of two in four, so a bucket is up to
// a quarter of its lower bound wide and its midpoint is within ±11 % of
// any value in it, either way. The upper bound would overstate every
// value by up to 25 %, and the judge compares this latency with the rise
// of the requests' — an overstatement there would name the generator as
// the limit of steps it did not limit. The open-ended buckets take their
// finite bound: the first (below 0) none ever has, the last (beyond
// 2^47 ns, 39 hours) its lower one.
func (m *SchedMeter) Latencies() *metrics.Sketch {
	h := m.read()
	if h == nil {
		return nil
	}
	if len(m.last) != len(h.Counts) {
		m.last = make([]uint64, len(h.Counts)) // the first reading failed: all since the start
	}
	return histogramDelta(h.Buckets, h.Counts, m.last)
}

// histogramDelta is what a cumulative histogram (counts of the buckets
// [buckets[i], buckets[i+1])) gained since last, as a sketch; it sets
// last to counts.
func histogramDelta(buckets []float64, counts, last []uint64) *metrics.Sketch {
	s := metrics.NewSketch()
	for i, c := range counts {
		if c <= last[i] {
			continue // cumulative: nothing new in this bucket
		}
		s.AddN(bucketValue(buckets[i], buckets[i+1]), c-last[i])
		last[i] = c
	}
	return s
}

// bucketValue is the duration a histogram bucket [lo, hi) (seconds)
// stands for: its midpoint, or its finite bound when the other is
// infinite.
func bucketValue(lo, hi float64) time.Duration {
	var v float64
	switch {
	case math.IsInf(lo, -1) && math.IsInf(hi, 1):
		v = 0
	case math.IsInf(lo, -1):
		v = hi
	case math.IsInf(hi, 1):
		v = lo
	default:
		v = (lo + hi) / 2
	}
	return time.Duration(math.Max(v, 0) * float64(time.Second))
}
