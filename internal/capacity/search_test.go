package capacity_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite golden files")

func slo(t testing.TB, exprs ...string) []metrics.Threshold {
	t.Helper()
	var out []metrics.Threshold
	for _, e := range exprs {
		th, err := metrics.ParseThreshold(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, th)
	}
	return out
}

// search runs a search over a fake session of m.
func search(t *testing.T, m model, o capacity.Options) (*capacity.Result, *fakeSession) {
	t.Helper()
	clock := newClock()
	f := newFake(m, clock, time.Second)
	o.Clock = clock
	if o.Cores == 0 {
		o.Cores = m.Cores
	}
	res, err := capacity.Search(context.Background(), f, o)
	if err != nil {
		t.Fatal(err)
	}
	return res, f
}

func within(got, want, frac float64) bool { return math.Abs(got-want) <= frac*want }

// Requests per iteration come from the flows, which count an iteration's
// requests when it ends: a window whose last iteration ended in the next
// interval has more requests than twice its iterations, yet a flow of two
// requests sends two an iteration. Without flows, the window's totals
// stand in.
func TestRequestsPerIterationAreTheFlowsWhenItHasThem(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    model
		want float64
	}{
		{"flows", model{Workers: 1, Service: 10 * time.Millisecond, PerIter: 2, Straddle: true}, 2},
		{"totals", model{Workers: 1, Service: 10 * time.Millisecond, PerIter: 2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := search(t, tc.m, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Max: 5000})
			if res.RequestsPerIteration != tc.want {
				t.Errorf("requests per iteration %v; want %v", res.RequestsPerIteration, tc.want)
			}
		})
	}
}

// A pool of W workers of S each takes W/S requests/s: W/(S×k)
// iterations/s of a flow of k requests. The rates, achieved figures and
// plateau are iterations/s, and Little's law on iterations (k requests of
// S each) counts the W requests in service.
func TestSearchFindsAWorkerPool(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		service time.Duration
		perIter int
	}{
		{"one worker of 25ms", 1, 25 * time.Millisecond, 1},
		{"4 workers of 20ms", 4, 20 * time.Millisecond, 1},
		{"16 workers of 40ms", 16, 40 * time.Millisecond, 1},
		{"4 workers of 20ms, 3 requests an iteration", 4, 20 * time.Millisecond, 3},
		{"1 worker of 10ms, 2 requests an iteration", 1, 10 * time.Millisecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			per := float64(tc.perIter)
			capa := float64(tc.workers) / tc.service.Seconds() / per
			res, _ := search(t, model{Workers: tc.workers, Service: tc.service, PerIter: tc.perIter},
				capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Max: 5000})
			if !within(res.MaxRate, capa, 0.10) || res.MaxRate > capa*1.06 {
				t.Errorf("max rate %v; want within 10%% of %v (and not past it)", res.MaxRate, capa)
			}
			if !res.Confirmed || res.StartMissed || res.LowerBound {
				t.Errorf("confirmed %v, start missed %v, lower bound %v; want true, false, false", res.Confirmed, res.StartMissed, res.LowerBound)
			}
			b := res.Bottleneck
			if b.Kind != capacity.KindConcurrency || b.Concurrency == nil {
				t.Fatalf("bottleneck %s (%s); want concurrency with an estimate", b.Kind, b.Evidence)
			}
			if math.Abs(*b.Concurrency-float64(tc.workers)) > 1 {
				t.Errorf("concurrency %v; want %d ± 1 (%s)", *b.Concurrency, tc.workers, b.Evidence)
			}
			law := "Little's law on requests"
			if tc.perIter > 1 {
				law = "Little's law on iterations"
			}
			if !strings.Contains(b.Evidence, law) || !strings.Contains(b.Evidence, "no monitor given") {
				t.Errorf("evidence does not say how it knows (%s): %s", law, b.Evidence)
			}
			if want := per * 1.05 * tc.service.Seconds() * 1000; b.ServiceMS == nil || math.Abs(*b.ServiceMS-want) > 0.1*want {
				t.Errorf("service %v ms; want an iteration's %v × %v (+5 %% of the model's spread)", b.ServiceMS, per, tc.service)
			}
			if res.KneeRate <= 0 || res.KneeRate > res.MaxRate {
				t.Errorf("knee %v; want in (0, max rate %v]", res.KneeRate, res.MaxRate)
			}
			if !within(res.PlateauIPS, capa, 0.05) || !within(res.PlateauRPS, capa*per, 0.05) {
				t.Errorf("plateau %v iterations/s, %v requests/s; want about %v and %v", res.PlateauIPS, res.PlateauRPS, capa, capa*per)
			}
			if res.RequestsPerIteration != per {
				t.Errorf("requests per iteration %v; want %v", res.RequestsPerIteration, per)
			}
			for _, s := range res.Steps {
				if s.OK && (!within(s.AchievedIPS, s.Rate, 0.05) || !within(s.AchievedRPS, s.Rate*per, 0.05)) {
					t.Errorf("passing step at %v/s achieved %v iterations/s, %v requests/s; want the rate, and %v× it", s.Rate, s.AchievedIPS, s.AchievedRPS, per)
				}
			}
			// Phases in order: growth, bisection, one confirmation at max rate.
			last := res.Steps[len(res.Steps)-1]
			if last.Phase != capacity.PhaseConfirm || last.Rate != res.MaxRate || !last.OK {
				t.Errorf("last step %+v; want a passing confirmation at the max rate", last)
			}
			seen := map[string]bool{}
			for _, s := range res.Steps {
				seen[s.Phase] = true
			}
			if !seen[capacity.PhaseGrow] || !seen[capacity.PhaseBisect] {
				t.Errorf("phases %v; want grow and bisect", seen)
			}
		})
	}
}

