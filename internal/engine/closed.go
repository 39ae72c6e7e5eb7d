package engine

import (
	"context"
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
		ended   []bool // VUs whose Iterate returned an error: never restarted
		running int
		target  atomic.Int64
		claimed atomic.Int64 // iterations started, against cfg.Iterations
		vuErr   atomic.Value
	)
	profile := e.cfg.Profile
	base := time.Duration(0) // offset where profile starts (moves on Adjust)

	loop := func(id int, vu VU) {
		defer wg.Done()
		var failed bool
		defer func() {
			mu.Lock()
			alive[id] = false
			ended[id] = failed
			running--
			e.rec.SetVUs(running)
			if failed && running == 0 {
				stop() // every VU that could run has ended
			}
			mu.Unlock()
		}()
		var num int64
		for soft.Err() == nil && int64(id) < target.Load() {
			if e.cfg.Iterations > 0 && claimed.Add(1) > e.cfg.Iterations {
				stop() // budget used up: the whole segment is done
				return
			}
			err := vu.Iterate(soft, Iteration{Due: time.Now(), Num: num})
			num++
			e.rec.IterationDone()
			if err != nil {
				vuErr.CompareAndSwap(nil, err)
				failed = true
				return
			}
		}
	}
	setTarget := func(n int) {
		target.Store(int64(n))
		mu.Lock()
		defer mu.Unlock()
		for id := 0; id < n; id++ {
			if id < len(alive) && (alive[id] || ended[id]) {
				continue
			}
			if id >= len(vus) {
				vus = append(vus, e.w.NewVU(hard, id))
				alive = append(alive, false)
				ended = append(ended, false)
			}
			alive[id] = true
			running++
			wg.Add(1)
			go loop(id, vus[id])
		}
		e.rec.SetVUs(running)
	}

	ticker := time.NewTicker(rampTick)
	defer ticker.Stop()
	setTarget(vuCount(profile.At(0)))
	for done := false; !done; {
		select {
		case <-soft.Done():
			done = true
		case v := <-e.adjust:
			now := time.Since(start)
			profile = profile.From(now-base, v)
			base = now
			setTarget(vuCount(v))
		case <-ticker.C:
			setTarget(vuCount(profile.At(time.Since(start) - base)))
		}
	}
	wg.Wait()
	e.rec.SetVUs(0)
	return e.vuError(&vuErr)
}

func vuCount(v float64) int { return int(math.Round(v)) }
