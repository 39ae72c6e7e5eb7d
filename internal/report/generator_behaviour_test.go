package report_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// bhInterval is one snapshot of a constructed run.
type bhInterval struct {
	requests, failed int
	latency          time.Duration
	lag              time.Duration // recorded once per request when > 0
	due, dropped     int64
	cpu              float64
	maxVUs           int
	message          string
}

// run builds a Result of 1 s intervals from bhT0.
func bhRun(t *testing.T, model engine.Model, ivs []bhInterval, thresholds ...string) *controller.Result {
	t.Helper()
	rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "e", Method: "GET"}}, nil)
	var tl []metrics.Snapshot
	for i, iv := range ivs {
		for j := range iv.requests {
			o := metrics.Outcome{Latency: iv.latency}
			if j < iv.failed {
				o.Class, o.Message = metrics.Status5xx, iv.message
			}
			rec.Record(j, 0, o)
			if iv.lag > 0 {
				rec.RecordLag(j, iv.lag)
			}
		}
		rec.SetVUs(iv.maxVUs)
		rec.SetVUs(0)
		rec.Dropped(iv.dropped)
		s := rec.Snapshot(bhSec(float64(i + 1)))
		s.Due, s.GeneratorCPU = iv.due, iv.cpu
		tl = append(tl, s)
	}
	plan := scenario.Plan{Name: "r", Load: scenario.Load{Model: model, Rate: 100, VUs: 10}, Thresholds: thresholds}
	if model == engine.Closed {
		plan.Load.Rate = 0
	}
	return &controller.Result{Plan: plan, Started: bhT0, Ended: bhSec(float64(len(ivs))), Timeline: tl, Total: metrics.Add(tl...)}
}

func bhReasons(t *testing.T, s map[string]any) []string {
	t.Helper()
	var out []string
	for _, r := range bhGet(t, s, "generator", "reasons").([]any) {
		out = append(out, r.(string))
	}
	return out
}

// generator.limited says whether Surge itself could not hold the plan, and
// reasons says why, at the documented limits: start-lag p99 above 10 ms
// (open model only), any dropped iteration, generator CPU ≥ 90 % of its
// cores in at least a third of the intervals. Every threshold outcome
// carries the same flag.
func TestGeneratorLimited(t *testing.T) {
	ok := bhInterval{requests: 100, latency: 5 * time.Millisecond, lag: time.Millisecond, due: 100, cpu: 0.2, maxVUs: 3}
	with := func(f func(*bhInterval)) bhInterval { iv := ok; f(&iv); return iv }
	tests := []struct {
		name  string
		model engine.Model
		ivs   []bhInterval
		cores int
		want  []string
	}{
		{"an easy run", engine.Open, []bhInterval{ok, ok, ok}, 2, nil},
		{"lag p99 10 ms is on the limit", engine.Open, []bhInterval{with(func(iv *bhInterval) { iv.lag = 10 * time.Millisecond })}, 2, nil},
		{"lag p99 11 ms", engine.Open, []bhInterval{with(func(iv *bhInterval) { iv.lag = 11 * time.Millisecond })}, 2, []string{report.ReasonStartLag}},
		{"lag in the closed model is no reason", engine.Closed, []bhInterval{with(func(iv *bhInterval) { iv.lag = 50 * time.Millisecond })}, 2, nil},
		{"one dropped iteration", engine.Open, []bhInterval{ok, with(func(iv *bhInterval) { iv.dropped = 1 })}, 2, []string{report.ReasonDropped}},
		{"CPU at 90 % of the cores in 1 of 3 intervals", engine.Open, []bhInterval{ok, with(func(iv *bhInterval) { iv.cpu = 1.8 }), ok}, 2, []string{report.ReasonCPU}},
		{"CPU just below 90 %", engine.Open, []bhInterval{ok, with(func(iv *bhInterval) { iv.cpu = 1.79 }), ok}, 2, nil},
		{"CPU busy in 1 of 4 intervals", engine.Open, []bhInterval{ok, with(func(iv *bhInterval) { iv.cpu = 2 }), ok, ok}, 2, nil},
		{"CPU busy in 2 of 6 intervals", engine.Open, []bhInterval{ok, with(func(iv *bhInterval) { iv.cpu = 2 }), ok, ok, with(func(iv *bhInterval) { iv.cpu = 2 }), ok}, 2, []string{report.ReasonCPU}},
		{"CPU unknown cores", engine.Open, []bhInterval{with(func(iv *bhInterval) { iv.cpu = 5 })}, 0, nil},
		{"every reason", engine.Open, []bhInterval{with(func(iv *bhInterval) { iv.lag, iv.dropped, iv.cpu = time.Second, 4, 4 })}, 4,
			[]string{report.ReasonStartLag, report.ReasonDropped, report.ReasonCPU}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bhJSON(t, report.Build("g", bhRun(t, tt.model, tt.ivs, "p99<1s", "errors<1%"), tt.cores))
			got := bhReasons(t, s)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("reasons %v, want %v", got, tt.want)
			}
			limited := len(tt.want) > 0
			if bhGet(t, s, "generator", "limited") != limited {
				t.Fatalf("limited %v, want %v", bhGet(t, s, "generator", "limited"), limited)
			}
			if w := bhGet(t, s, "generator", "warnings").([]any); len(w) != len(tt.want) {
				t.Fatalf("%d warnings for %d reasons: %v", len(w), len(tt.want), w)
			}
			for i := range 2 {
				if bhGet(t, s, "thresholds", i, "limited") != limited {
					t.Fatalf("threshold %d limited %v, want %v", i, bhGet(t, s, "thresholds", i, "limited"), limited)
				}
			}
		})
	}
}

