package agent

import (
	"math"
	"testing"
	"time"
)

// Each bucket stands for its midpoint; an open-ended one for its finite
// bound.
func TestSchedBucketValue(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		lo, hi float64
		want   time.Duration
	}{
		{math.Inf(-1), 0, 0},
		{0, 64e-9, 32 * time.Nanosecond},
		{1e-3, 1.25e-3, 1125 * time.Microsecond},
		{float64(uint64(1)<<47) / 1e9, inf, time.Duration(1 << 47)},
		{math.Inf(-1), inf, 0},
	} {
		if got := bucketValue(tc.lo, tc.hi); got != tc.want {
			t.Errorf("bucket [%v, %v): %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}

// A reading is what the cumulative histogram gained since the last one:
// counts at their buckets' midpoints, nothing for buckets that did not
// grow, and the next reading starts from this one.
func TestSchedHistogramDelta(t *testing.T) {
	ms := func(f float64) float64 { return f / 1e3 }
	buckets := []float64{math.Inf(-1), 0, ms(1), ms(2), ms(4), ms(8), math.Inf(1)}
	last := []uint64{0, 100, 10, 0, 0, 0}
	s := histogramDelta(buckets, []uint64{0, 1100, 10, 0, 10, 0}, last)
	if s.Count() != 1010 {
		t.Fatalf("count %d, want 1010", s.Count())
	}
	if got := s.Quantile(0.5); got != 500*time.Microsecond {
		t.Errorf("p50 %v, want the [0, 1ms) bucket's midpoint 500µs", got)
	}
	if got := s.Quantile(0.999); got < 5940*time.Microsecond || got > 6060*time.Microsecond {
		t.Errorf("p99.9 %v, want the [4, 8ms) bucket's midpoint 6ms within 1 %%", got)
	}
	if s.Max() != 6*time.Millisecond || s.Sum() != 1000*500*time.Microsecond+10*6*time.Millisecond {
		t.Errorf("max %v, sum %v", s.Max(), s.Sum())
	}
	if want := []uint64{0, 1100, 10, 0, 10, 0}; !equal(last, want) {
		t.Errorf("last %v, want %v", last, want)
	}
	if s := histogramDelta(buckets, []uint64{0, 1100, 10, 0, 10, 0}, last); s.Count() != 0 {
		t.Errorf("an unchanged histogram read %d latencies, want none", s.Count())
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
