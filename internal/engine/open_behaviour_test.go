package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
)

// These tests check what the engine promises, not how it does it: when
// iterations are due, what a VU is told, what is recorded. They hold
// across rewrites of the scheduler.

// sleepWork's VUs sleep for delay per iteration and record one request
// whose latency runs from the iteration's due time, as the workload does.
// It notes every iteration's due time and start.
type sleepWork struct {
	rec   *metrics.Recorder
	delay time.Duration

	mu     sync.Mutex
	dues   []time.Time
	starts []time.Time
	ids    map[int]bool
	nums   map[int][]int64
}

func newSleepWork(rec *metrics.Recorder, delay time.Duration) *sleepWork {
	return &sleepWork{rec: rec, delay: delay, ids: map[int]bool{}, nums: map[int][]int64{}}
}

func (w *sleepWork) NewVU(_ context.Context, id int) engine.VU {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids[id] = true
	return &sleepVU{w: w, id: id}
}

type sleepVU struct {
	w  *sleepWork
	id int
}

func (v *sleepVU) Iterate(_ context.Context, it engine.Iteration) error {
	now := time.Now()
	v.w.mu.Lock()
	v.w.dues = append(v.w.dues, it.Due)
	v.w.starts = append(v.w.starts, now)
	v.w.nums[v.id] = append(v.w.nums[v.id], it.Num)
	v.w.mu.Unlock()
	if v.w.delay > 0 {
		time.Sleep(v.w.delay)
	}
	v.w.rec.Record(v.id, 0, metrics.Outcome{Latency: time.Since(it.Due)})
	return nil
}

func behaviourRecorder(start time.Time) *metrics.Recorder {
	return metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "work", Method: "GET"}}, nil)
}

