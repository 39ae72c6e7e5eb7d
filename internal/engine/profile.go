package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A Stage ramps the load linearly from the previous stage's target (or the
// profile's start) to Target over Duration.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Profile is a load shape: a value (VUs or iterations/s) that is piecewise
// linear in time. A profile with no stages holds Start forever.
type Profile struct {
	Start  float64
	Stages []Stage
}

// Constant returns a profile that holds v for d (forever when d is 0).
func Constant(v float64, d time.Duration) Profile {
	if d <= 0 {
		return Profile{Start: v}
	}
	return Profile{Start: v, Stages: []Stage{{Duration: d, Target: v}}}
}

// Duration is the sum of the stages' durations; 0 means unbounded.
func (p Profile) Duration() time.Duration {
	var d time.Duration
	for _, s := range p.Stages {
		d += s.Duration
	}
	return d
}

// Peak is the largest value the profile takes.
func (p Profile) Peak() float64 {
	m := p.Start
	for _, s := range p.Stages {
		m = math.Max(m, s.Target)
	}
	return m
}

// At returns the profile's value at offset t from its start. Past the end it
// returns the last target.
func (p Profile) At(t time.Duration) float64 {
	from := p.Start
	for _, s := range p.Stages {
		if t < s.Duration {
			return from + (s.Target-from)*float64(t)/float64(s.Duration)
		}
		t -= s.Duration
		from = s.Target
	}
	return from
}

// From returns the part of p that starts at offset t, starting at value v
// instead of p's own value there: used when a run's load is changed live.
func (p Profile) From(t time.Duration, v float64) Profile {
	out := Profile{Start: v}
	if len(p.Stages) == 0 {
		return out
	}
	for _, s := range p.Stages {
		if t >= s.Duration {
			t -= s.Duration
			continue
		}
		out.Stages = append(out.Stages, Stage{Duration: s.Duration - t, Target: v})
		t = 0
	}
	return out
}

// ParseStages parses "D:T,D:T,…", e.g. "30s:200,1m:200,30s:0". Every
// duration must be positive and every target a finite number ≥ 0; the
// ceilings (MaxVUs, MaxRate) depend on the model and are checked where the
// plan is validated.
func ParseStages(s string) ([]Stage, error) {
	var out []Stage
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, t, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("stage %d %q: want DURATION:TARGET, e.g. 30s:100", i+1, part)
		}
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("stage %d %q: bad duration %q (want e.g. 30s or 2m)", i+1, part, d)
		}
		// ParseFloat accepts "NaN", "Inf" and "+Inf"; none is a load.
		target, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || !(target >= 0) || math.IsInf(target, 0) {
			return nil, fmt.Errorf("stage %d %q: bad target %q (want a number ≥ 0)", i+1, part, t)
		}
		out = append(out, Stage{Duration: dur, Target: target})
	}
	return out, nil
}
