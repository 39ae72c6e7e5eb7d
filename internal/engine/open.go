package engine

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// queueSize bounds how many due iterations wait for a VU before the
// scheduler itself waits. Waiting there loses nothing: due times come from
// the pacer, not the clock, so the iterations are produced late with their
// true due times and then dropped if they waited past the timeout.
const queueSize = 4096

// preciseWait is how much of a wait the scheduler spends on the precise,
// uninterruptible sleeper (sleep_linux.go); the runtime's timers, which a
// stop or an adjustment can interrupt, wake up to a millisecond late.
const preciseWait = 2 * time.Millisecond

// minWakeGap is the least time between two precise wake-ups of the
// scheduler. It bounds the start lag it adds (well under the 1 ms that the
// runtime's timers would add) and the wake-ups per second (a wake-up costs
// tens of µs of CPU on a virtual machine).
const minWakeGap = 250 * time.Microsecond

// behindAfter is how late an iteration may be before the scheduler
// suspects that it, not the target, keeps the VUs busy, and yieldFor is
// how long it then waits for one to come free before starting another.
// When waiting does not free one, the scheduler starts VUs without
// waiting for yieldBackoff.
const (
	behindAfter  = time.Millisecond
	yieldFor     = 50 * time.Microsecond
	yieldBackoff = time.Millisecond
)

