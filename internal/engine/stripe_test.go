package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// The stripes of a schedule together are the schedule: the same due
// times, interleaved, not n copies at 1/n of the rate firing together.
func TestStripesInterleaveToTheWholeSchedule(t *testing.T) {
	profiles := map[string]engine.Profile{
		"constant": engine.Constant(300, 2*time.Second),
		"ramp":     {Start: 0, Stages: []engine.Stage{{Duration: time.Second, Target: 400}, {Duration: time.Second, Target: 100}}},
		"forever":  {Start: 250},
	}
	for name, p := range profiles {
		for _, n := range []int{2, 3, 7} {
			t.Run(name, func(t *testing.T) {
				whole := dueTimes(engine.NewRatePacer(p), 500)
				var union []time.Duration
				for i := range n {
					part := dueTimes(engine.NewStripedPacer(p, engine.Stripe{Index: i, Count: n}), 500/n+1)
					for j, d := range part {
						if k := i + j*n; k < len(whole) && d != whole[k] {
							t.Fatalf("n=%d stripe %d iteration %d due %v, the whole schedule's %d is due %v", n, i, j, d, k, whole[k])
						}
					}
					union = append(union, part...)
				}
				slices.Sort(union)
				if len(union) < len(whole) || !slices.Equal(union[:len(whole)], whole) {
					t.Fatalf("n=%d: the stripes' due times are not the whole schedule's", n)
				}
			})
		}
	}
}

// A live rate change applies to every stripe alike.
func TestStripesFollowSetRate(t *testing.T) {
	p := engine.Constant(100, 4*time.Second)
	whole := engine.NewRatePacer(p)
	parts := []*engine.RatePacer{engine.NewStripedPacer(p, engine.Stripe{Index: 0, Count: 2}), engine.NewStripedPacer(p, engine.Stripe{Index: 1, Count: 2})}
	w := dueTimes(whole, 100) // the first second
	for _, q := range parts {
		dueTimes(q, 50)
	}
	whole.SetRate(time.Second, 400)
	for _, q := range parts {
		q.SetRate(time.Second, 400)
	}
	w = append(w, dueTimes(whole, 400)...)
	var u []time.Duration
	for _, q := range parts {
		u = append(u, dueTimes(q, 200)...)
	}
	slices.Sort(u)
	if !slices.Equal(u, w[100:]) {
		t.Fatalf("after SetRate the stripes' due times differ from the whole schedule's")
	}
}

func dueTimes(p *engine.RatePacer, n int) []time.Duration {
	var out []time.Duration
	for range n {
		d, ok := p.Next()
		if !ok {
			break
		}
		out = append(out, d)
	}
	return out
}
