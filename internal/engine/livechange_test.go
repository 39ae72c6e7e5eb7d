package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// A live rate change never costs an iteration: an easy run (a target that
// answers at once, VUs to spare) whose rate is changed 20 times, up and
// down, drops nothing, and every iteration the plan made due starts. The
// changes come while the scheduler waits for its next iteration (100–
// 300/s: 3–10 ms apart, longer than its precise wait), which is where
// one was lost to each change.
func TestLiveRateChangesDropNothing(t *testing.T) {
	t.Parallel()
	for _, s := range []engine.Stripe{{}, {Index: 1, Count: 3}} {
		t.Run(fmt.Sprintf("stripe %d of %d", s.Index, s.Count), func(t *testing.T) {
			t.Parallel()
			scale := float64(max(s.Count, 1)) // a stripe runs 1/Count of the whole rate
			start := time.Now().Add(10 * time.Millisecond)
			rec := newRec(start)
			w := &fakeWork{rec: rec}
			e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(150*scale, 1500*time.Millisecond),
				MaxVUs: 50, Stripe: s}, w, rec)
			if err != nil {
				t.Fatal(err)
			}
			rates := []float64{300, 100, 250, 120, 200} // up and down
			changes := make(chan struct{})
			go func() {
				defer close(changes)
				for i := range 20 {
					time.Sleep(time.Until(start.Add(time.Duration(i+1) * 60 * time.Millisecond)))
					e.Adjust(rates[i%len(rates)] * scale)
				}
			}()
			if err := e.Run(context.Background(), start); err != nil {
				t.Fatal(err)
			}
			<-changes
			snap := rec.Snapshot(time.Now())
			due := e.DueBy(time.Now())
			if snap.Dropped != 0 || snap.Iterations != due {
				t.Fatalf("after 20 live rate changes: %d iterations, %d dropped, %d due; want all %d due started, none dropped",
					snap.Iterations, snap.Dropped, due, due)
			}
			if due < 150 || due > 450 {
				t.Fatalf("%d due in 1.5 s at 100–300/s", due)
			}
		})
	}
}

// Every iteration due before the planned end starts or is dropped,
// whatever the instant at which the scheduler sees the end come: in an
// easy run, all of them start, and none due at or after the end is
// counted. Many short runs side by side, with goroutines that keep both
// cores busy, so that the schedulers wake late, past their runs' ends
// (Go preempts a busy goroutine every 10 ms or so): the end and the
// iteration's wait are then both over when the scheduler looks.
func TestEveryIterationDueBeforeTheEndStarts(t *testing.T) {
	// Not parallel: the spinning goroutines would distort the tests whose
	// bounds are tight.
	stop := make(chan struct{})
	var spin sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		spin.Add(1)
		go func() {
			defer spin.Done()
			for {
				select {
				case <-stop:
					return
				default:
					for i := 0; i < 1e5; i++ {
						_ = i * i
					}
				}
			}
		}()
	}
	defer func() { close(stop); spin.Wait() }()
	const runs = 100
	cases := []struct {
		name string
		cfg  engine.Config
	}{
		// 200/s for 45.5 ms: iterations due at 0, 5, …, 45 ms, the last
		// one half a millisecond before the end, so that a scheduler that
		// wakes a few ms late for it finds the end come too. The 11th,
		// due at 50 ms, is not in the plan.
		{"staged", engine.Config{Profile: engine.Constant(200, 45500*time.Microsecond)}},
		{"unbounded profile", engine.Config{Profile: engine.Profile{Start: 200}, MaxDuration: 45500 * time.Microsecond}},
		// The stripe (1 of 2 at 400/s) runs the whole schedule's odd
		// iterations: 10 of them, 2.5, 7.5, …, 47.5 ms.
		{"stripe", engine.Config{Profile: engine.Constant(400, 48*time.Millisecond), Stripe: engine.Stripe{Index: 1, Count: 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			var bad atomic.Int64
			var first atomic.Value
			for range runs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now().Add(5 * time.Millisecond)
					rec := newRec(start)
					cfg := tc.cfg
					cfg.Model, cfg.MaxVUs = engine.Open, 20
					e, err := engine.New(cfg, &fakeWork{rec: rec}, rec)
					if err != nil {
						first.CompareAndSwap(nil, err.Error())
						bad.Add(1)
						return
					}
					if err := e.Run(context.Background(), start); err != nil {
						first.CompareAndSwap(nil, err.Error())
						bad.Add(1)
						return
					}
					s := rec.Snapshot(time.Now())
					if due := e.DueBy(time.Now()); s.Iterations != 10 || s.Dropped != 0 || due != 10 {
						first.CompareAndSwap(nil, fmt.Sprintf("%d iterations, %d dropped, %d due", s.Iterations, s.Dropped, due))
						bad.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := bad.Load(); n > 0 {
				t.Fatalf("%d of %d runs of 10 iterations due before the end, with VUs to spare, did not start exactly those 10: first %v", n, runs, first.Load())
			}
		})
	}
}

// A rate set to 0 pauses the schedule, not the run: a later change picks
// it up again, and the run lasts its planned duration.
func TestRateZeroPausesTheRun(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(10 * time.Millisecond)
	rec := newRec(start)
	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(200, 600*time.Millisecond), MaxVUs: 20}, &fakeWork{rec: rec}, rec)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(time.Until(start.Add(100*time.Millisecond)), func() { e.Adjust(0) })
	time.AfterFunc(time.Until(start.Add(300*time.Millisecond)), func() { e.Adjust(200) })
	if err := e.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	s := rec.Snapshot(time.Now())
	due := e.DueBy(time.Now())
	// 200/s on [0, 100 ms) and [300, 600 ms): 20 + 60 due.
	if s.Iterations != due || s.Dropped != 0 || due < 70 || due > 90 {
		t.Fatalf("%d iterations, %d dropped, %d due; want the ≈80 due at 200/s outside the pause, all started", s.Iterations, s.Dropped, due)
	}
	if took < 600*time.Millisecond {
		t.Fatalf("the run ended %v after its start, before its 600 ms", took)
	}
}