// runOpen schedules iterations at the profile's rate. The scheduler sleeps
// until the next due time and hands the due time to an idle VU; when no VU is
// idle it starts one (up to MaxVUs), and when none may be started the due
// iteration queues: its wait counts in its latency, which is measured from
// the due time, so a stalled target cannot hide behind a busy pool.
func (e *Engine) runOpen(user, soft context.Context, stop context.CancelFunc, hard context.Context, start time.Time) error {
	queue := make(chan time.Time, queueSize)
	var (
		wg         sync.WaitGroup
		idle       atomic.Int64 // VUs waiting on queue
		active     atomic.Int64 // VUs running an iteration
		spawned    int
		vuErr      atomic.Value
		live       atomic.Int64 // VUs started and not ended
		poolClosed atomic.Bool  // a VU ran out of work: start no more
	)
	spawn := func() {
		id := spawned
		spawned++
		wg.Add(1)
		idle.Add(1)
		live.Add(1)
		go func() {
			defer wg.Done()
			vu := e.w.NewVU(hard, id)
			var num int64
			for due := range queue {
				idle.Add(-1)
				if user.Err() != nil {
					// Stopped by the user: this iteration, and what is still
					// queued, never starts. It was due, so it is dropped.
					e.rec.Dropped(1)
					return
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
				e.rec.SetVUs(int(active.Add(-1)))
				if errors.Is(err, ErrVUDone) {
					// This VU has no more work, and a new one would have
					// none either (its data ran out): the pool stops growing,
					// and when its last VU ends, the segment ends. The
					// iteration did nothing: it counts as dropped.
					e.rec.Dropped(1)
					poolClosed.Store(true)
					if live.Add(-1) == 0 {
						stop()
					}
					return
				}
				num++
				e.rec.IterationDone()
				if err != nil {
					vuErr.CompareAndSwap(nil, err)
					live.Add(-1)
					return // this VU is done; the pool may start another
				}
				idle.Add(1)
			}
		}()
	}

	pacer := NewStripedPacer(e.cfg.Profile, e.cfg.Stripe)
	e.offered.begin(start, pacer, e.cfg.Iterations)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	precise := newSleeper()
	defer precise.close()
	// A VU is needed if none is idle beyond those the queue already claims.
	needVU := func() bool {
		return idle.Load() <= int64(len(queue)) && spawned < e.cfg.MaxVUs && !poolClosed.Load()
	}
	var woke time.Time    // when the last precise sleep ended
	var noYield time.Time // no waiting for a free VU before this
	var sent int64
	// The planned end: the deadline of soft, unless the caller's context
	// has an earlier one (then it is the caller's stop, and user.Err() is
	// set when it comes). An iteration due before it is part of the plan
	// however late the scheduler sees the end come: it still goes if the
	// queue has room (late, so its wait is in its latency), and is dropped
	// if not. One due at or after it is not part of the plan.
	plannedEnd, _ := soft.Deadline()
	ending := soft.Done()
	// afterEnd reports whether the schedule was cut and due is not to be
	// sent: a stop, or due at or after the planned end. Called only once
	// soft is done.
	afterEnd := func(due time.Time) bool {
		return user.Err() != nil || soft.Err() != context.DeadlineExceeded || !due.Before(plannedEnd)
	}
schedule:
	for e.cfg.Iterations == 0 || sent < e.cfg.Iterations {
		// A rate change is seen here too, not only in the long wait
		// below: at a high rate (iterations less than preciseWait apart)
		// or behind schedule, the loop never waits long.
		select {
		case v := <-e.adjust:
			pacer.SetRate(time.Since(start), v)
			e.offered.follow(pacer)
		default:
		}
		off, ok := pacer.Next()
		due := start.Add(off)
		if !ok || !due.Before(plannedEnd) {
			// Nothing more is due before the planned end at this rate (the
			// profile has run out, or its rate is too low for another
			// iteration, or 0): wait for the end, or for a rate change that
			// makes more due. An iteration not due before the end is never
			// sent, even when soft, whose timer runs on a goroutine of its
			// own, is done late.
			select {
			case <-ending:
				break schedule
			case v := <-e.adjust:
				if ok {
					pacer.retake(time.Since(start), v) // the held one is not due
				} else {
					pacer.SetRate(time.Since(start), v)
				}
				e.offered.follow(pacer)
				continue
			}
		}
		if d := time.Until(due); d > preciseWait {
			// A long wait: sleep on a timer that a stop or an adjustment
			// can interrupt, until shortly before the due time. No
			// batching after it (see below): this is the first wake-up in
			// a while.
			woke = time.Time{}
			timer.Reset(d - preciseWait)
			select {
			case <-timer.C:
			case <-ending:
				timer.Stop()
				if afterEnd(due) {
					break schedule
				}
				// The wait woke late, after the planned end, for an
				// iteration due before it: it still goes, below.
			case v := <-e.adjust:
				timer.Stop()
				// The held iteration is not due yet: it is due where the
				// new rate puts it, and Next returns it again.
				pacer.retake(time.Since(start), v)
				e.offered.follow(pacer)
				continue
			}
		}
		if time.Until(due) > 0 {
			// Wake at most once per minWakeGap: each wake costs far more
			// CPU than dispatching an iteration, so iterations due within
			// the gap start together, up to minWakeGap late.
			wake := due
			if next := woke.Add(minWakeGap); wake.Before(next) {
				wake = next
			}
			precise.sleepUntil(wake)
			woke = time.Now()
		} else if len(queue) > 0 && idle.Load() > 0 {
			// Behind schedule: let idle VUs take what is queued before
			// deciding that another VU is needed. With one core they could
			// not run while this loop does, and every late iteration would
			// start a VU, and a connection, of its own.
			runtime.Gosched()
		}
		if needVU() && spawned > 0 && time.Since(due) > behindAfter && time.Now().After(noYield) {
			// Behind schedule and no VU free: perhaps the target is slow,
			// perhaps this loop has kept the VUs from running (with one core
			// they finish only when it waits, and their responses are seen
			// only when nothing else can run). Wait a moment so they can;
			// otherwise every late iteration would start a VU and a
			// connection, which costs more time, and the pool would spiral
			// up to MaxVUs. If none came free, the target is slow: start VUs
			// without waiting for a while.
			precise.sleepUntil(time.Now().Add(yieldFor))
			if needVU() {
				noYield = time.Now().Add(yieldBackoff)
			}
		}
		if needVU() {
			spawn()
		}
		select {
		case <-ending:
			// The schedule was cut. An iteration due before the planned
			// end goes if the queue has room now, and is dropped if not:
			// never a coin toss between the two cases of the select
			// below, both ready.
			if afterEnd(due) {
				break schedule
			}
			select {
			case queue <- due:
				sent++
				continue
			default:
				break schedule
			}
		default:
		}
		select {
		case queue <- due:
			sent++
		case <-ending:
			// The queue was full when the schedule was cut: this
			// iteration goes if a VU took one meanwhile.
			if !afterEnd(due) {
				select {
				case queue <- due:
					sent++
					continue
				default:
				}
			}
			break schedule
		}
	}
	// The schedule ended (its profile or budget is done) or was cut short
	// (the duration is up, the user stopped, the data ran out). Every
	// iteration due by then and not handed to a VU was lost: the generator
	// fell behind and never produced it, or a stop came first. Count it as
	// dropped, so that iterations + dropped == due. The count runs to the
	// planned end at most, however late the scheduler saw it come: an
	// iteration due after it was never part of the plan.
	ended := min(time.Since(start), plannedEnd.Sub(start))
	due := e.offered.end(pacer, ended, sent)
	e.rec.Dropped(due - sent)
	// Iterations already queued were due before the end: they still run,
	// unless the user stopped the run (then each VU drops what it takes).
	close(queue)
	wg.Wait()
	for range queue {
		e.rec.Dropped(1) // left in the queue: every VU had ended
	}
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