// The dropped-iterations warning says how many were due, when that is known.
func TestDroppedWarningNamesTheDueCount(t *testing.T) {
	res := bhRun(t, engine.Open, []bhInterval{{requests: 10, latency: time.Millisecond, due: 15, dropped: 5}})
	w := fmt.Sprint(bhGet(t, bhJSON(t, report.Build("d", res, 2)), "generator", "warnings"))
	if !strings.Contains(w, "5 iterations of 15 due were dropped") {
		t.Fatalf("warnings %s, want the 5 dropped of 15 due", w)
	}
	bhExactly(t, "totals.due_iterations", bhNum(t, bhJSON(t, report.Build("d", res, 2)), "totals", "due_iterations"), 15)
}

// Each timeline point of an open-model run says the offered rate (due
// iterations per second of the bhInterval); a closed-model run has none.
func TestTimelineOfferedRate(t *testing.T) {
	ivs := []bhInterval{{requests: 90, latency: time.Millisecond, due: 100}, {requests: 150, latency: time.Millisecond, due: 200}}
	s := bhJSON(t, report.Build("o", bhRun(t, engine.Open, ivs), 2))
	bhExactly(t, "timeline[0].offered_rps", bhNum(t, s, "timeline", 0, "offered_rps"), 100)
	bhExactly(t, "timeline[1].offered_rps", bhNum(t, s, "timeline", 1, "offered_rps"), 200)
	bhExactly(t, "timeline[1].rps", bhNum(t, s, "timeline", 1, "rps"), 150)
	c := bhJSON(t, report.Build("c", bhRun(t, engine.Closed, ivs), 2))
	if v := bhGet(t, c, "timeline", 0, "offered_rps"); v != nil {
		t.Fatalf("closed model timeline offered_rps %v, want null", v)
	}
}

// The windows table groups the timeline into at most ~15 rows of equal
// length, each with its counts added and its percentiles read from the
// merged sketches; a window with no request has no latency.
func TestWindowsGroupTheTimeline(t *testing.T) {
	var ivs []bhInterval
	for i := range 30 {
		iv := bhInterval{requests: 10, latency: time.Duration(i+1) * time.Millisecond, due: 20, maxVUs: i, dropped: int64(i % 2), failed: i % 3}
		if i >= 28 {
			iv.requests, iv.failed = 0, 0
		}
		ivs = append(ivs, iv)
	}
	for _, model := range []engine.Model{engine.Open, engine.Closed} {
		s := bhJSON(t, report.Build("w", bhRun(t, model, ivs), 2))
		ws := bhGet(t, s, "windows").([]any)
		if len(ws) != 15 {
			t.Fatalf("%s: %d windows for 30 intervals, want 15 of 2 s", model, len(ws))
		}
		for i, w := range ws {
			bhExactly(t, "from_s", bhNum(t, w, "from_s"), float64(2*i))
			bhExactly(t, "to_s", bhNum(t, w, "to_s"), float64(2*i+2))
			if i < 14 {
				bhExactly(t, fmt.Sprintf("window %d requests", i), bhNum(t, w, "requests"), 20)
				bhExactly(t, fmt.Sprintf("window %d rps", i), bhNum(t, w, "rps"), 10)
				bhExactly(t, fmt.Sprintf("window %d errors", i), bhNum(t, w, "errors"), float64((2*i)%3+(2*i+1)%3))
				// two intervals of 10 requests at 2i+1 and 2i+2 ms
				bhClose(t, fmt.Sprintf("window %d p99", i), bhNum(t, w, "p99"), float64(2*i+2))
				bhClose(t, fmt.Sprintf("window %d p50", i), bhNum(t, w, "p50"), float64(2*i+1))
			}
			bhExactly(t, fmt.Sprintf("window %d dropped", i), bhNum(t, w, "dropped"), 1)
			want := 20.0 // due per second
			if model == engine.Closed {
				want = float64(2*i + 1) // the most VUs of the two intervals
			}
			bhExactly(t, fmt.Sprintf("%s window %d offered", model, i), bhNum(t, w, "offered"), want)
		}
		last := ws[14].(map[string]any)
		if last["p50"] != nil || last["p99"] != nil {
			t.Fatalf("a window with no request has latency %v / %v, want null", last["p50"], last["p99"])
		}
	}
	// A short run has a window per bhInterval.
	s := bhJSON(t, report.Build("w", bhRun(t, engine.Open, ivs[:4]), 2))
	if n := len(bhGet(t, s, "windows").([]any)); n != 4 {
		t.Fatalf("%d windows for 4 intervals", n)
	}
	// 31 intervals: windows of 3, the last one shorter.
	ivs = append(ivs, bhInterval{requests: 1, latency: time.Millisecond})
	s = bhJSON(t, report.Build("w", bhRun(t, engine.Open, ivs), 2))
	ws := bhGet(t, s, "windows").([]any)
	if len(ws) != 11 || bhNum(t, ws[10], "from_s") != 30 || bhNum(t, ws[10], "to_s") != 31 {
		t.Fatalf("31 intervals gave %d windows, the last %v", len(ws), ws[len(ws)-1])
	}
}