// The bisection ends within the precision: the last passing rate and the
// lowest failing one above it are within 5 % of each other.
func TestSearchBisectsToThePrecision(t *testing.T) {
	for _, prec := range []float64{0.05, 0.02} {
		res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<250ms"), Precision: prec})
		fail := math.Inf(1)
		for _, s := range res.Steps {
			if !s.OK && s.Rate > res.MaxRate {
				fail = math.Min(fail, s.Rate)
			}
		}
		if gap := (fail - res.MaxRate) / res.MaxRate; gap > prec+1e-3 {
			t.Errorf("precision %v: max rate %v, lowest failing rate %v: gap %.3f", prec, res.MaxRate, fail, gap)
		}
	}
}

func TestSearchNamesErrorsOfAPoolWithAWaitTimeout(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond, WaitTimeout: 100 * time.Millisecond},
		capacity.Options{SLO: slo(t, "p99<500ms", "errors<1%")})
	if !within(res.MaxRate, 200, 0.10) {
		t.Errorf("max rate %v; want 200 ± 10%%", res.MaxRate)
	}
	b := res.Bottleneck
	if b.Kind != capacity.KindErrors {
		t.Fatalf("bottleneck %s (%s); want errors", b.Kind, b.Evidence)
	}
	for _, want := range []string{"status_5xx", "DB connection timeout", "errors<1%"} {
		if !strings.Contains(b.Evidence, want) {
			t.Errorf("evidence lacks %q: %s", want, b.Evidence)
		}
	}
	if b.Concurrency == nil || math.Abs(*b.Concurrency-4) > 1 {
		t.Errorf("concurrency %v; want the pool of 4 ± 1", b.Concurrency)
	}
}

// Just past capacity a pool with a long wait timeout fails on its
// climbing queue before any waiter gives up; far past it, the queue is
// capped and the excess is answered 500 at a bounded latency. How it
// breaks is errors, even though latency failed the bounding step.
func TestSearchNamesErrorsShownByTheDeepestOverload(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond, WaitTimeout: 800 * time.Millisecond},
		capacity.Options{SLO: slo(t, "p99<2s", "errors<1%")})
	b := res.Bottleneck
	if b.Kind != capacity.KindErrors || !strings.Contains(b.Evidence, "while p99 stayed at") {
		t.Errorf("bottleneck %s (%s); want errors, shown by the deepest overload", b.Kind, b.Evidence)
	}
	if !within(res.MaxRate, 200, 0.10) {
		t.Errorf("max rate %v; want 200 ± 10%%", res.MaxRate)
	}
}

