package metrics

import (
	"math"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy is the sketch's guaranteed relative error for any quantile:
// a reported p99 of 200 ms means the true p99 lies within 198–202 ms.
const RelativeAccuracy = 0.01

// maxBins bounds a sketch's memory (~16 KiB at most). With α = 1 % the bins
// span 1 ns to far beyond an hour, so collapsing never happens for latencies.
const maxBins = 2048

// indexMapping is shared by every sketch so that any two sketches merge.
var indexMapping = func() mapping.IndexMapping {
	m, err := mapping.NewCubicallyInterpolatedMapping(RelativeAccuracy)
	if err != nil {
		panic(err) // a constant argument: cannot fail
	}
	return m
}()

// Sketch is a mergeable latency distribution (a DDSketch) with exact count,
// sum, min and max kept beside it. The zero value is not usable; call
// NewSketch. A Sketch is not safe for concurrent use.
type Sketch struct {
	dd       *ddsketch.DDSketch
	count    uint64
	sum      time.Duration
	min, max time.Duration
}

// NewSketch returns an empty sketch.
func NewSketch() *Sketch {
	return &Sketch{dd: ddsketch.NewDDSketch(indexMapping, store.NewCollapsingLowestDenseStore(maxBins), store.NewCollapsingLowestDenseStore(1))}
}

// Add records one duration. Negative durations are recorded as zero.
func (s *Sketch) Add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	_ = s.dd.Add(float64(d)) // cannot fail: d is finite, non-negative and indexable
	if s.count == 0 || d < s.min {
		s.min = d
	}
	if d > s.max {
		s.max = d
	}
	s.count++
	s.sum += d
}

// AddN records n durations of d at once (nothing when n is 0), as n calls
// of Add would, in one step: for distributions that come already counted,
// such as a histogram's buckets. Negative durations are recorded as zero.
func (s *Sketch) AddN(d time.Duration, n uint64) {
	if n == 0 {
		return
	}
	if d < 0 {
		d = 0
	}
	_ = s.dd.AddWithCount(float64(d), float64(n)) // cannot fail: d is finite, non-negative and indexable, n > 0
	if s.count == 0 || d < s.min {
		s.min = d
	}
	if d > s.max {
		s.max = d
	}
	s.count += n
	s.sum += d * time.Duration(n)
}

// Count is the number of recorded durations.
func (s *Sketch) Count() uint64 { return s.count }

// Min is the exact smallest recorded duration (0 when empty).
func (s *Sketch) Min() time.Duration { return s.min }

// Max is the exact largest recorded duration (0 when empty).
func (s *Sketch) Max() time.Duration { return s.max }

// Sum is the exact sum of the recorded durations (0 when empty): the
// phases of requests add up to their latencies by it, exactly.
func (s *Sketch) Sum() time.Duration { return s.sum }

// Mean is the exact mean of the recorded durations (0 when empty).
func (s *Sketch) Mean() time.Duration {
	if s.count == 0 {
		return 0
	}
	return s.sum / time.Duration(s.count)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) within RelativeAccuracy,
// clamped to the exact min and max; 0 when empty.
func (s *Sketch) Quantile(q float64) time.Duration {
	if s.count == 0 {
		return 0
	}
	v, err := s.dd.GetValueAtQuantile(q)
	if err != nil || math.IsNaN(v) {
		return 0
	}
	d := time.Duration(math.Round(v))
	return max(s.min, min(d, s.max))
}

// CountAbove returns how many of the values recorded are above d, within
// RelativeAccuracy: the counts of the bins whose value is above d (those
// Quantile answers from), none when d is at or above the exact max.
func (s *Sketch) CountAbove(d time.Duration) uint64 {
	if s.count == 0 || s.max <= d {
		return 0
	}
	var n float64
	s.dd.ForEach(func(v, c float64) bool {
		if v > float64(d) {
			n += c
		}
		return false
	})
	return min(uint64(math.Round(n)), s.count)
}

// MergeFrom adds every value recorded in o into s.
func (s *Sketch) MergeFrom(o *Sketch) {
	if o == nil || o.count == 0 {
		return
	}
	_ = s.dd.MergeWith(o.dd) // cannot fail: one shared mapping
	if s.count == 0 || o.min < s.min {
		s.min = o.min
	}
	if o.max > s.max {
		s.max = o.max
	}
	s.count += o.count
	s.sum += o.sum
}

// Copy returns a deep copy.
func (s *Sketch) Copy() *Sketch {
	c := *s
	c.dd = s.dd.Copy()
	return &c
}

// Reset empties s, keeping its memory for reuse.
func (s *Sketch) Reset() {
	s.dd.Clear()
	s.count, s.sum, s.min, s.max = 0, 0, 0, 0
}