// Warnings about the target: every request failed (with the most frequent
// message), and cookies dropped by full jars.
func TestTargetWarnings(t *testing.T) {
	res := bhRun(t, engine.Open, []bhInterval{{requests: 10, failed: 10, latency: time.Millisecond, message: "boom"}})
	w := fmt.Sprint(bhGet(t, bhJSON(t, report.Build("t", res, 2)), "warnings"))
	if !strings.Contains(w, "every one of the 10 requests failed") || !strings.Contains(w, "status_5xx: boom") {
		t.Fatalf("warnings %s", w)
	}
	res = bhRun(t, engine.Open, []bhInterval{{requests: 10, failed: 9, latency: time.Millisecond, message: "boom"}})
	if w := bhGet(t, bhJSON(t, report.Build("t", res, 2)), "warnings").([]any); len(w) != 0 {
		t.Fatalf("warnings when one request of 10 succeeded: %v", w)
	}
	res = bhRun(t, engine.Open, []bhInterval{{}})
	if w := bhGet(t, bhJSON(t, report.Build("t", res, 2)), "warnings").([]any); len(w) != 0 {
		t.Fatalf("warnings for a run without requests: %v", w)
	}
	res.Total.CookiesDropped = 7
	if w := fmt.Sprint(bhGet(t, bhJSON(t, report.Build("t", res, 2)), "warnings")); !strings.Contains(w, "7 were dropped") {
		t.Fatalf("warnings %s, want the 7 dropped cookies", w)
	}
}

// The plan and the live changes of the run are in the summary.
func TestPlanAndEvents(t *testing.T) {
	res := bhRun(t, engine.Open, []bhInterval{{requests: 1, latency: time.Millisecond}})
	res.Plan.Load.Stages = []engine.Stage{{Duration: 30 * time.Second, Target: 50}}
	res.Plan.Load.MaxVUs, res.Plan.Load.Iterations, res.Plan.Timeout = 9, 1000, 2*time.Second
	res.Events = []controller.Event{{At: bhSec(0.5), Kind: controller.EventRate, Value: 300}, {At: bhSec(1), Kind: controller.EventStop, Detail: "interrupt"}}
	s := bhJSON(t, report.Build("p", res, 2))
	p := bhGet(t, s, "plan")
	if bhGet(t, p, "model") != "open" || bhNum(t, p, "rate") != 100 || bhNum(t, p, "max_vus") != 9 || bhNum(t, p, "iterations") != 1000 ||
		bhGet(t, p, "timeout") != "2s" || bhGet(t, p, "stages", 0, "duration") != "30s" || bhNum(t, p, "stages", 0, "target") != 50 {
		t.Fatalf("plan %v", p)
	}
	ev := bhGet(t, s, "events").([]any)
	if len(ev) != 2 || bhGet(t, ev[0], "kind") != "rate" || bhNum(t, ev[0], "value") != 300 || bhNum(t, ev[0], "elapsed_s") != 0.5 ||
		bhGet(t, ev[1], "kind") != "stop" || bhGet(t, ev[1], "detail") != "interrupt" {
		t.Fatalf("events %v", ev)
	}
	res.Plan.Load = scenario.Load{Model: engine.Closed, VUs: 12, Duration: time.Minute}
	p = bhGet(t, bhJSON(t, report.Build("p", res, 2)), "plan")
	if bhGet(t, p, "model") != "closed" || bhNum(t, p, "vus") != 12 || bhGet(t, p, "duration") != "1m0s" {
		t.Fatalf("closed plan %v", p)
	}
}

