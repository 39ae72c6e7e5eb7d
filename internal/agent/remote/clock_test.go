package remote

import (
	"testing"
	"time"
)

func TestClockSample(t *testing.T) {
	ms := int64(time.Millisecond)
	for _, c := range []struct {
		name        string
		s           sample
		offset, rtt time.Duration
	}{
		// The server's clock is 100 ms ahead; 5 ms each way, 2 ms inside.
		{"ahead, symmetric", sample{t0: 0, t1: 105 * ms, t2: 107 * ms, t3: 12 * ms}, 100 * time.Millisecond, 10 * time.Millisecond},
		{"behind", sample{t0: 1000 * ms, t1: 501 * ms, t2: 501 * ms, t3: 1002 * ms}, -500 * time.Millisecond, 2 * time.Millisecond},
		// All the delay on the way out: the offset is off by half the round trip.
		{"asymmetric", sample{t0: 0, t1: 10 * ms, t2: 10 * ms, t3: 10 * ms}, 5 * time.Millisecond, 10 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.offset(); got != c.offset {
				t.Errorf("offset %v, want %v", got, c.offset)
			}
			if got := c.s.rtt(); got != c.rtt {
				t.Errorf("rtt %v, want %v", got, c.rtt)
			}
		})
	}
}

func TestClockSamplesKeepTheFastestRecentOne(t *testing.T) {
	ms := int64(time.Millisecond)
	// ping returns a sample with the given offset and round trip, split evenly.
	ping := func(at int64, offset, rtt int64) sample {
		return sample{t0: at, t1: at + rtt/2 + offset, t2: at + rtt/2 + offset, t3: at + rtt}
	}
	c := clockSamples{keep: 3}
	if _, _, ok := c.best(); ok {
		t.Fatal("best of no sample is ok")
	}
	c.add(ping(0, 40*ms, 8*ms))
	c.add(ping(10*ms, 50*ms, 2*ms)) // the fastest
	c.add(ping(20*ms, 60*ms, 6*ms))
	c.add(sample{t0: 30 * ms, t1: 0, t2: 0, t3: 20 * ms}) // t3 before t0: a stepped clock, dropped
	if off, rtt, _ := c.best(); off != 50*time.Millisecond || rtt != 2*time.Millisecond {
		t.Errorf("best %v (rtt %v), want 50ms from the 2 ms ping", off, rtt)
	}
	c.add(ping(40*ms, 70*ms, 4*ms)) // pushes the first out
	c.add(ping(50*ms, 80*ms, 5*ms)) // pushes the fastest out
	if off, rtt, _ := c.best(); off != 70*time.Millisecond || rtt != 4*time.Millisecond {
		t.Errorf("best %v (rtt %v) after the fastest aged out, want 70ms (rtt 4ms)", off, rtt)
	}
	if len(c.s) != 3 {
		t.Errorf("%d samples kept, want 3", len(c.s))
	}
}

func TestLocalInstant(t *testing.T) {
	mono := time.Now()
	wall := mono.Add(-3 * time.Second) // this machine's wall clock is 3 s behind...
	offset := 3 * time.Second          // ...as the handshake measured
	server := mono.Add(time.Second)    // so an instant 1 s ahead on the server's clock
	got := localInstant(server, offset, mono, wall)
	if d := got.Sub(mono); d != time.Second {
		t.Errorf("local instant %v after now, want 1s", d)
	}
	if got.Round(0) == got {
		t.Error("the local instant has no monotonic reading")
	}
}
