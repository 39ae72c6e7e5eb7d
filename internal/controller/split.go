package controller

import (
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

// Split divides p's load into n shares whose sums equal the plan. In the
// open model share i keeps the whole rate profile and runs stripe i of n
// of its schedule (iterations i, i+n, i+2n, …), so that the shares'
// iterations interleave exactly as one generator's would, instead of n
// generators at 1/n of the rate firing together. VU counts, VU targets,
// max VUs and the iteration budget are divided as integers, the remainder
// going to the first shares (which is what the stripes of a budget hold).
// Unique data rows are dealt out so no two shares hold the same row.
func Split(p scenario.Plan, n int) []scenario.Plan {
	out := make([]scenario.Plan, n)
	for i := range out {
		q := p.PartitionData(i, n)
		l := &q.Load
		if p.Load.Model == engine.Open && n > 1 {
			l.Stripe = engine.Stripe{Index: i, Count: n}
		}
		l.VUs = share(p.Load.VUs, i, n)
		l.MaxVUs = share(p.Load.MaxVUs, i, n)
		l.Iterations = int64(share(int(p.Load.Iterations), i, n))
		l.Stages = make([]engine.Stage, len(p.Load.Stages))
		for j, s := range p.Load.Stages {
			t := s.Target // open: the whole profile, striped
			if p.Load.Model == engine.Closed {
				t = float64(share(int(s.Target), i, n))
			}
			l.Stages[j] = engine.Stage{Duration: s.Duration, Target: t}
		}
		if len(p.Load.Stages) == 0 {
			l.Stages = nil
		}
		out[i] = q
	}
	return out
}

func share(total, i, n int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}
