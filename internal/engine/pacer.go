package engine

import (
	"math"
	"time"
)

// A Pacer tells the open-model scheduler when each iteration is due. Next
// returns successive due offsets from the run's start, in non-decreasing
// order, and false when the profile has ended. A Pacer is used by one
// goroutine.
type Pacer interface {
	Next() (time.Duration, bool)
}

// RatePacer paces iterations along a rate Profile (iterations per second).
// Iteration n (from 0) is due at the instant the integral of the rate since
// the start reaches n, so a constant rate R over D seconds yields exactly
// R·D iterations and no rounding error accumulates over a long run.
type RatePacer struct {
	profile Profile
	base    time.Duration // offset where profile starts (moves on SetRate)
	baseN   float64       // iterations due before base
	n       float64       // the next iteration's number

	// position within profile: segment k starts at segStart with segN due before it.
	k        int
	segStart time.Duration
	segN     float64
	from     float64 // rate at the start of segment k

	every float64 // the stripe's count: Next steps n by it (1: every iteration)
}

// A Stripe is one segment's share of an open-model schedule: of the
// plan's iterations 0, 1, 2, …, the segment runs Index, Index+Count,
// Index+2·Count, … Segments with the same Count and Index 0..Count-1
// together run the plan's schedule exactly, interleaved: their iterations
// alternate instead of firing at the same instants (as k6's execution
// segments stripe them). The zero Stripe is the whole schedule.
type Stripe struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// whole reports whether s is the whole schedule.
func (s Stripe) whole() bool { return s.Count <= 1 }

// share is the part of a whole-schedule rate that s runs.
func (s Stripe) share(rate float64) float64 {
	if s.whole() {
		return rate
	}
	return rate / float64(s.Count)
}

// NewRatePacer returns a pacer for p.
func NewRatePacer(p Profile) *RatePacer {
	return &RatePacer{profile: p, from: p.Start, every: 1}
}

// NewStripedPacer returns a pacer for the iterations of p's schedule that
// stripe s runs; their due times are those of the whole schedule.
func NewStripedPacer(p Profile, s Stripe) *RatePacer {
	r := NewRatePacer(p)
	if !s.whole() {
		r.n, r.every = float64(s.Index), float64(s.Count)
	}
	return r
}

// Next implements Pacer.
func (r *RatePacer) Next() (time.Duration, bool) {
	m := r.n - r.baseN // iterations due since base, up to and including this one
	for {
		if r.k >= len(r.profile.Stages) {
			if len(r.profile.Stages) > 0 || r.from <= 0 {
				return 0, false // the profile ended, or holds a zero rate forever
			}
			// no stages: constant rate forever
			x := (m - r.segN) / r.from
			r.n += r.every
			return r.base + r.segStart + secs(x), true
		}
		s := r.profile.Stages[r.k]
		d := s.Duration.Seconds()
		total := (r.from + s.Target) / 2 * d
		// Less a hair, as in dueBefore: when R·D rounds up (100/s × 1.1 s is
		// 110.00000000000001), iteration R·D is not due at the stage's end.
		if need := m - r.segN; need < total-1e-9 {
			// Solve from·x + (to−from)/(2d)·x² = need for x in [0, d]; the form
			// 2c/(b+√(b²+4ac)) is stable when the ramp's slope is tiny or negative.
			a := (s.Target - r.from) / (2 * d)
			disc := r.from*r.from + 4*a*need
			x := 0.0
			if need > 0 {
				x = 2 * need / (r.from + math.Sqrt(math.Max(disc, 0)))
			}
			r.n += r.every
			return r.base + r.segStart + secs(math.Min(x, d)), true
		}
		r.segN += total
		r.segStart += s.Duration
		r.from = s.Target
		r.k++
	}
}

// SetRate changes the rate to rate from offset at on, for the rest of the
// profile's duration (forever if it had none). Iterations already returned by
// Next are unaffected and none is returned twice. at must not lie before
// the due time of the last iteration but one that Next returned (the
// scheduler holds at most one iteration ahead of the clock): an earlier at
// would make the next due times go back before those already returned.
func (r *RatePacer) SetRate(at time.Duration, rate float64) {
	rel := at - r.base
	due := r.baseN + r.dueBy(rel)
	if last := r.n - r.every; last >= due {
		// Next already returned iterations due after at: keep them, and start
		// the new rate where they end so none is returned twice. (With a
		// stripe, the iterations between two of ours are other stripes'.)
		due = last + 1
	}
	r.profile = r.profile.From(rel, rate)
	r.base = at
	r.baseN = due
	r.k, r.segStart, r.segN, r.from = 0, 0, 0, rate
}

// retake is SetRate when the scheduler holds an iteration that Next
// returned but that is not due yet (it waits for it): that iteration is
// given back and is due where the new rate's integral reaches it, so a
// live change neither loses it (it would be due, and never sent) nor
// keeps it at the old rate's due time. at must not lie before the due
// time of the iteration returned before the held one.
func (r *RatePacer) retake(at time.Duration, rate float64) {
	r.n -= r.every
	r.SetRate(at, rate)
}

// dueBy returns how many iterations the current profile makes due in [0, t).
func (r *RatePacer) dueBy(t time.Duration) float64 {
	var n float64
	from := r.profile.Start
	if len(r.profile.Stages) == 0 {
		return from * t.Seconds()
	}
	for _, s := range r.profile.Stages {
		if t < s.Duration {
			x := t.Seconds()
			return n + from*x + (s.Target-from)/(2*s.Duration.Seconds())*x*x
		}
		n += (from + s.Target) / 2 * s.Duration.Seconds()
		t -= s.Duration
		from = s.Target
	}
	return n
}

func secs(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }
