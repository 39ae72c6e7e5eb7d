package capacity_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
)

// The run session every front-end uses is what a search drives.
var (
	_ capacity.Session   = (*run.Session)(nil)
	_ capacity.Monitored = (*run.Session)(nil)
)

// liveInterval is the session's interval in these tests: short steps, so
// that a search takes well under a minute. Each step is settled for 0.75 s
// and judged on a window of 1.5 s (six intervals): at the 25/s of the
// slowest targets, 37 requests a window, so its p99 is near its slowest
// request and a queue's climb shows within the step.
const liveInterval = 250 * time.Millisecond

// skipShort skips a live search under -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("a capacity search against a live target takes ~20s")
	}
}

// nearCapacity are the start rate and growth of a search of a target whose
// capacity c is known from first principles (W workers of S: W/S): it
// starts at 70 % of c, where the baseline's latency is still the service
// time's, and its second step is 1.26 c, well past it. The bracket
// [0.7 c, 1.26 c] is bisected to the 5 % precision in four steps, so a
// search is about seven steps (two growth, four bisections, the
// confirmation) instead of the ten to twelve of a growth from far below.
// A wrong capacity still shows: a target below 0.7 c fails the first step
// (the start rate missed, max rate 0), any other is bisected to where it
// is; Max stays far above, so nothing caps the search but the target.
func nearCapacity(c float64) (start, growth float64) { return 0.7 * c, 1.8 }

// liveSearch searches the testbed's path with a real run session (one
// open-model run, its rate changed live) on loopback.
func liveSearch(t *testing.T, tbo testbed.Options, path string, maxVUs int, o capacity.Options) *capacity.Result {
	t.Helper()
	return liveSearchFlow(t, tbo, []string{path}, maxVUs, o)
}

// liveSearchFlow is liveSearch of a flow that GETs each of the testbed's
// paths in turn, each iteration.
func liveSearchFlow(t *testing.T, tbo testbed.Options, paths []string, maxVUs int, o capacity.Options) *capacity.Result {
	t.Helper()
	skipShort(t)
	res, err := searchTestbed(t, tbo, paths, maxVUs, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// searchTestbed is liveSearchFlow returning its error instead of ending the
// test, so that it may run on a goroutine of its own (two searches at once).
// It starts a testbed of its own, on a port of its own.
func searchTestbed(t *testing.T, tbo testbed.Options, paths []string, maxVUs int, o capacity.Options) (*capacity.Result, error) {
	t.Helper()
	tb, err := testbed.Start("127.0.0.1:0", tbo)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = tb.Close() })
	rate := o.Start
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + paths[0], Method: "GET"}, scenario.Overrides{Rate: &rate})
	if err != nil {
		return nil, err
	}
	for i, p := range paths[1:] {
		plan.Flows[0].Steps = append(plan.Flows[0].Steps, scenario.Step{Name: fmt.Sprintf("step %d", i+2), Method: "GET", URL: tb.URL() + p})
	}
	if maxVUs == 0 {
		maxVUs = engine.DefaultMaxVUs(o.Max, plan.Timeout)
	}
	plan.Load = scenario.Load{Model: engine.Open, Rate: o.Start, Duration: 2 * time.Minute, MaxVUs: maxVUs}
	if err := plan.Validate(); err != nil {
		return nil, err
	}
	sess := run.New(plan, run.Options{Interval: liveInterval})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := sess.Start(ctx); err != nil {
		return nil, err
	}
	if strings.HasPrefix(o.Probe, "/") {
		o.Probe = tb.URL() + o.Probe // a path of the testbed
	}
	o.Interval, o.Settle, o.Window, o.Confirm, o.Warmup, o.Recover = liveInterval, 750*time.Millisecond, 1500*time.Millisecond, 3*time.Second, time.Second, 5*time.Second
	o.Cores, o.MaxVUs = runtime.GOMAXPROCS(0), maxVUs
	name := strings.Join(paths, " then ")
	began := time.Now()
	o.Progress = func(s capacity.Step, left time.Duration) {
		t.Logf("%s: %s  ~%v left (%.1fs)", name, capacity.StepLine(s), left.Round(time.Second), time.Since(began).Seconds())
	}
	res, err := capacity.Search(ctx, sess, o)
	sess.Stop(nil)
	if _, werr := sess.Wait(); werr != nil {
		t.Errorf("run: %v", werr)
	}
	if err != nil {
		return nil, err
	}
	t.Logf("%s: max rate %.1f, knee %.1f, plateau %.1f/s (%.1f requests/s), %s, %s: %s (%v)", name, res.MaxRate, res.KneeRate, res.PlateauIPS, res.PlateauRPS, stepBudget(res), res.Bottleneck.Kind, res.Bottleneck.Evidence, time.Since(began).Round(time.Second))
	return res, nil
}

// twice runs a live search and its checks, and once more if the checks
// failed: a capacity measured on a shared 2-core machine can be cut by a
// stall of a few hundred ms near capacity. Both attempts are logged; the
// second's problems fail the test — unless Surge found, both times, that
// other processes held its cores (its threads' OS-level CPU wait): then the
// machine was too busy for the search to judge the target, Surge said so,
// as it must, and the test is skipped naming that evidence rather than
// failed for a cause it cannot measure.
func twice(t *testing.T, search func() *capacity.Result, check func(*capacity.Result) []string) {
	t.Helper()
	contended := 0
	for attempt := 1; ; attempt++ {
		res := search()
		problems := check(res)
		if len(problems) == 0 {
			return
		}
		if res.Bottleneck.Kind == capacity.KindGenerator && strings.Contains(res.Bottleneck.Evidence, othersHeldItsCores) {
			contended++
		}
		if attempt == 2 {
			if contended == 2 {
				t.Skipf("the machine was too busy to judge the target: both searches found Surge's threads waiting for CPUs other processes held (%s)", res.Bottleneck.Evidence)
			}
			for _, p := range problems {
				t.Error(p)
			}
			return
		}
		t.Logf("attempt 1: %s; searching once more", strings.Join(problems, "; "))
	}
}

// othersHeldItsCores is in a generator bottleneck's evidence when Surge's
// threads waited for CPUs the OS gave to other processes (judge.go).
const othersHeldItsCores = "other processes held its cores"

// TestLiveOnSleepingTargets runs the searches of targets that sleep
// (worker pools, a DB pool, a VU cap, the health probe, the flow of two
// steps) all at once, each a subtest with its own testbed on a port of its
// own: a worker that sleeps costs no CPU, the generators of all of them
// together use a fraction of one core at these rates (≤ 250 requests/s
// each), far from the 90 % of the cores that makes a step
// generator-limited, and their objectives (p99<1s, p99<250ms) are far above
// a busy machine's few ms of timer overshoot. Run one with
// -run 'TestLiveOnSleepingTargets/HealthProbe'. The tests that need the
// CPU to themselves are TestSolo… tests behind the solo build tag (a
// one-core target, a one-core generator, a shaped link), run alone by
// .ci/run; TestLiveBackgroundWorkAfterTheAnswer (its worker spins) is a
// top-level test of its own, never beside this group.
func TestLiveOnSleepingTargets(t *testing.T) {
	skipShort(t)
	concurrently(t, map[string]func(*testing.T){
		"WorkerPools":                        liveWorkerPools,
		"DBPoolWithAWaitTimeout":             liveDBPoolWithAWaitTimeout,
		"TinyVUCapIsTheGenerator":            liveTinyVUCapIsTheGenerator,
		"HealthProbeStarvesUnderLoad":        liveHealthProbeStarvesUnderLoad,
		"AFlowOfTwoStepsFindsTheOneStepRate": liveAFlowOfTwoStepsFindsTheOneStepRate,
	})
}

// concurrently runs each of subtests as a subtest of t, all at once, each
// from a goroutine of its own (t.Run may be called from several), and
// returns when all have ended. Not t.Parallel: parallel tests run
// -parallel at a time, GOMAXPROCS by default, two on a 2-core machine,
// and these live searches mostly wait. The subtests start in name order.
func concurrently(t *testing.T, subtests map[string]func(*testing.T)) {
	t.Helper()
	names := make([]string, 0, len(subtests))
	for name := range subtests {
		names = append(names, name)
	}
	sort.Strings(names)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, subtests[name])
		}()
	}
	wg.Wait()
}

