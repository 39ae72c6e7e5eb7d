package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// queueSize bounds how many due iterations wait for a VU before the
// scheduler itself waits. Waiting there loses nothing: due times come from
// the pacer, not the clock, so the iterations are produced late with their
// true due times and then dropped if they waited past the timeout.
const queueSize = 4096

// runOpen schedules iterations at the profile's rate. The scheduler sleeps
// until the next due time and hands the due time to an idle VU; when no VU is
// idle it starts one (up to MaxVUs), and when none may be started the due
// iteration queues: its wait counts in its latency, which is measured from
// the due time, so a stalled target cannot hide behind a busy pool.
func (e *Engine) runOpen(user, soft context.Context, stop context.CancelFunc, hard context.Context, start time.Time) error {
	queue := make(chan time.Time, queueSize)
	var (
		wg      sync.WaitGroup
		idle    atomic.Int64 // VUs waiting on queue
		active  atomic.Int64 // VUs running an iteration
		spawned int
		vuErr   atomic.Value
	)
	spawn := func() {
		id := spawned
		spawned++
		wg.Add(1)
		idle.Add(1)
		go func() {
			defer wg.Done()
			vu := e.w.NewVU(hard, id)
			var num int64
			for due := range queue {
				idle.Add(-1)
				if user.Err() != nil {
					return // stopped by the user: what is still queued never starts
				}
				now := time.Now()
				if now.Sub(due) >= e.cfg.Timeout {
					// Waited a whole timeout for a VU: dropped, and in no
					// latency figure.
					e.rec.Dropped(1)
					idle.Add(1)
					continue
				}
				e.rec.RecordLag(id, now.Sub(due))
				e.rec.SetVUs(int(active.Add(1)))
				err := vu.Iterate(soft, Iteration{Due: due, Num: num})
				num++
				e.rec.IterationDone()
				e.rec.SetVUs(int(active.Add(-1)))
				if err != nil {
					vuErr.CompareAndSwap(nil, err)
					return // this VU is done; the pool may start another
				}
				idle.Add(1)
			}
		}()
	}

	pacer := NewRatePacer(e.cfg.Profile)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var sent int64
schedule:
	for e.cfg.Iterations == 0 || sent < e.cfg.Iterations {
		off, ok := pacer.Next()
		if !ok {
			break
		}
		due := start.Add(off)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-soft.Done():
				timer.Stop()
				break schedule
			case v := <-e.adjust:
				timer.Stop()
				pacer.SetRate(time.Since(start), v)
				continue
			}
		}
		// A VU is needed if none is idle beyond those the queue already claims.
		if idle.Load() <= int64(len(queue)) && spawned < e.cfg.MaxVUs {
			spawn()
		}
		select {
		case queue <- due:
			sent++
		case <-soft.Done():
			break schedule
		}
	}
	// Iterations already queued were due before the end: they still run,
	// unless the user stopped the run.
	close(queue)
	wg.Wait()
	stop()
	e.rec.SetVUs(0)
	return e.vuError(&vuErr)
}

func (e *Engine) vuError(v *atomic.Value) error {
	if err, ok := v.Load().(error); ok {
		return err
	}
	return nil
}
