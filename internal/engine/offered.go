package engine

import (
	"math"
	"sync"
	"time"
)

// offered keeps the open model's count of due iterations — the offered
// load — readable from other goroutines while the scheduler runs. It holds
// a copy of the pacer's rate curve (the pacer itself belongs to the
// scheduler), refreshed on every live rate change, so that the agent can
// ask at each interval's end how many iterations the plan had made due by
// then, whatever the generator or the target managed.
type offered struct {
	mu       sync.Mutex
	active   bool      // an open-model schedule began
	start    time.Time // the run's common start
	curve    RatePacer // the pacer's curve (profile, base, baseN)
	budget   int64     // iteration budget; 0: none
	reported int64     // the most DueBy has answered
	done     bool      // the schedule ended: final is the whole run's count
	final    int64
}

func (o *offered) begin(start time.Time, p *RatePacer, budget int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.active, o.start, o.curve, o.budget = true, start, *p, budget
}

// follow takes the pacer's curve after a live rate change.
func (o *offered) follow(p *RatePacer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.curve = *p
}

// end fixes the run's due count when the schedule stops at offset ended,
// after sent iterations were handed to VUs, and returns it. It is never
// below sent nor below what DueBy already answered, so that the
// per-interval counts add up to it.
func (o *offered) end(p *RatePacer, ended time.Duration, sent int64) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := max(o.clamp(p.dueBefore(ended)), sent, o.reported)
	o.done, o.final = true, n
	return n
}

func (o *offered) clamp(n int64) int64 {
	if o.budget > 0 {
		return min(n, o.budget)
	}
	return n
}

// dueBy returns how many iterations were due before t: 0 in the closed
// model, the final count once the schedule has ended.
func (o *offered) dueBy(t time.Time) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case !o.active:
		return 0
	case o.done:
		return o.final
	}
	n := max(o.clamp(o.curve.dueBefore(t.Sub(o.start))), o.reported)
	o.reported = n
	return n
}

// DueBy returns how many iterations the open model's plan made due before
// t, counting live rate changes and the iteration budget: the offered load.
// It is 0 in the closed model. Once Run has returned it is the run's whole
// count, which equals the iterations started plus those dropped. Safe for
// concurrent use.
func (e *Engine) DueBy(t time.Time) int64 { return e.offered.dueBy(t) }

// dueBefore returns how many iterations are due at offsets before t:
// iteration n is due where the rate's integral reaches n, so the count is
// that integral rounded up (less a hair, so that floating-point noise on an
// exact integer does not count one more).
func (r *RatePacer) dueBefore(t time.Duration) int64 {
	all := r.baseN
	if t > r.base {
		all += r.dueBy(t - r.base)
	}
	if r.every <= 1 {
		return int64(math.Ceil(all - 1e-9))
	}
	// A stripe runs the iterations index + j·count of the whole schedule:
	// those below all number ceil((all − index) / count).
	index := math.Mod(r.n, r.every)
	return max(0, int64(math.Ceil((all-index)/r.every-1e-9)))
}