func liveWorkerPools(t *testing.T) {
	cases := map[string]func(*testing.T){}
	for _, tc := range []struct {
		name     string
		tb       testbed.Options
		capacity float64
		pool     float64
	}{
		// The seeds' single sync worker: 1/40ms = 25/s. Service times of
		// tens of ms keep a busy machine's timer overshoot (1–2 ms) small
		// beside them.
		{"one sync worker of 40ms", testbed.Options{Workers: 1, WorkTime: 40 * time.Millisecond}, 25, 1},
		// W workers of S: W/S = 4/40ms = 100/s.
		{"4 workers of 40ms", testbed.Options{Workers: 4, WorkTime: 40 * time.Millisecond}, 100, 4},
	} {
		cases[tc.name] = func(t *testing.T) {
			start, growth := nearCapacity(tc.capacity)
			// p99<1s: near capacity a busy machine's stalls make queues that
			// take seconds to drain; a rate above capacity still fails, as
			// its queue grows for the whole step.
			twice(t, func() *capacity.Result {
				return liveSearch(t, tc.tb, "/work", 0, capacity.Options{SLO: slo(t, "p99<1s", "errors<1%"), Start: start, Growth: growth, Max: 20 * tc.capacity})
			}, func(res *capacity.Result) (problems []string) {
				if math.Abs(res.MaxRate-tc.capacity) > 0.10*tc.capacity {
					problems = append(problems, fmt.Sprintf("max rate %.1f; want %.0f ± 10%%", res.MaxRate, tc.capacity))
				}
				b := res.Bottleneck
				switch {
				case b.Kind != capacity.KindConcurrency || b.Concurrency == nil:
					problems = append(problems, fmt.Sprintf("bottleneck %s (%s); want concurrency with a Little's-law estimate", b.Kind, b.Evidence))
				case math.Abs(*b.Concurrency-tc.pool) > 1:
					problems = append(problems, fmt.Sprintf("concurrency %.2f; want %.0f ± 1", *b.Concurrency, tc.pool))
				}
				return problems
			})
		}
	}
	concurrently(t, cases)
}

// A DB pool of 4 × 40ms (100/s) whose waiters give up after 250ms: past
// capacity the queue cannot pass 250ms, so latency stays under the
// objective and the overflow is answered 500 — the bottleneck is errors.
// The growth step past capacity, 126/s, is the most overloaded one: a
// fifth of its requests over what the pool serves, they time out (≈ 6–25 %
// errors) while its p99 stays near the 250 ms wait.
func liveDBPoolWithAWaitTimeout(t *testing.T) {
	start, growth := nearCapacity(100)
	twice(t, func() *capacity.Result {
		return liveSearch(t, testbed.Options{DBConns: 4, DBTime: 40 * time.Millisecond, DBWaitTimeout: 250 * time.Millisecond}, "/db", 0,
			capacity.Options{SLO: slo(t, "p99<1s", "errors<1%"), Start: start, Growth: growth, Max: 2000})
	}, func(res *capacity.Result) (problems []string) {
		if math.Abs(res.MaxRate-100) > 10 {
			problems = append(problems, fmt.Sprintf("max rate %.1f; want 100 ± 10%%", res.MaxRate))
		}
		b := res.Bottleneck
		if b.Kind != capacity.KindErrors || !strings.Contains(b.Evidence, "status_5xx") {
			problems = append(problems, fmt.Sprintf("bottleneck %s (%s); want errors, of class status_5xx", b.Kind, b.Evidence))
		}
		if b.Concurrency == nil || math.Abs(*b.Concurrency-4) > 1 {
			problems = append(problems, fmt.Sprintf("concurrency %v; want the pool of 4 ± 1", b.Concurrency))
		}
		return problems
	})
}

// Two VUs carry at most 2/20ms = 100/s to a target that could take far
// more: the search must say generator, with a lower bound. Every step past
// the VU cap (~97/s: 20 ms and the round trip) is generator-limited, so
// the search holds it twice; steps of 60, 120 (twice), 90, 105 (twice) and
// the confirmation at 90/s keep every bisection point away from the cap,
// where a step passes or not by chance: started at 70/s with growth 1.8,
// the midpoint was 98/s, which passed, and its confirmation failed three
// times (64 s). A precision of 20 % stops there; the checks are of the
// verdict and of a max rate no higher than 2 VUs carry, and a passing step
// is one the VUs carried, at any precision.
func liveTinyVUCapIsTheGenerator(t *testing.T) {
	res := liveSearch(t, testbed.Options{Workers: 1000}, "/delay?ms=20", 2,
		capacity.Options{SLO: slo(t, "p99<250ms"), Start: 60, Growth: 2, Precision: 0.2, Max: 800})
	if res.Bottleneck.Kind != capacity.KindGenerator || !res.LowerBound {
		t.Fatalf("bottleneck %s, lower bound %v (%s); want generator, a lower bound", res.Bottleneck.Kind, res.LowerBound, res.Bottleneck.Evidence)
	}
	if !strings.Contains(res.Bottleneck.Evidence, "--max-vus") {
		t.Errorf("evidence without the fix (--max-vus): %s", res.Bottleneck.Evidence)
	}
	if res.MaxRate > 110 {
		t.Errorf("max rate %.1f; want at most what 2 VUs carry (~100/s)", res.MaxRate)
	}
}

