package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
)

// fakeWork records one outcome per iteration, latency measured from the due
// time, after sleeping for delay.
type fakeWork struct {
	rec   *metrics.Recorder
	delay time.Duration
	iters atomic.Int64
	mu    sync.Mutex
	maxID int
}

func (w *fakeWork) NewVU(_ context.Context, id int) engine.VU {
	w.mu.Lock()
	w.maxID = max(w.maxID, id)
	w.mu.Unlock()
	return &fakeVU{w: w, id: id}
}

type fakeVU struct {
	w  *fakeWork
	id int
}

func (v *fakeVU) Iterate(_ context.Context, it engine.Iteration) error {
	v.w.iters.Add(1)
	if v.w.delay > 0 {
		time.Sleep(v.w.delay)
	}
	v.w.rec.Record(v.id, 0, metrics.Outcome{Latency: time.Since(it.Due)})
	return nil
}

func newRec(start time.Time) *metrics.Recorder {
	return metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "fake", Method: "GET"}}, nil)
}

func TestOpenModelRunsEveryDueIteration(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRec(start)
	w := &fakeWork{rec: rec, delay: 2 * time.Millisecond}
	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(400, time.Second)}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	s := rec.Snapshot(time.Now())
	if got := w.iters.Load(); got != 400 || s.Iterations != 400 || s.Dropped != 0 {
		t.Fatalf("iterations %d (recorded %d, dropped %d), want 400", got, s.Iterations, s.Dropped)
	}
}

// When every VU is busy, due iterations wait, their wait counts in their
// latency, and those that wait past the timeout are dropped.
func TestOpenModelQueuesThenDrops(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRec(start)
	w := &fakeWork{rec: rec, delay: 100 * time.Millisecond}
	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(100, time.Second), MaxVUs: 2, Timeout: 300 * time.Millisecond}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	s := rec.Snapshot(time.Now())
	ran := w.iters.Load()
	// 2 VUs × 100 ms each: about 20/s can run; everything else waits and
	// most of it is dropped. Nothing is lost: ran + dropped = due.
	if ran+s.Dropped != 100 {
		t.Fatalf("ran %d + dropped %d != 100 due", ran, s.Dropped)
	}
	if s.Dropped < 50 {
		t.Fatalf("dropped %d, want most of 100", s.Dropped)
	}
	if w.maxID > 1 {
		t.Fatalf("started VU %d beyond MaxVUs 2", w.maxID)
	}
	lat := s.Totals().Latency
	if lat.Max() < 250*time.Millisecond {
		t.Fatalf("max latency %v: the queue wait must count", lat.Max())
	}
}

func TestOpenModelIterationBudget(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRec(start)
	w := &fakeWork{rec: rec}
	e, _ := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(1000, 0), Iterations: 250}, w, rec)
	if err := e.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	if got := w.iters.Load(); got != 250 {
		t.Fatalf("ran %d, want 250", got)
	}
}

func TestClosedModelBudgetAndRamp(t *testing.T) {
	t.Parallel()
	t.Run("budget", func(t *testing.T) {
		start := time.Now()
		rec := newRec(start)
		w := &fakeWork{rec: rec, delay: time.Millisecond}
		e, _ := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(7, 0), Iterations: 333}, w, rec)
		if err := e.Run(context.Background(), start); err != nil {
			t.Fatal(err)
		}
		if got := w.iters.Load(); got != 333 {
			t.Fatalf("ran %d, want 333", got)
		}
	})
	t.Run("ramp", func(t *testing.T) {
		start := time.Now()
		rec := newRec(start)
		w := &fakeWork{rec: rec, delay: 5 * time.Millisecond}
		profile := engine.Profile{Start: 0, Stages: []engine.Stage{{Duration: 600 * time.Millisecond, Target: 20}, {Duration: 600 * time.Millisecond, Target: 0}}}
		e, _ := engine.New(engine.Config{Model: engine.Closed, Profile: profile}, w, rec)
		var peak atomic.Int64
		finished, sampled := make(chan struct{}), make(chan struct{})
		go func() { // sample the VU gauge while the engine runs
			defer close(sampled)
			for {
				s := rec.Snapshot(time.Now())
				peak.Store(max(peak.Load(), int64(s.MaxVUs)))
				select {
				case <-time.After(20 * time.Millisecond):
				case <-finished:
					return
				}
			}
		}()
		if err := e.Run(context.Background(), start); err != nil {
			t.Fatal(err)
		}
		close(finished)
		<-sampled
		if p := peak.Load(); p < 17 || p > 20 {
			t.Fatalf("peak VUs %d, want about 20", p)
		}
		if s := rec.Snapshot(time.Now()); s.VUs != 0 {
			t.Fatalf("VUs at the end %d, want 0", s.VUs)
		}
	})
}

func TestCancelStopsPromptly(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRec(start)
	w := &fakeWork{rec: rec, delay: 10 * time.Millisecond}
	e, _ := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(10, time.Hour)}, w, rec)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	t0 := time.Now()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("stopping took %v", d)
	}
	s := rec.Snapshot(time.Now())
	if s.Totals().Requests != w.iters.Load() {
		t.Fatalf("recorded %d, iterated %d", s.Totals().Requests, w.iters.Load())
	}
}

func TestAdjustChangesTheRate(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRec(start)
	w := &fakeWork{rec: rec}
	e, _ := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(50, 2*time.Second)}, w, rec)
	time.AfterFunc(time.Second+50*time.Millisecond, func() { e.Adjust(250) })
	if err := e.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	// ≈50 in the first second, ≈250 in the second.
	if got := w.iters.Load(); got < 260 || got > 320 {
		t.Fatalf("ran %d iterations, want ≈300", got)
	}
}

// doneWork's VUs run `rows` iterations in all, then report ErrVUDone, like
// a unique data source running out.
type doneWork struct {
	rec  *metrics.Recorder
	rows atomic.Int64
}

func (w *doneWork) NewVU(_ context.Context, id int) engine.VU { return &doneVU{w, id} }

type doneVU struct {
	w  *doneWork
	id int
}

func (v *doneVU) Iterate(_ context.Context, it engine.Iteration) error {
	if v.w.rows.Add(-1) < 0 {
		return fmt.Errorf("no row left: %w", engine.ErrVUDone)
	}
	time.Sleep(time.Millisecond)
	v.w.rec.Record(v.id, 0, metrics.Outcome{Latency: time.Since(it.Due)})
	return nil
}

func TestVUsThatRunOutOfWorkEndTheRunCleanly(t *testing.T) {
	t.Parallel()
	for _, model := range []engine.Model{engine.Closed, engine.Open} {
		t.Run(model.String(), func(t *testing.T) {
			start := time.Now()
			rec := newRec(start)
			w := &doneWork{rec: rec}
			w.rows.Store(40)
			profile := engine.Constant(5, time.Minute)
			if model == engine.Open {
				profile = engine.Constant(200, time.Minute)
			}
			e, _ := engine.New(engine.Config{Model: model, Profile: profile}, w, rec)
			t0 := time.Now()
			if err := e.Run(context.Background(), start); err != nil {
				t.Fatalf("run failed: %v", err)
			}
			if took := time.Since(t0); took > 5*time.Second {
				t.Fatalf("the run went on for %v after every VU ran out of work", took)
			}
			s := rec.Snapshot(time.Now())
			if s.Iterations != 40 || s.Totals().Requests != 40 {
				t.Fatalf("iterations %d requests %d, want 40 (an ended VU's last call is no iteration)", s.Iterations, s.Totals().Requests)
			}
		})
	}
}
