package metrics_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// lognormal returns n latencies around median m with a heavy tail.
func lognormal(r *rand.Rand, n int, m time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(float64(m) * math.Exp(r.NormFloat64()))
	}
	return out
}

func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(q*float64(len(sorted)-1))]
}

func TestSketchQuantilesWithinRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := lognormal(r, 100_000, 5*time.Millisecond)
	s := metrics.NewSketch()
	for _, v := range vals {
		s.Add(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999} {
		want := exactQuantile(vals, q)
		got := s.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > metrics.RelativeAccuracy {
			t.Errorf("q=%v: got %v, exact %v: relative error %.4f > %v", q, got, want, rel, metrics.RelativeAccuracy)
		}
	}
	if s.Min() != vals[0] || s.Max() != vals[len(vals)-1] {
		t.Errorf("min/max %v/%v, want exact %v/%v", s.Min(), s.Max(), vals[0], vals[len(vals)-1])
	}
}

// Property: merging sketches of any partition of the data gives the same
// quantiles, counts, min, max and mean as one sketch of all of it.
func TestSketchMergeEqualsOneSketch(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		vals := lognormal(r, 1000+r.IntN(5000), time.Duration(1+r.IntN(100))*time.Millisecond)
		whole := metrics.NewSketch()
		for _, v := range vals {
			whole.Add(v)
		}
		parts := make([]*metrics.Sketch, 1+r.IntN(8))
		for i := range parts {
			parts[i] = metrics.NewSketch()
		}
		for _, v := range vals {
			parts[r.IntN(len(parts))].Add(v)
		}
		merged := metrics.NewSketch()
		for _, p := range parts {
			merged.MergeFrom(p)
		}
		if merged.Count() != whole.Count() || merged.Min() != whole.Min() || merged.Max() != whole.Max() || merged.Mean() != whole.Mean() {
			t.Fatalf("seed %d: merged count/min/max/mean %d/%v/%v/%v, whole %d/%v/%v/%v", seed,
				merged.Count(), merged.Min(), merged.Max(), merged.Mean(), whole.Count(), whole.Min(), whole.Max(), whole.Mean())
		}
		for q := 0.0; q <= 1; q += 0.01 {
			if a, b := merged.Quantile(q), whole.Quantile(q); a != b {
				t.Fatalf("seed %d: q=%.2f merged %v, one sketch %v", seed, q, a, b)
			}
		}
	}
}

func TestSketchEmptyAndReset(t *testing.T) {
	s := metrics.NewSketch()
	if s.Quantile(0.99) != 0 || s.Mean() != 0 || s.Count() != 0 {
		t.Fatal("empty sketch must read zeros")
	}
	s.Add(time.Second)
	s.Add(-time.Second) // recorded as zero
	if s.Count() != 2 || s.Min() != 0 {
		t.Fatalf("count %d min %v", s.Count(), s.Min())
	}
	c := s.Copy()
	s.Reset()
	if s.Count() != 0 || c.Count() != 2 || c.Max() != time.Second {
		t.Fatal("Reset must not touch a copy")
	}
}