// The testbed's /health waits for the same single worker as /work (40 ms):
// past the worker's 25/s the health check queues behind the load, so its
// latency, sampled at 2/s off the load, starves at the bounding step while
// it answered at once at the baseline.
func liveHealthProbeStarvesUnderLoad(t *testing.T) {
	// The baseline is the probe's idle latency, so the search starts at a
	// fifth of the worker's 25/s, where a probe seldom finds the worker
	// busy (at 70 % of it, one in three 40 ms waits would be the
	// baseline); growth 2.5 reaches 31/s, past capacity, on its third
	// step: 5, 12.5, 31.25, then five bisections.
	res := liveSearch(t, testbed.Options{Workers: 1, WorkTime: 40 * time.Millisecond}, "/work", 0,
		capacity.Options{SLO: slo(t, "p99<1s", "errors<1%"), Start: 5, Growth: 2.5, Max: 400, Probe: "/health"})
	if res.Probe == "" || !strings.HasSuffix(res.Probe, "/health") {
		t.Errorf("result probe %q", res.Probe)
	}
	var base, worst *capacity.Step
	for i := range res.Steps {
		s := &res.Steps[i]
		if s.ProbeN == nil || s.ProbeErrors == nil {
			t.Fatalf("step at %.1f/s has no probe figures", s.Rate)
		}
		if s.ProbeP99 == nil {
			continue // no probe answered in the window
		}
		if base == nil || s.Rate < base.Rate {
			base = s
		}
		if worst == nil || *s.ProbeP99 > *worst.ProbeP99 {
			worst = s
		}
	}
	if base == nil || worst == nil {
		t.Fatal("no step was probed")
	}
	if *base.ProbeP99 > 100 {
		t.Errorf("at the start rate %.1f/s the probe's p99 is %.1f ms; want it near the worker's 40 ms", base.Rate, *base.ProbeP99)
	}
	if *worst.ProbeP99 < 4**base.ProbeP99 || worst.OK {
		t.Errorf("the worst probe p99 %.1f ms at %.1f/s (ok %v); want a failing step where the probe starved, ≥ 4× the baseline's %.1f ms", *worst.ProbeP99, worst.Rate, worst.OK, *base.ProbeP99)
	}
	if res.ProbeStarved == "" || !strings.Contains(res.Bottleneck.Evidence, "health probe starved") {
		t.Errorf("probe_starved %q, evidence %q; want the starving health check named", res.ProbeStarved, res.Bottleneck.Evidence)
	}
	if line := capacity.StepLine(*worst); !strings.Contains(line, "probe p50") && !strings.Contains(line, "probe all") {
		t.Errorf("step line without the probe: %s", line)
	}
}

// One worker that answers in 5 ms and then spins 15 ms more on the same
// worker (background jobs starving requests): 1/(5+15) ms = 50/s, while
// each answer takes only ~5 ms — by Little's law under one request in
// service, so the search says the server is busy with work its responses
// do not show, not "a pool of ~0". Not among TestLiveOnSleepingTargets:
// the spinning worker takes most of a core near capacity. Its baseline, at 35/s, is a request
// every 29 ms on a worker held 20 ms: no queue, each answer its 5 ms.
//
// The testbed runs in this process, so it needs two Ps: with one
// (GOMAXPROCS=1, a process held to one core) the spinning worker holds the
// P the generator reads responses on, each answer is read only when the
// spin ends or the runtime preempts it (after 10 ms; measured: p50 20 ms
// at 35/s), and the premise — answers in 5 ms — is gone. A real
// target is another process, which the OS preempts within a millisecond.
func TestLiveBackgroundWorkAfterTheAnswer(t *testing.T) {
	skipShort(t)
	if n := runtime.GOMAXPROCS(0); n < 2 {
		t.Skipf("GOMAXPROCS=%d: the in-process testbed's spinning worker would hold the P its answers are read on", n)
	}
	start, growth := nearCapacity(50)
	twice(t, func() *capacity.Result {
		return liveSearch(t, testbed.Options{Workers: 1, WorkTime: 5 * time.Millisecond, BackgroundCPU: 15 * time.Millisecond}, "/work", 0,
			capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Start: start, Growth: growth, Max: 400})
	}, func(res *capacity.Result) (problems []string) {
		if math.Abs(res.MaxRate-50) > 5 {
			problems = append(problems, fmt.Sprintf("max rate %.1f; want 50 ± 10%%", res.MaxRate))
		}
		b := res.Bottleneck
		if b.Kind != capacity.KindUnknown || !strings.Contains(b.Evidence, "work its responses do not show") || b.Concurrency == nil || *b.Concurrency >= 0.75 {
			problems = append(problems, fmt.Sprintf("bottleneck %s (%s); want unknown: under one request in service, work the responses do not show", b.Kind, b.Evidence))
		}
		return problems
	})
}