func runEngine(t *testing.T, cfg engine.Config, w engine.Workload, rec *metrics.Recorder, start time.Time) time.Duration {
	t.Helper()
	e, err := engine.New(cfg, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// With two VUs busy for 100 ms each and 100 iterations due per second, the
// iterations that do run start long after they were due: the engine must
// record that start lag, and the Iteration it hands the VU must carry the
// due time, not the start.
func TestOpenModelStartLagWhenThePoolIsExhausted(t *testing.T) {
	start := time.Now().Add(20 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 100*time.Millisecond)
	runEngine(t, engine.Config{Model: engine.Open, Profile: engine.Constant(100, time.Second), MaxVUs: 2, Timeout: 500 * time.Millisecond}, w, rec, start)
	s := rec.Snapshot(time.Now())
	ran := int64(len(w.dues))
	if ran+s.Dropped != 100 {
		t.Fatalf("ran %d + dropped %d, want the 100 due", ran, s.Dropped)
	}
	if len(w.ids) > 2 {
		t.Fatalf("%d VUs started, MaxVUs is 2", len(w.ids))
	}
	if s.Lag == nil || int64(s.Lag.Count()) != ran {
		t.Fatalf("start lag recorded for %v iterations, want one per iteration run (%d)", lagCount(s.Lag), ran)
	}
	// Iteration i runs at ≈ i·50 ms, due at i·10 ms: lag ≈ 40·i ms, up to
	// the 500 ms timeout. Its median is a couple of hundred ms.
	if p50 := s.Lag.Quantile(0.5); p50 < 100*time.Millisecond {
		t.Fatalf("start-lag p50 %v, want ≫ 0 (iterations waited for a VU)", p50)
	}
	if mx := s.Lag.Max(); mx < 300*time.Millisecond || mx > 700*time.Millisecond {
		t.Fatalf("start-lag max %v, want just under the 500 ms timeout", mx)
	}
	// The lag the engine recorded is the one the VU saw: start − due.
	var worst time.Duration
	for i := range w.dues {
		if d := w.starts[i].Sub(w.dues[i]); d > worst {
			worst = d
		}
	}
	if diff := worst - s.Lag.Max(); diff < -5*time.Millisecond || diff > 5*time.Millisecond {
		t.Fatalf("largest start − due seen by VUs %v, recorded lag max %v", worst, s.Lag.Max())
	}
	// Latency counts from the due time, so it includes the lag.
	if p50 := s.Totals().Latency.Quantile(0.5); p50 < s.Lag.Quantile(0.5)+90*time.Millisecond {
		t.Fatalf("latency p50 %v < lag p50 %v + 100 ms of work", p50, s.Lag.Quantile(0.5))
	}
}

func lagCount(s *metrics.Sketch) any {
	if s == nil {
		return "no sketch"
	}
	return s.Count()
}

// When VUs are free, iterations start on time: the lag is small, and due
// times are the pacer's, evenly spaced from the common start.
func TestOpenModelDueTimesFollowTheRate(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(20 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 0)
	runEngine(t, engine.Config{Model: engine.Open, Profile: engine.Constant(50, time.Second)}, w, rec, start)
	if len(w.dues) != 50 {
		t.Fatalf("%d iterations, want 50", len(w.dues))
	}
	notEarly(t, w)
	seen := map[time.Duration]bool{}
	for _, d := range w.dues {
		off := d.Sub(start)
		seen[off.Round(time.Millisecond)] = true
	}
	for i := range 50 {
		want := time.Duration(i) * 20 * time.Millisecond
		if !seen[want] {
			t.Fatalf("no iteration due at %v (due offsets: %v)", want, seen)
		}
	}
	s := rec.Snapshot(time.Now())
	if s.Lag.Count() != 50 {
		t.Fatalf("lag recorded %d times, want 50", s.Lag.Count())
	}
	if p50 := s.Lag.Quantile(0.5); p50 > 50*time.Millisecond {
		t.Fatalf("start-lag p50 %v with idle VUs, want ≈ 0", p50)
	}
}

// Each VU numbers its own iterations 0, 1, 2, … (templates read it as
// the iteration number).
func TestIterationNumbersCountPerVU(t *testing.T) {
	t.Parallel()
	for _, model := range []engine.Model{engine.Open, engine.Closed} {
		t.Run(model.String(), func(t *testing.T) {
			start := time.Now()
			rec := behaviourRecorder(start)
			w := newSleepWork(rec, 2*time.Millisecond)
			cfg := engine.Config{Model: model, Profile: engine.Constant(3, 0), Iterations: 60}
			if model == engine.Open {
				cfg.Profile, cfg.MaxVUs = engine.Constant(500, 0), 3
			}
			runEngine(t, cfg, w, rec, start)
			total := 0
			for id, nums := range w.nums {
				for i, n := range nums {
					if n != int64(i) {
						t.Fatalf("VU %d: iteration numbers %v, want 0, 1, 2, …", id, nums)
					}
				}
				total += len(nums)
			}
			if total != 60 {
				t.Fatalf("%d iterations, want 60", total)
			}
			if s := rec.Snapshot(time.Now()); s.Iterations != 60 {
				t.Fatalf("recorded %d iterations, want 60", s.Iterations)
			}
		})
	}
}

// Only an iteration budget bounds the run: it must still be paced at the
// rate. 400 iterations at 200/s take ≈ 2 s (the last is due at 1.995 s),
// not the instant a free-running loop would take.
func TestOpenModelBudgetIsPacedAtTheRate(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(10 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 0)
	took := runEngine(t, engine.Config{Model: engine.Open, Profile: engine.Constant(200, 0), Iterations: 400}, w, rec, start)
	if len(w.dues) != 400 {
		t.Fatalf("ran %d, want 400", len(w.dues))
	}
	if took < 1900*time.Millisecond || took > 3*time.Second {
		t.Fatalf("400 iterations at 200/s took %v, want ≈ 2 s", took)
	}
	last := time.Duration(0)
	for _, d := range w.dues {
		last = max(last, d.Sub(start))
	}
	if last < 1990*time.Millisecond || last > 2*time.Second {
		t.Fatalf("last iteration due at %v, want 1.995 s", last)
	}
}

// A closed-model run of N VUs keeps exactly N iterations in flight.
func TestClosedModelRunsExactlyNVUs(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := behaviourRecorder(start)
	var inFlight, peak atomic.Int64
	w := &gaugeWork{in: &inFlight, peak: &peak, delay: 20 * time.Millisecond}
	runEngine(t, engine.Config{Model: engine.Closed, Profile: engine.Constant(4, 300*time.Millisecond)}, w, rec, start)
	if p := peak.Load(); p != 4 {
		t.Fatalf("peak iterations in flight %d, want 4", p)
	}
	s := rec.Snapshot(time.Now())
	if s.MaxVUs != 4 || s.VUs != 0 {
		t.Fatalf("VU gauge max %d, at end %d; want 4 and 0", s.MaxVUs, s.VUs)
	}
	// 4 VUs × 300 ms / 20 ms ≈ 60 iterations.
	if s.Iterations < 30 || s.Iterations > 64 {
		t.Fatalf("%d iterations, want ≈ 60", s.Iterations)
	}
}

type gaugeWork struct {
	in, peak *atomic.Int64
	delay    time.Duration
}

func (w *gaugeWork) NewVU(context.Context, int) engine.VU { return w }

func (w *gaugeWork) Iterate(context.Context, engine.Iteration) error {
	n := w.in.Add(1)
	for {
		p := w.peak.Load()
		if n <= p || w.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(w.delay)
	w.in.Add(-1)
	return nil
}

// Run waits for a start in the future: nothing is due before it.
func TestRunWaitsForTheStart(t *testing.T) {
	t.Parallel()
	for _, model := range []engine.Model{engine.Open, engine.Closed} {
		t.Run(model.String(), func(t *testing.T) {
			start := time.Now().Add(200 * time.Millisecond)
			rec := behaviourRecorder(start)
			w := newSleepWork(rec, 0)
			cfg := engine.Config{Model: model, Profile: engine.Constant(100, 0), Iterations: 5}
			if model == engine.Closed {
				cfg.Profile = engine.Constant(1, 0)
			}
			runEngine(t, cfg, w, rec, start)
			for _, s := range w.starts {
				if s.Before(start) {
					t.Fatalf("an iteration started %v before the start", start.Sub(s))
				}
			}
		})
	}
}

// A config that asks for nothing bounded is refused, and so is a
// negative start.
func TestNewRefusesBadConfigs(t *testing.T) {
	rec := behaviourRecorder(time.Now())
	w := newSleepWork(rec, 0)
	if _, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Profile{Start: -1}}, w, rec); err == nil {
		t.Fatal("negative start accepted")
	}
	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(1000, time.Second)}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	c := e.Config()
	if c.Timeout != engine.DefaultTimeout || c.MaxVUs != engine.DefaultMaxVUs(1000, engine.DefaultTimeout) || c.MaxDuration != time.Hour {
		t.Fatalf("defaults not filled in: %+v", c)
	}
}