func TestSearchNamesTheCPUAMonitorShowsAtItsLimit(t *testing.T) {
	clock := newClock()
	f := monitored{newFake(model{Workers: 1, Service: 10 * time.Millisecond, CPUMonitor: true}, clock, time.Second)}
	res, err := capacity.Search(context.Background(), f, capacity.Options{SLO: slo(t, "p99<250ms"), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bottleneck
	if b.Kind != capacity.KindCPU || !strings.Contains(b.Evidence, `process_cpu_percent_of_limit{name="api",pid="812"}`) || !strings.Contains(b.Evidence, "monitor api") {
		t.Errorf("bottleneck %s (%s); want cpu, naming the monitor and its series", b.Kind, b.Evidence)
	}
	// Without the monitor the same target is a pool of one, said to be
	// unchecked for CPU.
	plain, _ := search(t, model{Workers: 1, Service: 10 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<250ms")})
	if plain.Bottleneck.Kind != capacity.KindConcurrency {
		t.Errorf("without a monitor: %s (%s); want concurrency", plain.Bottleneck.Kind, plain.Bottleneck.Evidence)
	}
}

func TestSearchNeverNamesTheGeneratorsLimitAsTheTargets(t *testing.T) {
	res, _ := search(t, model{Workers: 64, Service: 10 * time.Millisecond, GenRate: 300, Cores: 1},
		capacity.Options{SLO: slo(t, "p99<250ms"), Max: 5000})
	if res.Bottleneck.Kind != capacity.KindGenerator || !res.LowerBound {
		t.Fatalf("bottleneck %s, lower bound %v (%s); want generator, a lower bound", res.Bottleneck.Kind, res.LowerBound, res.Bottleneck.Evidence)
	}
	if res.MaxRate > 315 || res.MaxRate == 0 { // 5 %: achieved within 5 % of offered passes
		t.Errorf("max rate %v; want at most what the generator could offer (300)", res.MaxRate)
	}
	if !strings.Contains(res.Bottleneck.Evidence, "--agents") {
		t.Errorf("evidence without the fix: %s", res.Bottleneck.Evidence)
	}
	// A limited step is held once more at the same rate before it counts.
	for i, s := range res.Steps {
		if !s.GeneratorLimited {
			continue
		}
		again := i+1 < len(res.Steps) && res.Steps[i+1].Rate == s.Rate
		once := i > 0 && res.Steps[i-1].Rate == s.Rate && res.Steps[i-1].GeneratorLimited
		if !again && !once {
			t.Errorf("step %d at %v/s was limited and not held again", i, s.Rate)
		}
	}
}

// A full VU pool is the generator's fault only when the cap is below what
// the rate needs at the unloaded latency.
func TestSearchBlamesATinyVUCap(t *testing.T) {
	// 2 VUs carry at most 2/20ms = 100/s.
	res, _ := search(t, model{Workers: 1000, Service: 20 * time.Millisecond, VUCap: 2},
		capacity.Options{SLO: slo(t, "p99<250ms"), MaxVUs: 2, Max: 400})
	if res.Bottleneck.Kind != capacity.KindGenerator {
		t.Fatalf("bottleneck %s (%s); want generator", res.Bottleneck.Kind, res.Bottleneck.Evidence)
	}
	if res.MaxRate > 105 || !res.LowerBound { // 5 %: the precision, and achieved within 5 % of offered passes
		t.Errorf("max rate %v, lower bound %v; want at most the 100/s two VUs carry, a lower bound", res.MaxRate, res.LowerBound)
	}
	if !strings.Contains(res.Bottleneck.Evidence, "VU cap (2)") {
		t.Errorf("evidence does not name the VU cap: %s", res.Bottleneck.Evidence)
	}
}

func TestSearchStartRateMisses(t *testing.T) {
	res, _ := search(t, model{Workers: 1, Service: 200 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<250ms"), Start: 20})
	if !res.StartMissed || res.MaxRate != 0 || res.Confirmed {
		t.Errorf("start missed %v, max rate %v, confirmed %v; want true, 0, false", res.StartMissed, res.MaxRate, res.Confirmed)
	}
	if len(res.Steps) != 1 {
		t.Errorf("%d steps; want the one start step", len(res.Steps))
	}
}

func TestSearchReachesMax(t *testing.T) {
	res, _ := search(t, model{Workers: 100, Service: 10 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<250ms"), Max: 300})
	if res.MaxRate != 300 || !res.LowerBound || res.Bottleneck.Kind != capacity.KindUnknown {
		t.Errorf("max rate %v, lower bound %v, bottleneck %s; want 300, true, unknown", res.MaxRate, res.LowerBound, res.Bottleneck.Kind)
	}
	if !strings.Contains(res.Bottleneck.Evidence, "raise --max") {
		t.Errorf("evidence: %s", res.Bottleneck.Evidence)
	}
}

// A step far over capacity stops before its window is complete, and the
// next step starts only after the target has recovered at the start rate.
func TestSearchStopsClearFailuresEarlyAndRecovers(t *testing.T) {
	o := capacity.Options{SLO: slo(t, "p99<100ms"), Start: 50, Growth: 8, Window: 6 * time.Second}
	res, f := search(t, model{Workers: 2, Service: 20 * time.Millisecond}, o)
	var failed *capacity.Step
	for i, s := range res.Steps {
		if s.Rate == 400 {
			failed = &res.Steps[i]
		}
	}
	if failed == nil || failed.OK || !failed.Early || failed.WindowS >= 6 {
		t.Fatalf("step at 400/s (4× capacity): %+v; want failed early, judged on less than its 6s window", failed)
	}
	if failed.RecoveryS <= 0 || failed.RecoveryS > capacity.DefaultRecover.Seconds() {
		t.Errorf("recovery after it took %vs; want some, at most the bound", failed.RecoveryS)
	}
	rates := f.rates()
	for i, r := range rates {
		if r == 400 && (i+1 >= len(rates) || rates[i+1] != 50) {
			t.Errorf("rates %v: want the start rate (50) right after 400", rates)
		}
	}
}

// Just above capacity the queue grows slowly: the window's p99 passes,
// but it climbs, so the step is held longer and fails.
func TestSearchFailsARateWhoseLatencyStillRises(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<1s"), Start: 205, Max: 205})
	s := res.Steps[0]
	if s.OK || s.Steady || !strings.Contains(s.Reason, "still rising") {
		t.Errorf("step at 205/s over a capacity of 200/s: ok %v steady %v reason %q; want a failure for rising latency", s.OK, s.Steady, s.Reason)
	}
}

func TestSearchReportsProgress(t *testing.T) {
	var lefts []time.Duration
	var phases []string
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<250ms"),
		Progress: func(s capacity.Step, left time.Duration) {
			lefts, phases = append(lefts, left), append(phases, s.Phase)
		}})
	if len(lefts) != len(res.Steps) {
		t.Fatalf("%d progress calls for %d steps", len(lefts), len(res.Steps))
	}
	if lefts[len(lefts)-1] != 0 || phases[len(phases)-1] != capacity.PhaseConfirm {
		t.Errorf("last progress: %v left after %s; want 0 after the confirmation", lefts[len(lefts)-1], phases[len(phases)-1])
	}
	for i, l := range lefts[:len(lefts)-1] {
		if l <= 0 {
			t.Errorf("progress %d (%s): %v left; want an estimate > 0", i, phases[i], l)
		}
	}
	// With the defaults a step is 2s + 4s + a 1s poll, the tail 2s + 8s:
	// after 10/s passes, one more growth step and the bisection of [10, 20]
	// to 5 % (5 steps) are left: 6 × 7s + 10s; after 320/s fails, the
	// bisection of [160, 320] (5 steps): 45s; after 240/s fails, of
	// [160, 240] (4 steps): 38s.
	for _, w := range []struct {
		i    int
		want time.Duration
	}{{0, 52 * time.Second}, {5, 45 * time.Second}, {6, 38 * time.Second}} {
		if w.i < len(lefts) && lefts[w.i] != w.want {
			t.Errorf("after step %d (%s at %v/s): %v left; want %v", w.i, phases[w.i], res.Steps[w.i].Rate, lefts[w.i], w.want)
		}
	}
}

func TestSearchRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    capacity.Options
		want string
	}{
		{"no objective", capacity.Options{}, "no objective"},
		{"max below start", capacity.Options{SLO: slo(t, "p99<1s"), Start: 100, Max: 50}, "max rate 50"},
		{"growth 1", capacity.Options{SLO: slo(t, "p99<1s"), Growth: 1}, "growth 1"},
		{"precision 1", capacity.Options{SLO: slo(t, "p99<1s"), Precision: 1}, "precision 1"},
		{"monitor objective", capacity.Options{SLO: slo(t, "monitor[api].process_cpu<80%")}, "monitor thresholds are not objectives"},
		{"window of one interval", capacity.Options{SLO: slo(t, "p99<1s"), Window: time.Second}, "window 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := capacity.Search(context.Background(), newFake(model{Workers: 1, Service: time.Millisecond}, newClock(), time.Second), tc.o)
			if !errors.Is(err, capacity.ErrOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v; want ErrOptions saying %q", err, tc.want)
			}
		})
	}
}

func TestSearchReturnsWhatItHasWhenCancelled(t *testing.T) {
	clock := newClock()
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped by the test")
	f := newFake(model{Workers: 4, Service: 20 * time.Millisecond}, clock, time.Second)
	steps := 0
	res, err := capacity.Search(ctx, f, capacity.Options{SLO: slo(t, "p99<250ms"), Clock: clock,
		Progress: func(capacity.Step, time.Duration) {
			if steps++; steps == 2 {
				cancel(stop)
			}
		}})
	if !errors.Is(err, stop) || res == nil || len(res.Steps) != 2 {
		t.Fatalf("err %v, result %v; want the cause and the two steps so far", err, res)
	}
}

// A stop before the first step (during the warm-up: Ctrl-C, or the
// server's stop) gives an empty result that says so; it once indexed the
// last step of none and panicked, which on the server is the process.
func TestSearchCancelledBeforeAnyStep(t *testing.T) {
	clock := newClock()
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped by the test")
	cancel(stop)
	f := newFake(model{Workers: 4, Service: 20 * time.Millisecond}, clock, time.Second)
	res, err := capacity.Search(ctx, f, capacity.Options{SLO: slo(t, "p99<250ms"), Clock: clock})
	if !errors.Is(err, stop) || res == nil {
		t.Fatalf("err %v, result %v; want the cause and a result", err, res)
	}
	if len(res.Steps) != 0 || res.MaxRate != 0 || res.Bottleneck.Kind != capacity.KindUnknown || res.Bottleneck.Evidence == "" {
		t.Errorf("result %+v; want no steps, no rate, an unknown bottleneck that says why", res)
	}
}

func golden(t *testing.T, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", t.Name()+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update and review the diff):\n%s", path, got)
	}
}

func TestResultJSON(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Target: "http://127.0.0.1:8080/work"})
	var b bytes.Buffer
	if err := capacity.WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	golden(t, b.Bytes())
}

