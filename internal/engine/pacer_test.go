package engine_test

import (
	"math"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

func count(p engine.Pacer, limit int) (n int, last time.Duration) {
	prev := time.Duration(-1)
	for n < limit {
		off, ok := p.Next()
		if !ok {
			return n, last
		}
		if off < prev {
			panic("due offsets went backwards")
		}
		prev, last = off, off
		n++
	}
	return n, last
}

func TestRatePacerCounts(t *testing.T) {
	tests := []struct {
		name    string
		profile engine.Profile
		want    int
	}{
		{"constant", engine.Constant(500, 30*time.Second), 15000},
		{"fractional rate", engine.Constant(0.5, 10*time.Second), 5},
		{"ramp up from zero", engine.Profile{Start: 0, Stages: []engine.Stage{{Duration: 10 * time.Second, Target: 100}}}, 500},
		{"ramp, hold, ramp down", engine.Profile{Start: 0, Stages: []engine.Stage{
			{Duration: 30 * time.Second, Target: 200}, {Duration: time.Minute, Target: 200}, {Duration: 30 * time.Second, Target: 0}}}, 3000 + 12000 + 3000},
		{"zero stage in the middle", engine.Profile{Start: 10, Stages: []engine.Stage{
			{Duration: 10 * time.Second, Target: 10}, {Duration: time.Second, Target: 0}, {Duration: 5 * time.Second, Target: 0}, {Duration: time.Second, Target: 10}}}, 100 + 5 + 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, last := count(engine.NewRatePacer(tt.profile), 1e7)
			if n != tt.want {
				t.Fatalf("got %d iterations, want %d", n, tt.want)
			}
			if d := tt.profile.Duration(); last > d {
				t.Fatalf("last due %v beyond the profile's end %v", last, d)
			}
		})
	}
}

func TestRatePacerSpacingIsEven(t *testing.T) {
	p := engine.NewRatePacer(engine.Constant(1000, time.Second))
	prev, _ := p.Next()
	for range 998 {
		off, _ := p.Next()
		if gap := off - prev; gap < time.Millisecond-time.Microsecond || gap > time.Millisecond+time.Microsecond {
			t.Fatalf("gap %v, want 1ms", gap)
		}
		prev = off
	}
}

func TestRatePacerSetRate(t *testing.T) {
	p := engine.NewRatePacer(engine.Constant(100, 10*time.Second))
	n := 0
	for {
		off, ok := p.Next()
		if !ok || n > 1e6 {
			t.Fatalf("no iteration due at 2 s after %d", n)
		}
		n++
		if off >= 2*time.Second-10*time.Millisecond {
			break
		}
	}
	p.SetRate(2*time.Second, 1000)
	rest, last := count(p, 1e6)
	// 2 s at 100/s then 8 s at 1000/s.
	if total := n + rest; math.Abs(float64(total-8200)) > 2 {
		t.Fatalf("got %d iterations in all, want 8200±2", total)
	}
	if last > 10*time.Second {
		t.Fatalf("ran past the end: %v", last)
	}
}

func TestProfileAtAndFrom(t *testing.T) {
	p := engine.Profile{Start: 0, Stages: []engine.Stage{{Duration: 10 * time.Second, Target: 100}, {Duration: 10 * time.Second, Target: 100}}}
	if v := p.At(5 * time.Second); v != 50 {
		t.Fatalf("At(5s) = %v", v)
	}
	if v := p.At(time.Hour); v != 100 {
		t.Fatalf("At past the end = %v", v)
	}
	q := p.From(15*time.Second, 7)
	if q.Duration() != 5*time.Second || q.At(time.Second) != 7 {
		t.Fatalf("From: %+v", q)
	}
}

func TestParseStages(t *testing.T) {
	got, err := engine.ParseStages("30s:200, 1m:200,30s:0")
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Stage{{30 * time.Second, 200}, {time.Minute, 200}, {30 * time.Second, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("stage %d: got %v want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "30s", "x:1", "30s:-1", "0s:5", "30s:abc"} {
		if _, err := engine.ParseStages(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func FuzzParseStages(f *testing.F) {
	for _, s := range []string{"30s:200,1m:200,30s:0", "1s:1", "1h:0.5, 2m:10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := engine.ParseStages(s)
		if err != nil {
			return
		}
		for _, x := range st {
			if x.Duration <= 0 || x.Target < 0 || math.IsNaN(x.Target) {
				t.Fatalf("%q parsed to a bad stage %+v", s, x)
			}
		}
	})
}