func TestDefaultMaxVUs(t *testing.T) {
	tests := []struct {
		rate    float64
		timeout time.Duration
		want    int
	}{
		{1, time.Second, engine.DefaultMaxVUsFloor},
		{100, time.Second, engine.DefaultMaxVUsFloor},
		{101, time.Second, 101},
		{50, 10 * time.Second, 500},
		{1e6, 10 * time.Second, engine.DefaultMaxVUsCeiling},
		{engine.DefaultMaxVUsCeiling, time.Second, engine.DefaultMaxVUsCeiling},
	}
	for _, tt := range tests {
		if got := engine.DefaultMaxVUs(tt.rate, tt.timeout); got != tt.want {
			t.Errorf("DefaultMaxVUs(%v, %v) = %d, want %d", tt.rate, tt.timeout, got, tt.want)
		}
	}
}

func TestModelNames(t *testing.T) {
	if engine.Open.String() != "open" || engine.Closed.String() != "closed" {
		t.Fatalf("model names %q %q", engine.Open, engine.Closed)
	}
}

// The closed model follows its target down and back up: after Adjust(1)
// exactly one iteration is in flight, after Adjust(3) three (VUs that left
// come back).
func TestClosedModelFollowsTheTargetDownAndUp(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := behaviourRecorder(start)
	var inFlight, peak atomic.Int64
	w := &gaugeWork{in: &inFlight, peak: &peak, delay: 10 * time.Millisecond}
	e, err := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(4, 1500*time.Millisecond)}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	type sample struct{ low, high int64 }
	samples := make(chan sample, 3)
	watch := func(from, to time.Duration) {
		time.Sleep(time.Until(start.Add(from)))
		s := sample{low: 1 << 30}
		for time.Now().Before(start.Add(to)) {
			n := inFlight.Load()
			s.low, s.high = min(s.low, n), max(s.high, n)
			time.Sleep(time.Millisecond)
		}
		samples <- s
	}
	go func() {
		watch(200*time.Millisecond, 400*time.Millisecond)
		e.Adjust(1)
		watch(700*time.Millisecond, 900*time.Millisecond)
		e.Adjust(3)
		watch(1200*time.Millisecond, 1400*time.Millisecond)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{4, 1, 3} {
		s := <-samples
		// A VU between two iterations is briefly not in flight.
		if s.high != want || s.low < max(want-2, 0) {
			t.Fatalf("phase %d: %d to %d iterations in flight, want %d", i, s.low, s.high, want)
		}
	}
}