func TestResultText(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond, WaitTimeout: 100 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<500ms", "errors<1%"), Target: "http://127.0.0.1:8080/db"})
	var b bytes.Buffer
	if err := capacity.WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	golden(t, b.Bytes())
}

// A flow of three requests: the step lines, the curve and the plateau
// hold achieved iterations/s against the offered ones, with the requests/s
// beside them, and Little's law is on iterations.
func TestResultTextOfAFlowOfThreeRequests(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond, PerIter: 3}, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Target: "orders"})
	var b bytes.Buffer
	if err := capacity.WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	golden(t, b.Bytes())
}

// Fewer iterations finished than fell due: a queue grows, whatever the
// percentiles of the window say yet.
func TestSearchFailsARateWhoseRequestsPileUp(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<5s"), Start: 240, Max: 240})
	s := res.Steps[0]
	if s.OK || !strings.Contains(s.Reason, "iterations pile up") {
		t.Errorf("step at 240/s over a capacity of 200/s: ok %v reason %q; want a failure for iterations piling up", s.OK, s.Reason)
	}
	// At capacity, as many complete as fall due.
	res, _ = search(t, model{Workers: 4, Service: 20 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<5s"), Start: 200, Max: 200})
	if s := res.Steps[0]; !s.OK {
		t.Errorf("step at capacity: %+v; want a pass", s)
	}
}

// One worker that answers in 2 ms and then works 18 ms more: throughput is
// flat at 50/s although under one request is ever in service as the
// client sees it. That is not a pool of 0: the search says it cannot name
// the resource, and what it saw.
func TestSearchSaysWhenWorkHidesAfterTheResponse(t *testing.T) {
	res, _ := search(t, model{Workers: 1, Service: 2 * time.Millisecond, Hidden: 18 * time.Millisecond}, capacity.Options{SLO: slo(t, "p99<250ms")})
	b := res.Bottleneck
	if b.Kind != capacity.KindUnknown || !strings.Contains(b.Evidence, "work its responses do not show") || !strings.Contains(b.Evidence, "--monitor") {
		t.Errorf("bottleneck %s (%s); want unknown, saying work hides after the response", b.Kind, b.Evidence)
	}
	if !within(res.MaxRate, 50, 0.10) {
		t.Errorf("max rate %v; want 50 ± 10%%", res.MaxRate)
	}
}

// Each of the generator's limits is a reason of its own: late starts (only
// when they explain the latency), drops with VUs free, its CPU busy, and
// a full VU pool below what the rate needs.
func TestSearchGivesEachGeneratorReason(t *testing.T) {
	reasons := map[string]string{
		"lag":  "iterations started late",
		"drop": "dropped with VUs free",
		"cpu":  "generator CPU ≥ 90% of its 1 cores",
		"vus":  "the VU cap (2) was reached",
	}
	for _, tc := range []struct {
		name string
		m    model
		o    capacity.Options
		want []string
	}{
		{"late starts", model{Workers: 64, Service: 10 * time.Millisecond, GenRate: 300}, capacity.Options{}, []string{"lag"}},
		{"drops", model{Workers: 64, Service: 10 * time.Millisecond, GenRate: 300, GenLag: time.Millisecond, GenDrops: true}, capacity.Options{}, []string{"drop"}},
		{"CPU", model{Workers: 64, Service: 10 * time.Millisecond, GenRate: 300, GenLag: time.Millisecond, Cores: 1}, capacity.Options{}, []string{"cpu"}},
		{"VU cap", model{Workers: 1000, Service: 20 * time.Millisecond, VUCap: 2, GenLag: time.Millisecond}, capacity.Options{MaxVUs: 2}, []string{"vus", "lag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.SLO, tc.o.Max = slo(t, "p99<250ms"), 1000
			res, _ := search(t, tc.m, tc.o)
			if res.Bottleneck.Kind != capacity.KindGenerator {
				t.Fatalf("bottleneck %s (%s); want generator", res.Bottleneck.Kind, res.Bottleneck.Evidence)
			}
			ev := res.Bottleneck.Evidence
			for k, r := range reasons {
				want := false
				for _, w := range tc.want {
					want = want || w == k
				}
				if k == "lag" && tc.name == "VU cap" {
					continue // the pool's wait is lag too; either may show
				}
				if got := strings.Contains(ev, r); got != want {
					t.Errorf("evidence has %q: %v, want %v: %s", r, got, want, ev)
				}
			}
		})
	}
}

// Late starts that do not explain a step's latency (the target's queue
// does) leave the verdict to the target.
func TestSearchLateStartsThatDoNotExplainTheLatency(t *testing.T) {
	res, _ := search(t, model{Workers: 4, Service: 20 * time.Millisecond, GenRate: 260, GenLag: 30 * time.Millisecond},
		capacity.Options{SLO: slo(t, "p99<250ms")})
	if res.Bottleneck.Kind != capacity.KindConcurrency {
		t.Errorf("bottleneck %s (%s); want concurrency", res.Bottleneck.Kind, res.Bottleneck.Evidence)
	}
	for _, s := range res.Steps {
		if s.GeneratorLimited {
			t.Errorf("step at %v/s limited by %v; its latency is the target's queue", s.Rate, s.GeneratorReasons)
		}
	}
}