// bhClose checks a percentile read from a sketch: within its 1 % relative
// error (tight enough to tell 1 ms from 2 ms).
func bhClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	if d := got - want; d > want*metrics.RelativeAccuracy+0.001 || -d > want*metrics.RelativeAccuracy+0.001 {
		t.Errorf("%s = %v, want %v ± 1 %%", what, got, want)
	}
}

// Degenerate times never produce a summary that cannot be written: a run
// or an interval of zero length has rates of 0, not NaN or infinity.
func TestZeroLengthRunAndInterval(t *testing.T) {
	res := bhRun(t, engine.Open, []bhInterval{{requests: 5, latency: time.Millisecond, due: 5}})
	res.Ended = res.Started
	res.Timeline[0].End = res.Timeline[0].Start
	res.Total = metrics.Add(res.Timeline...)
	s := report.Build("z", res, 2)
	var b bytes.Buffer
	if err := report.WriteJSON(&b, &s); err != nil {
		t.Fatalf("a zero-length run cannot be written: %v", err)
	}
	j := bhJSON(t, s)
	if v := bhNum(t, j, "timeline", 0, "rps"); v != 0 {
		t.Fatalf("rps of a zero-length interval %v, want 0", v)
	}
	if v := bhNum(t, j, "windows", 0, "rps"); v != 0 {
		t.Fatalf("rps of a zero-length window %v, want 0", v)
	}
	if v := bhNum(t, j, "totals", "rps"); v <= 0 || v > 1e7 {
		t.Fatalf("totals.rps %v of a run shorter than a millisecond", v)
	}
}

// Rates are per second of the interval, whatever its length.
func TestRatesOfHalfSecondIntervals(t *testing.T) {
	rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "e", Method: "GET"}}, nil)
	for range 30 {
		rec.Record(0, 0, metrics.Outcome{Latency: time.Millisecond})
	}
	s := rec.Snapshot(bhSec(0.5))
	s.Due = 40
	res := &controller.Result{Plan: bhRun(t, engine.Open, nil).Plan, Started: bhT0, Ended: bhSec(0.5), Timeline: []metrics.Snapshot{s}, Total: s}
	j := bhJSON(t, report.Build("h", res, 2))
	bhExactly(t, "timeline[0].rps", bhNum(t, j, "timeline", 0, "rps"), 60)
	bhExactly(t, "timeline[0].offered_rps", bhNum(t, j, "timeline", 0, "offered_rps"), 80)
	bhExactly(t, "windows[0].rps", bhNum(t, j, "windows", 0, "rps"), 60)
	bhExactly(t, "windows[0].offered", bhNum(t, j, "windows", 0, "offered"), 80)
	bhExactly(t, "totals.rps", bhNum(t, j, "totals", "rps"), 60)
}

// The dropped warning names the due count only when it is known, and the
// CPU warning the threshold of 90 %.
func TestWarningTexts(t *testing.T) {
	res := bhRun(t, engine.Open, []bhInterval{{requests: 10, latency: time.Millisecond, dropped: 5}})
	w := fmt.Sprint(bhGet(t, bhJSON(t, report.Build("d", res, 2)), "generator", "warnings"))
	if !strings.Contains(w, "5 iterations were dropped") || strings.Contains(w, "due") {
		t.Fatalf("warnings %s, want \"5 iterations were dropped\" without a due count", w)
	}
	res = bhRun(t, engine.Open, []bhInterval{{requests: 10, latency: time.Millisecond, cpu: 2}})
	w = fmt.Sprint(bhGet(t, bhJSON(t, report.Build("c", res, 2)), "generator", "warnings"))
	if !strings.Contains(w, "≥ 90% of its 2 CPU cores in 1 of 1 intervals") {
		t.Fatalf("warnings %s", w)
	}
}

// A plan without a duration (an iteration budget) says none.
func TestPlanWithoutDuration(t *testing.T) {
	res := bhRun(t, engine.Open, []bhInterval{{requests: 1, latency: time.Millisecond}})
	res.Plan.Load.Duration, res.Plan.Load.Iterations = 0, 50
	p := bhGet(t, bhJSON(t, report.Build("p", res, 2)), "plan").(map[string]any)
	if _, ok := p["duration"]; ok {
		t.Fatalf("plan %v has a duration", p)
	}
}