// The ceilings are inclusive: MaxVUs VUs and MaxRate iterations/s are
// allowed, more is refused.
func TestCeilingsAreInclusive(t *testing.T) {
	rec := behaviourRecorder(time.Now())
	w := newSleepWork(rec, 0)
	for _, tt := range []struct {
		cfg engine.Config
		ok  bool
	}{
		{engine.Config{Model: engine.Open, Profile: engine.Constant(10, time.Second), MaxVUs: engine.MaxVUs}, true},
		{engine.Config{Model: engine.Open, Profile: engine.Constant(10, time.Second), MaxVUs: engine.MaxVUs + 1}, false},
		{engine.Config{Model: engine.Open, Profile: engine.Constant(engine.MaxRate, time.Second)}, true},
		{engine.Config{Model: engine.Open, Profile: engine.Constant(engine.MaxRate+1, time.Second)}, false},
		{engine.Config{Model: engine.Closed, Profile: engine.Constant(engine.MaxVUs, time.Second)}, true},
		{engine.Config{Model: engine.Closed, Profile: engine.Profile{Start: 1, Stages: []engine.Stage{{Duration: time.Second, Target: engine.MaxVUs + 1}}}}, false},
	} {
		_, err := engine.New(tt.cfg, w, rec)
		if (err == nil) != tt.ok {
			t.Errorf("%+v: error %v, want ok=%v", tt.cfg, err, tt.ok)
		}
	}
}

// After a graceful stop, iterations in flight get the request timeout and
// a second more before their hard context is cancelled.
func TestGracePeriodAfterTheEnd(t *testing.T) {
	t.Parallel()
	start := time.Now()
	rec := behaviourRecorder(start)
	cancelled := make(chan time.Duration, 1)
	w := hangWork{cancelled: cancelled, start: start}
	e, err := engine.New(engine.Config{Model: engine.Closed, Profile: engine.Constant(1, 200*time.Millisecond), Timeout: 500 * time.Millisecond}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-cancelled:
		// the run ends at 200 ms; the hard stop comes 0.5 s + 1 s later
		if at < 1500*time.Millisecond || at > 3*time.Second {
			t.Fatalf("in-flight work cut off %v after the start, want ≈ 1.7 s", at)
		}
	default:
		t.Fatal("the hanging iteration was never cut off")
	}
}

// hangWork's single iteration waits for its hard context (as a request
// does), up to 5 s.
type hangWork struct {
	cancelled chan time.Duration
	start     time.Time
}

func (w hangWork) NewVU(hard context.Context, _ int) engine.VU { return hangVU{w, hard} }

type hangVU struct {
	w    hangWork
	hard context.Context
}

func (v hangVU) Iterate(context.Context, engine.Iteration) error {
	select {
	case <-v.hard.Done():
		select {
		case v.w.cancelled <- time.Since(v.w.start):
		default:
		}
	case <-time.After(5 * time.Second):
	}
	return nil
}

// The open model's pool grows to what the load needs, not beyond: 200
// iterations/s of 50 ms need about 10 VUs at once; the VU gauge says so,
// and with VUs to spare iterations start on time.
func TestOpenModelPoolGrowsToTheLoad(t *testing.T) {
	start := time.Now().Add(20 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 50*time.Millisecond)
	// MaxVUs 200: a pool that started a VU per iteration would reach it.
	runEngine(t, engine.Config{Model: engine.Open, Profile: engine.Constant(200, time.Second), MaxVUs: 200}, w, rec, start)
	s := rec.Snapshot(time.Now())
	if len(w.dues) != 200 || s.Dropped != 0 {
		t.Fatalf("ran %d, dropped %d; want 200 and 0", len(w.dues), s.Dropped)
	}
	// Under load the scheduler runs late and more VUs overlap (34 seen at a
	// load average of 10 on 2 cores): the bound is far below the 200 of a
	// pool that spirals.
	if s.MaxVUs < 9 || s.MaxVUs > 80 {
		t.Fatalf("VU gauge peaked at %d, want ≈ 10 (200/s × 50 ms)", s.MaxVUs)
	}
	if n := len(w.ids); n < 9 || n > 80 {
		t.Fatalf("%d VUs started, want ≈ 10", n)
	}
	if s.VUs != 0 {
		t.Fatalf("VU gauge at the end %d, want 0", s.VUs)
	}
	if p50 := s.Lag.Quantile(0.5); p50 > 5*time.Millisecond {
		t.Fatalf("start-lag p50 %v with VUs to spare", p50)
	}
}

