package remote

import "time"

// sample is one ping's four timestamps, in Unix nanoseconds: the agent's
// clock when the ping left (t0) and when the pong came back (t3), the
// server's when the ping arrived (t1) and when the pong left (t2).
type sample struct{ t0, t1, t2, t3 int64 }

// offset is the server's clock minus the agent's, assuming the ping took
// as long each way: ((t1-t0) + (t2-t3)) / 2. Its error is at most half
// the round trip, which is why the sample with the least round trip is
// the one to trust.
func (s sample) offset() time.Duration {
	return time.Duration((s.t1-s.t0)/2 + (s.t2-s.t3)/2)
}

// rtt is the time the ping and its pong spent on the network: the whole
// round trip less the server's time between receiving and answering.
func (s sample) rtt() time.Duration { return time.Duration((s.t3 - s.t0) - (s.t2 - s.t1)) }

// clockSamples keeps the last few samples; the estimate is the offset of
// the one with the least round trip among them, so one ping delayed by a
// busy network or a garbage collection does not move it, and a clock that
// drifts is followed as new samples push old ones out.
type clockSamples struct {
	keep int
	s    []sample
}

// add keeps s, forgetting the oldest sample beyond keep. A sample whose
// round trip is negative (a clock stepped between t0 and t3) is dropped.
func (c *clockSamples) add(s sample) {
	if s.rtt() < 0 {
		return
	}
	c.s = append(c.s, s)
	if len(c.s) > c.keep {
		c.s = c.s[len(c.s)-c.keep:]
	}
}

// best returns the offset and round trip of the sample with the least
// round trip; ok is false with no sample.
func (c *clockSamples) best() (offset, rtt time.Duration, ok bool) {
	for i, s := range c.s {
		if i == 0 || s.rtt() < rtt {
			offset, rtt, ok = s.offset(), s.rtt(), true
		}
	}
	return offset, rtt, ok
}

// localInstant maps an instant on the server's clock to this process's
// clock, given offset (server minus agent wall clock) and the agent's
// wall clock now. The result carries now's monotonic reading, so the wait
// for it and every interval after it are measured on the monotonic clock
// and a wall-clock step during the run moves nothing.
func localInstant(server time.Time, offset time.Duration, mono, wall time.Time) time.Time {
	// server.Sub(...) compares wall clocks (server has no monotonic
	// reading); adding the difference to mono keeps mono's reading.
	return mono.Add(server.Sub(wall.Add(offset)))
}
