package capacity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
)

// A step the generator limited is held again at its rate. When that hold
// fails too, without Surge's limits showing, it ran on what the first one
// left behind, so it does not clear the generator: the rate stays a lower
// bound (never a target capacity named from a spoiled step), and the
// evidence says the retry failed too. (Taking the first hold regardless,
// as a stable sort left it, dropped that; taking the retry named the
// target's pool from a step the generator had spoiled just before.)
func TestAFailedRetryDoesNotClearTheGenerator(t *testing.T) {
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
	b := res.Bottleneck
	if b.Kind != capacity.KindGenerator || !res.LowerBound {
		t.Errorf("bottleneck %s (%s), lower bound %v; want generator, a lower bound", b.Kind, b.Evidence, res.LowerBound)
	}
	if want := "held again, it failed without Surge's limits showing (p99<250ms: "; !strings.Contains(b.Evidence, want) {
		t.Errorf("evidence lacks %q: %s", want, b.Evidence)
	}
}