// A flow of two requests an iteration, the first to 4 workers of 40 ms
// (100/s), the second to an endpoint that holds no worker: the bottleneck
// is the same as the one-step flow's, so is the rate in iterations/s —
// 100/s while 200 requests/s complete. The search holds iterations/s
// against iterations/s, so it finds the one-step flow's max rate within
// the precision, and Little's law on iterations (an iteration holds the
// service for its two requests' times) counts the 4 workers. The two
// searches run at once, each on a testbed of its own, with the same steps.
func liveAFlowOfTwoStepsFindsTheOneStepRate(t *testing.T) {
	const capa, pool = 100, 4
	tbo := testbed.Options{Workers: pool, WorkTime: 40 * time.Millisecond}
	start, growth := nearCapacity(capa)
	o := capacity.Options{SLO: slo(t, "p99<1s", "errors<1%"), Start: start, Growth: growth, Max: 20 * capa}
	var one *capacity.Result
	twice(t, func() *capacity.Result {
		var oneErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			one, oneErr = searchTestbed(t, tbo, []string{"/work"}, 0, o)
		}()
		two, err := searchTestbed(t, tbo, []string{"/work", "/hello"}, 0, o)
		<-done
		if oneErr != nil || err != nil {
			t.Fatalf("one step: %v; two steps: %v", oneErr, err)
		}
		return two
	}, func(two *capacity.Result) (problems []string) {
		for _, r := range []struct {
			name string
			res  *capacity.Result
		}{{"one step", one}, {"two steps", two}} {
			if math.Abs(r.res.MaxRate-capa) > 0.10*capa {
				problems = append(problems, fmt.Sprintf("%s: max rate %.1f; want %d ± 10%%", r.name, r.res.MaxRate, capa))
			}
		}
		// Adjacent bisection points are a precision apart.
		if d := math.Abs(two.MaxRate - one.MaxRate); d > two.Precision*math.Max(one.MaxRate, two.MaxRate)+0.01 {
			problems = append(problems, fmt.Sprintf("two steps: max rate %.1f, one step: %.1f; want them within the precision (%.0f%%)", two.MaxRate, one.MaxRate, 100*two.Precision))
		}
		if two.RequestsPerIteration < 1.95 || two.RequestsPerIteration > 2.05 {
			problems = append(problems, fmt.Sprintf("two steps: %.2f requests per iteration; want 2", two.RequestsPerIteration))
		}
		if two.PlateauRPS < 1.9*two.PlateauIPS {
			problems = append(problems, fmt.Sprintf("two steps: plateau %.1f iterations/s, %.1f requests/s; want twice as many requests", two.PlateauIPS, two.PlateauRPS))
		}
		b := two.Bottleneck
		switch {
		case b.Kind != capacity.KindConcurrency || b.Concurrency == nil:
			problems = append(problems, fmt.Sprintf("two steps: bottleneck %s (%s); want concurrency with a Little's-law estimate", b.Kind, b.Evidence))
		case math.Abs(*b.Concurrency-pool) > 1 || !strings.Contains(b.Evidence, "Little's law on iterations"):
			problems = append(problems, fmt.Sprintf("two steps: concurrency %.2f (%s); want %d ± 1, by Little's law on iterations", *b.Concurrency, b.Evidence, pool))
		}
		return problems
	})
}

// stepBudget says what a search's time went to: its steps, their judged
// windows and the recoveries between them, for the test's log.
func stepBudget(res *capacity.Result) string {
	var win, rec float64
	for _, s := range res.Steps {
		win += s.WindowS
		rec += s.RecoveryS
	}
	return fmt.Sprintf("%d steps (%.1fs of windows, %.1fs of recovery)", len(res.Steps), win, rec)
}
