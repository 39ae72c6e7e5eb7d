package engine

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// runClosed keeps round(profile(t)) VUs looping. VUs above the target
// finish their current iteration and leave (a graceful ramp-down); a VU that
// comes back keeps its state (cookies, variables, setup done).
func (e *Engine) runClosed(soft context.Context, stop context.CancelFunc, hard context.Context, start time.Time) error {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex // guards vus, alive and running
		vus     []VU
		alive   []bool
		done    []bool // VUs that ended for good (ErrVUDone or an error): never restarted
		running int
		target  atomic.Int64
		claimed atomic.Int64 // iterations started, against cfg.Iterations
		vuErr   atomic.Value
	)
	profile := e.cfg.Profile
	base := time.Duration(0) // offset where profile starts (moves on Adjust)

	budgetUsed := false // guarded by mu: no VU may start again
	// exhausted reports, under mu, whether every VU the profile wants has
	// ended for good, so that none can run again.
	exhausted := func() bool {
		n := int(target.Load())
		if n == 0 || n > len(done) {
			return false
		}
		for id := range n {
			if !done[id] {
				return false
			}
		}
		return true
	}
	loop := func(id int, vu VU) {
		defer wg.Done()
		var ended bool // this VU is finished for good
		defer func() {
			mu.Lock()
			alive[id] = false
			done[id] = ended
			running--
			e.rec.SetVUs(running)
			if running == 0 && (budgetUsed || exhausted()) {
				stop() // no VU can run any more: the segment is done
			}
			mu.Unlock()
		}()
		var num int64
		for soft.Err() == nil && int64(id) < target.Load() {
			if e.cfg.Iterations > 0 && claimed.Add(1) > e.cfg.Iterations {
				// Budget used up: this VU leaves; the others finish the
				// iterations they are in, and the last one out stops the run.
				mu.Lock()
				budgetUsed = true
				mu.Unlock()
				return
			}
			err := vu.Iterate(soft, Iteration{Due: time.Now(), Num: num})
			if errors.Is(err, ErrVUDone) {
				ended = true
				return
			}
			num++
			e.rec.IterationDone()
			if err != nil {
				vuErr.CompareAndSwap(nil, err)
				ended = true
				return
			}
		}
	}
	// setTarget starts VUs up to n, at most spawnBatch of them, and
	// reports whether more are wanted: a large count is spawned batch by
	// batch between checks for a stop, so that Ctrl-C and the duration work
	// during the ramp-up. from is where the search for a VU to start
	// resumes (VUs below it are running or ended for good).
	from := 0
	setTarget := func(n int) (more bool) {
		target.Store(int64(n))
		mu.Lock()
		defer mu.Unlock()
		started := 0
		if from > n {
			from = 0 // the target went down: VUs below it may have left
		}
		id := from
		for ; id < n && !budgetUsed && started < spawnBatch && soft.Err() == nil; id++ {
			if id < len(alive) && (alive[id] || done[id]) {
				continue
			}
			if id >= len(vus) {
				vus = append(vus, e.w.NewVU(hard, id))
				alive = append(alive, false)
				done = append(done, false)
			}
			alive[id] = true
			running++
			started++
			wg.Add(1)
			go loop(id, vus[id])
		}
		e.rec.SetVUs(running)
		more = id < n && !budgetUsed
		if more {
			from = id
		} else {
			from = 0 // next time check every VU again: some may have left
		}
		return more
	}

	ticker := time.NewTicker(rampTick)
	defer ticker.Stop()
	more := setTarget(vuCount(profile.At(0)))
	ready := make(chan struct{}) // always ready: selected while VUs remain to spawn
	close(ready)
	for done := false; !done; {
		var spawn <-chan struct{}
		if more {
			spawn = ready
		}
		select {
		case <-soft.Done():
			done = true
		case v := <-e.adjust:
			now := time.Since(start)
			profile = profile.From(now-base, v)
			base = now
			more = setTarget(vuCount(v))
		case <-ticker.C:
			more = setTarget(vuCount(profile.At(time.Since(start) - base)))
		case <-spawn:
			// Still spawning: the next batch, after a look for a stop.
			more = setTarget(int(target.Load()))
		}
	}
	wg.Wait()
	e.rec.SetVUs(0)
	return e.vuError(&vuErr)
}

// spawnBatch is how many VUs the closed model starts between two checks
// for a stop: about 10 ms of work when a VU costs 10 µs to set up.
const spawnBatch = 1000

func vuCount(v float64) int { return int(math.Round(v)) }
