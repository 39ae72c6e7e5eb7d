package agent_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The meter reads this process's scheduling latency: goroutines that wake
// while more goroutines than CPUs spin wait for one, by the runtime's
// 10 ms time slices; once the spinning stops they run at once.
func TestSchedMeterReadsThisProcess(t *testing.T) {
	m := agent.NewSchedMeter()
	if s := m.Latencies(); s == nil {
		t.Fatal("no scheduling latency: this Go runtime has no /sched/latencies:seconds")
	}
	spin := 4 * runtime.GOMAXPROCS(0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range spin {
		wg.Go(func() {
			for !stop.Load() { // spins: the runtime preempts it every 10 ms
			}
		})
	}
	wakeUps(40, time.Millisecond) // each wakes into a queue of spinners
	stop.Store(true)
	wg.Wait()
	busy := m.Latencies()
	if p99 := busy.Quantile(0.99); p99 < 2*time.Millisecond {
		t.Errorf("with %d goroutines spinning on %d CPUs, scheduling p99 %v; want some ms", spin, runtime.GOMAXPROCS(0), p99)
	}
	wakeUps(200, time.Millisecond)
	idle := m.Latencies()
	// The runtime tracks one in eight of a goroutine's transitions.
	if idle.Count() < 200/8/2 {
		t.Errorf("200 wake-ups read %d latencies; want about one in eight of them", idle.Count())
	}
	// A shared test machine may delay a few; the idle p90 is far below
	// the busy p99 all the same.
	if p90, p99 := idle.Quantile(0.9), busy.Quantile(0.99); p90 > p99/4 {
		t.Errorf("idle p90 %v against busy p99 %v; want it far below", p90, p99)
	}
}

// wakeUps sleeps n times for d: each wake-up is a goroutine made runnable.
func wakeUps(n int, d time.Duration) {
	for range n {
		time.Sleep(d)
	}
}

// BenchmarkSchedMeter is the per-interval reading: the runtime's
// histogram read and its delta made a sketch.
func BenchmarkSchedMeter(b *testing.B) {
	m := agent.NewSchedMeter()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		time.Sleep(50 * time.Microsecond) // some new latencies in each reading
		b.StartTimer()
		_ = m.Latencies()
	}
}

// A local agent's snapshots carry its scheduling latency, beside its CPU:
// every interval of a run has some (its goroutines ran), and a run that
// ended has measured nothing twice (each reading is the interval's own).
func TestLocalSnapshotsCarrySchedLatency(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	rate, d, timeout := 200.0, 600*time.Millisecond, 5*time.Second
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL() + "/hello", Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d, Timeout: &timeout})
	if err != nil {
		t.Fatal(err)
	}
	var snaps []metrics.Snapshot
	seg := agent.Segment{Plan: p, Start: time.Now().Add(50 * time.Millisecond), Interval: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := agent.NewLocal().Run(ctx, seg, func(s metrics.Snapshot) { snaps = append(snaps, s) }); err != nil {
		t.Fatal(err)
	}
	if len(snaps) < 5 {
		t.Fatalf("%d snapshots", len(snaps))
	}
	var n uint64
	for i, s := range snaps[:len(snaps)-1] { // the last, partial one may be a moment long
		if s.GeneratorSched == nil || s.GeneratorSched.Count() == 0 {
			t.Fatalf("interval %d (%d requests) has no scheduling latency", i, s.Totals().Requests)
		}
		n += s.GeneratorSched.Count()
	}
	// One transition in eight of each goroutine's is timed: a request
	// makes a few, so the run's ~120 requests give tens of latencies, and
	// nowhere near the thousands of a reading counted twice.
	if n < 10 || n > 20000 {
		t.Errorf("%d scheduling latencies over the run; want tens to hundreds", n)
	}
}
