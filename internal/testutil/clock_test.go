package testutil

import (
	"testing"
	"time"
)

func TestStepped(t *testing.T) {
	now := time.Now()
	for _, d := range []time.Duration{-15 * time.Millisecond, 15 * time.Millisecond, -3 * time.Second, time.Hour + 7} {
		s := Stepped(t, now, d)
		if w := s.Round(0).Sub(now.Round(0)); w != d {
			t.Errorf("Stepped(%v): wall moved %v", d, w)
		}
		if m := s.Sub(now); m != 0 {
			t.Errorf("Stepped(%v): monotonic moved %v", d, m)
		}
		if m := time.Since(s) - time.Since(now); m < -time.Millisecond || m > time.Millisecond {
			t.Errorf("Stepped(%v): time.Since differs by %v", d, m)
		}
	}
}