// At a low rate the scheduler sleeps between iterations and wakes on
// time: the start lag is well under the 2 ms it sleeps precisely.
func TestOpenModelWakesOnTime(t *testing.T) {
	start := time.Now().Add(20 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 0)
	runEngine(t, engine.Config{Model: engine.Open, Profile: engine.Constant(40, time.Second)}, w, rec, start)
	notEarly(t, w)
	s := rec.Snapshot(time.Now())
	if s.Lag.Count() != 40 {
		t.Fatalf("%d lags for 40 iterations", s.Lag.Count())
	}
	if p50 := s.Lag.Quantile(0.5); p50 > 1500*time.Microsecond {
		t.Fatalf("start-lag p50 %v at 40/s, want well under 2 ms", p50)
	}
}

// The offered load follows a live change of rate: after the run, DueBy
// equals the iterations started plus those dropped, and mid-run it counts
// the old rate before the change and the new one after it.
func TestOfferedLoadFollowsAdjust(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(20 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 0)
	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(100, time.Second)}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	mid := make(chan int64, 1)
	go func() {
		time.Sleep(time.Until(start.Add(500 * time.Millisecond)))
		e.Adjust(300)
		time.Sleep(time.Until(start.Add(800 * time.Millisecond)))
		mid <- e.DueBy(start.Add(750 * time.Millisecond))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	s := rec.Snapshot(time.Now())
	due := e.DueBy(time.Now())
	if got := int64(len(w.dues)) + s.Dropped; got != due {
		t.Fatalf("started %d + dropped %d = %d, DueBy %d", len(w.dues), s.Dropped, got, due)
	}
	// ≈ 50 in the first half second at 100/s, ≈ 150 in the second at 300/s
	if due < 180 || due > 220 {
		t.Fatalf("%d due, want ≈ 200", due)
	}
	// by 750 ms: ≈ 50 + 0.25 s × 300 = 125
	if m := <-mid; m < 105 || m > 145 {
		t.Fatalf("DueBy(750 ms) = %d, want ≈ 125", m)
	}
}

// The first iteration finds no VU yet: the scheduler starts one for it at
// once, so it starts on time, not when the next iteration falls due.
func TestOpenModelFirstIterationStartsOnTime(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(20 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 0)
	// 2/s: the next due time is 500 ms after the first.
	runEngine(t, engine.Config{Model: engine.Open, Profile: engine.Constant(2, 0), Iterations: 2}, w, rec, start)
	if len(w.dues) != 2 {
		t.Fatalf("%d iterations, want 2", len(w.dues))
	}
	for i := range w.dues {
		if lag := w.starts[i].Sub(w.dues[i]); lag > 200*time.Millisecond {
			t.Fatalf("iteration %d (due %v after the start) started %v late; at 2/s a VU was there to start it", i, w.dues[i].Sub(start), lag)
		}
	}
}

// notEarly fails if an iteration started before it was due: the scheduler
// sleeps until each due time (the last 2 ms on the precise sleeper) and
// hands it out only then.
func notEarly(t *testing.T, w *sleepWork) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.dues {
		if early := w.dues[i].Sub(w.starts[i]); early > 0 {
			t.Fatalf("iteration due %v after the start began %v early", w.dues[i].Sub(w.dues[0]), early)
		}
	}
}

// A rate change applies at a rate high enough that the scheduler never
// waits long between iterations (here 1 ms apart), as at a low one.
func TestAdjustAppliesAtAHighRate(t *testing.T) {
	start := time.Now().Add(20 * time.Millisecond)
	rec := behaviourRecorder(start)
	w := newSleepWork(rec, 0)
	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(1000, time.Second), MaxVUs: 50}, w, rec)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(time.Until(start.Add(300 * time.Millisecond)))
		e.Adjust(3000)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	// ≈ 300 in the first 0.3 s at 1000/s, ≈ 2100 in the 0.7 s after at
	// 3000/s: 2400 due; without the change, 1000.
	if due := e.DueBy(time.Now()); due < 2100 || due > 2600 {
		t.Fatalf("%d iterations due, want ≈ 2400 (the change to 3000/s applied)", due)
	}
	if got := int64(len(w.dues)); got < 1800 {
		t.Fatalf("%d iterations started, want ≈ 2400", got)
	}
}
