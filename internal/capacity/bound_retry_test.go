package capacity_test

import (
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
)

// A step the generator limited is held again at its rate; when that hold
// fails for the target's own reasons, it is the bound: the target's pool,
// not the generator's first attempt, and no lower bound.
func TestTheRetriedHoldIsTheBound(t *testing.T) {
	var s *script
	s = newScript(newClock(), func(rate float64, k int) iv {
		if rate == 330 && attempts(s, 330) == 1 { // the first hold at 330/s: Surge's one core busy
			return iv{N: 200, CPU: 1}
		}
		return capped(300, 10*time.Millisecond)(rate, k)
	})
	res, err := s.run(capacity.Options{SLO: slo(t, "p99<250ms"), Start: 300, Max: 330, Growth: 1.1, Precision: 0.1, Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, st := range res.Steps {
		if st.Rate == 330 {
			held++
		}
	}
	if held != 2 || res.MaxRate != 300 {
		t.Fatalf("%d holds at 330/s, max rate %v: %v; want two holds (the first limited), 300", held, res.MaxRate, steps(res))
	}
	if res.Bottleneck.Kind != capacity.KindConcurrency || res.LowerBound {
		t.Errorf("bottleneck %s (%s), lower bound %v; want concurrency from the second hold, not a lower bound", res.Bottleneck.Kind, res.Bottleneck.Evidence, res.LowerBound)
	}
}
