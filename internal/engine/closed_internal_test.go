package engine

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// slowVUs' NewVU sleeps for a millisecond every costEvery VUs (VUs with a
// large state); their iterations sleep for delay.
type slowVUs struct {
	costEvery int
	delay     time.Duration
	iters     atomic.Int64
}

func (w *slowVUs) NewVU(_ context.Context, id int) VU {
	if w.costEvery > 0 && id%w.costEvery == 0 {
		time.Sleep(time.Millisecond)
	}
	return w
}

func (w *slowVUs) Iterate(ctx context.Context, _ Iteration) error {
	w.iters.Add(1)
	select {
	case <-time.After(w.delay):
	case <-ctx.Done():
	}
	return nil
}

func gaugeRecorder() *metrics.Recorder {
	return metrics.NewRecorder(time.Now(), []metrics.EndpointKey{{Name: "work", Method: "GET"}}, nil)
}

// A large closed model starts its VUs spawnBatch at a time, and the VU
// gauge shows each batch as it starts: during a ramp-up of 2,500 VUs that
// takes over 100 ms (a batch ≥ 40 ms) it reads 1,000 or 2,000 on the way, never a
// count between batches, and never stays at 0 until the end.
func TestClosedModelGaugeRisesBatchByBatch(t *testing.T) {
	const target = 2500
	rec := gaugeRecorder()
	w := &slowVUs{costEvery: 25, delay: 200 * time.Millisecond}
	e, err := New(Config{Model: Closed, Profile: Constant(target, 5*time.Second)}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readings := map[int]bool{}
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		defer cancel() // the ramp-up is what is watched; then stop
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			n := rec.Snapshot(time.Now()).VUs
			readings[n] = true
			if n == target {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	if err := e.Run(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	<-sampled
	if !readings[target] {
		t.Fatalf("the gauge never reached %d: %v", target, readings)
	}
	between := 0
	for n := range readings {
		if n != target && n%spawnBatch != 0 {
			t.Fatalf("the gauge read %d during the ramp-up, not a whole number of batches of %d (readings %v)", n, spawnBatch, readings)
		}
		if n > 0 && n < target {
			between++
		}
	}
	if between == 0 {
		t.Fatalf("the gauge went from 0 to %d at once: no batch was reported on the way (readings %v)", target, readings)
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Skipf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Once its VUs are started, the closed model's loop waits for the next
// ramp tick: a second of two VUs sleeping in their iterations costs a few
// milliseconds of CPU, not a core spinning (as it would if the loop kept
// asking to spawn VUs that are already running). Not parallel: it reads
// the whole process's CPU time.
func TestClosedModelIdlesWhileItsVUsWork(t *testing.T) {
	rec := gaugeRecorder()
	w := &slowVUs{delay: 100 * time.Millisecond}
	e, err := New(Config{Model: Closed, Profile: Constant(2, time.Second)}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	before := cpuTime(t)
	t0 := time.Now()
	if err := e.Run(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	wall, cpu := time.Since(t0), cpuTime(t)-before
	if cpu > 150*time.Millisecond {
		t.Fatalf("a closed run of 2 sleeping VUs used %v of CPU in %v", cpu, wall)
	}
	if n := w.iters.Load(); n < 10 || n > 24 {
		t.Fatalf("%d iterations of 100 ms by 2 VUs in 1 s, want ≈ 20", n)
	}
}
