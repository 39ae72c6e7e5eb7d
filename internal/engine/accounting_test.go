package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// In the open model every due iteration is either started or dropped and
// counted — when the generator cannot keep up, when the user stops the
// run, and when an iteration budget ends it — so that
// iterations + dropped == due.
func TestOpenModelAccountsForEveryDueIteration(t *testing.T) {
	cases := []struct {
		name    string
		cfg     engine.Config
		delay   time.Duration
		stopAt  time.Duration // 0: no stop
		wantDue int64         // -1: as the profile says by the end
		behind  bool          // the generator is expected to fall behind
	}{
		{name: "easy", cfg: engine.Config{Profile: engine.Constant(200, 500*time.Millisecond)}, wantDue: 100},
		{
			// 1,000,000/s for 300 ms cannot be paced by four VUs that take
			// a millisecond each: most due iterations are never produced.
			name: "generator behind", delay: time.Millisecond, behind: true, wantDue: 300_000,
			cfg: engine.Config{Profile: engine.Constant(1_000_000, 300*time.Millisecond), MaxVUs: 4, Timeout: 50 * time.Millisecond},
		},
		{
			name: "stopped", delay: 20 * time.Millisecond, stopAt: 300 * time.Millisecond, wantDue: -1,
			cfg: engine.Config{Profile: engine.Constant(1000, time.Hour), MaxVUs: 3},
		},
		{name: "budget", cfg: engine.Config{Profile: engine.Constant(1000, time.Hour), Iterations: 120}, wantDue: 120},
		{
			name: "budget beyond the duration", delay: 10 * time.Millisecond,
			cfg:     engine.Config{Profile: engine.Constant(400, 250*time.Millisecond), Iterations: 1000, MaxVUs: 2, Timeout: 30 * time.Millisecond},
			wantDue: 100,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			rec := newRec(start)
			w := &fakeWork{rec: rec, delay: tc.delay}
			tc.cfg.Model = engine.Open
			e, err := engine.New(tc.cfg, w, rec)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.stopAt > 0 {
				time.AfterFunc(tc.stopAt, cancel)
			}
			mid := e.DueBy(start.Add(100 * time.Millisecond)) // asked while running, as an agent does
			if err := e.Run(ctx, start); err != nil {
				t.Fatal(err)
			}
			s := rec.Snapshot(time.Now())
			due := e.DueBy(time.Now().Add(time.Hour)) // after Run: the final count
			if got := s.Iterations + s.Dropped; got != due {
				t.Fatalf("iterations %d + dropped %d = %d, want due %d", s.Iterations, s.Dropped, got, due)
			}
			if s.Iterations != w.iters.Load() {
				t.Fatalf("recorded %d iterations, VUs ran %d", s.Iterations, w.iters.Load())
			}
			if tc.wantDue >= 0 && due != tc.wantDue {
				t.Fatalf("due %d, want %d", due, tc.wantDue)
			}
			if tc.stopAt > 0 {
				// Due by the stop: 1000/s for about 300 ms.
				if due < 250 || due > 450 {
					t.Fatalf("due %d at a stop after 300 ms of 1000/s, want ≈300", due)
				}
			}
			if mid > due {
				t.Fatalf("due while running %d above the final %d", mid, due)
			}
			if tc.behind && s.Dropped < due/2 {
				t.Fatalf("dropped %d of %d: the generator could not have started them", s.Dropped, due)
			}
			// An easy run drops nothing on an idle machine; on a loaded one the
			// scheduler can be descheduled past the end and the iterations due
			// in the last few tens of ms are never produced (10 of 100 seen at
			// a load average of 10 on 2 cores).
			if !tc.behind && tc.delay == 0 && s.Dropped > due/4 {
				t.Fatalf("an easy run dropped %d of %d", s.Dropped, due)
			}
		})
	}
}

// DueBy follows a live rate change, so the offered load of each interval
// is what the plan asked for at that moment.
func TestDueByFollowsAdjust(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRec(start)
	w := &fakeWork{rec: rec}
	e, _ := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(100, 1200*time.Millisecond)}, w, rec)
	time.AfterFunc(600*time.Millisecond, func() { e.Adjust(400) })
	if err := e.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	due := e.DueBy(time.Now())
	// ≈60 in the first 600 ms, ≈240 in the next 600 ms.
	if due < 270 || due > 330 {
		t.Fatalf("due %d, want ≈300", due)
	}
	s := rec.Snapshot(time.Now())
	if s.Iterations+s.Dropped != due {
		t.Fatalf("iterations %d + dropped %d != due %d", s.Iterations, s.Dropped, due)
	}
}

func TestClosedModelHasNoDueCount(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := newRec(start)
	e, _ := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(2, 100*time.Millisecond)}, &fakeWork{rec: rec, delay: time.Millisecond}, rec)
	if err := e.Run(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	if d := e.DueBy(time.Now()); d != 0 {
		t.Fatalf("closed model due %d, want 0", d)
	}
}

func TestNewRefusesLoadsAboveTheCeilings(t *testing.T) {
	cases := []engine.Config{
		{Model: engine.Closed, Profile: engine.Constant(engine.MaxVUs+1, time.Second)},
		{Model: engine.Closed, Profile: engine.Profile{Stages: []engine.Stage{{Duration: time.Second, Target: 1e7}}}},
		{Model: engine.Open, Profile: engine.Constant(engine.MaxRate*2, time.Second)},
		{Model: engine.Open, Profile: engine.Constant(10, time.Second), MaxVUs: engine.MaxVUs + 1},
	}
	for i, cfg := range cases {
		if _, err := engine.New(cfg, &fakeWork{}, nil); !errors.Is(err, engine.ErrBadConfig) {
			t.Errorf("case %d: err %v, want ErrBadConfig", i, err)
		}
	}
	if _, err := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(engine.MaxVUs, time.Second)}, &fakeWork{}, nil); err != nil {
		t.Errorf("MaxVUs itself refused: %v", err)
	}
}

// A large closed model spawns its VUs in batches and honours a stop while
// it does, so Ctrl-C works during the ramp-up.
func TestClosedModelStopsWhileSpawning(t *testing.T) {
	start := time.Now()
	rec := newRec(start)
	w := &slowSpawn{fakeWork: fakeWork{rec: rec, delay: time.Millisecond}, cost: 100 * time.Microsecond}
	e, _ := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(engine.MaxVUs, time.Hour)}, w, rec)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	t0 := time.Now()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	// Spawning 100,000 VUs at 100 µs each takes 10 s; the stop must cut it short.
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("stopping during the ramp-up took %v", d)
	}
}

// slowSpawn makes NewVU cost time, like a VU with a large state.
type slowSpawn struct {
	fakeWork
	cost time.Duration
}

func (w *slowSpawn) NewVU(ctx context.Context, id int) engine.VU {
	time.Sleep(w.cost)
	return w.fakeWork.NewVU(ctx, id)
}
