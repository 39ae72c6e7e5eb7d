package http

import (
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// The clock behind the timing phases (metrics.Phases).
//
// A reading is the monotonic time since epoch: time.Since on a time that
// carries a monotonic reading reads only the monotonic clock, once, which
// costs half of time.Now (which reads the wall clock too). A request's
// deadline is made from the same reading (epoch.Add), so the lean client
// reads the clock once where it read time.Now before. Readings are > 0:
// epoch lies a second before the package's start, so 0 means "not read".

var epoch = time.Now().Add(-time.Second)

// mono returns the monotonic time since epoch.
func mono() time.Duration { return time.Since(epoch) }

// deadline is the wall-clock time of the reading at, for net's deadlines
// (which compare its monotonic part).
func deadline(at time.Duration) time.Time { return epoch.Add(at) }

// mark closes the phase under way at the reading now: it gets the time
// since the previous mark.
func (s *Session) mark(res *Response, p metrics.Phase, now time.Duration) {
	res.Phases[p] += now - s.h1.at
	s.h1.at = now
}
