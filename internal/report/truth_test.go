package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// interval makes one second of an open-model run: due iterations offered,
// n requests of latency lat, errs of them failed.
func interval(start time.Time, seq int, due, n, errs int64, lat time.Duration) metrics.Snapshot {
	ep := metrics.Endpoint{Name: "GET /", Method: "GET", Latency: metrics.NewSketch()}
	for i := int64(0); i < n; i++ {
		ep.Requests++
		if i < errs {
			ep.Classes[metrics.Status5xx]++
		} else {
			ep.Classes[metrics.OK]++
		}
		ep.Latency.Add(lat)
	}
	s := metrics.Snapshot{
		Seq: seq, Start: start.Add(time.Duration(seq) * time.Second), End: start.Add(time.Duration(seq+1) * time.Second),
		Endpoints: []metrics.Endpoint{ep}, Iterations: n, Due: due, Dropped: due - n, Lag: metrics.NewSketch(),
	}
	for i := int64(0); i < n; i++ {
		s.Lag.Add(100 * time.Microsecond)
	}
	return s
}

func rampResult(t *testing.T, timeline []metrics.Snapshot) *controller.Result {
	t.Helper()
	start := timeline[0].Start
	plan := scenario.Plan{Name: "ramp", Timeout: 10 * time.Second, Thresholds: []string{"p99<1s"},
		Load: scenario.Load{Model: engine.Open, Stages: []engine.Stage{{Duration: 2 * time.Second, Target: 1000}, {Duration: 2 * time.Second, Target: 1000}}}}
	return &controller.Result{Plan: plan, Started: start, Ended: timeline[len(timeline)-1].End, Timeline: timeline,
		Total:  metrics.Add(timeline...),
		Events: []controller.Event{{At: start.Add(3 * time.Second), Kind: controller.EventRate, Value: 900}}}
}

// A run that offered 1000/s and achieved 800/s is generator-limited (it
// dropped what it could not start): the summary says so above the numbers,
// a pass is marked, and the windows table shows offered against achieved.
func TestSummaryTellsWhenTheGeneratorWasTheLimit(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tl := []metrics.Snapshot{
		interval(start, 0, 250, 250, 0, 5*time.Millisecond),
		interval(start, 1, 750, 750, 0, 6*time.Millisecond),
		interval(start, 2, 1000, 800, 0, 50*time.Millisecond),
		interval(start, 3, 1000, 800, 0, 60*time.Millisecond),
	}
	sum := report.Build("r1", rampResult(t, tl), 2)
	if !sum.Generator.Limited || len(sum.Generator.Reasons) != 1 || sum.Generator.Reasons[0] != report.ReasonDropped {
		t.Fatalf("limited %v reasons %v, want dropped_iterations", sum.Generator.Limited, sum.Generator.Reasons)
	}
	if sum.Totals.DueIterations != 3000 || sum.Totals.Iterations+sum.Totals.DroppedIterations != 3000 {
		t.Fatalf("due %d, iterations %d + dropped %d", sum.Totals.DueIterations, sum.Totals.Iterations, sum.Totals.DroppedIterations)
	}
	if th := sum.Thresholds[0]; !th.OK || !th.Limited {
		t.Fatalf("threshold %+v: want a pass marked limited", th)
	}
	if o := sum.Timeline[2].Offered; o == nil || *o != 1000 || sum.Timeline[2].RPS != 800 {
		t.Fatalf("interval 3 offered %v achieved %v, want 1000 and 800", o, sum.Timeline[2].RPS)
	}
	if len(sum.Events) != 1 || sum.Events[0].Kind != "rate" || sum.Events[0].Value != 900 || sum.Events[0].Elapsed != 3 {
		t.Fatalf("events %+v", sum.Events)
	}
	if sum.Plan.Model != "open" || len(sum.Plan.Stages) != 2 || sum.Plan.Stages[0].Duration != "2s" || sum.Plan.Timeout != "10s" {
		t.Fatalf("plan %+v, want the CLI's words", sum.Plan)
	}
	var b bytes.Buffer
	if err := report.WriteText(&b, &sum); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if !strings.Contains(lines[0], "GENERATOR-LIMITED") {
		t.Fatalf("the banner must come first:\n%s", text)
	}
	if !strings.Contains(text, "generator-limited run: the pass says little") {
		t.Fatalf("the threshold pass is not marked:\n%s", text)
	}
	var row string
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "3–4s") {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) < 9 || f[1] != "1000" || f[2] != "800" || f[8] != "200" {
		t.Fatalf("windows row for 3–4 s = %q, want offered 1000, achieved 800, dropped 200:\n%s", row, text)
	}
}

func TestEasyRunIsNotLimited(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tl := []metrics.Snapshot{interval(start, 0, 100, 100, 0, time.Millisecond), interval(start, 1, 100, 100, 0, time.Millisecond)}
	sum := report.Build("r1", rampResult(t, tl), 2)
	if sum.Generator.Limited || len(sum.Generator.Reasons) != 0 || sum.Thresholds[0].Limited {
		t.Fatalf("an easy run: limited %v reasons %v", sum.Generator.Limited, sum.Generator.Reasons)
	}
	var b bytes.Buffer
	_ = report.WriteJSON(&b, &sum)
	if !strings.Contains(b.String(), `"limited": false`) || !strings.Contains(b.String(), `"reasons": []`) {
		t.Fatal("generator.limited and reasons must always be present")
	}
}

// An interval in which no request completed has no latency: null in JSON,
// empty cells in CSV, never 0 ms.
func TestEmptyIntervalsHaveNoLatency(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tl := []metrics.Snapshot{interval(start, 0, 100, 100, 0, 20*time.Millisecond), interval(start, 1, 100, 0, 0, 0), interval(start, 2, 100, 100, 0, 20*time.Millisecond)}
	tl[1].Dropped = 0 // requests still in flight, say: a stall
	sum := report.Build("r1", rampResult(t, tl), 2)
	var b bytes.Buffer
	if err := report.WriteJSON(&b, &sum); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Timeline []map[string]any `json:"timeline"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"p50", "p90", "p95", "p99", "max"} {
		if v, ok := got.Timeline[1][k]; !ok || v != nil {
			t.Errorf("empty interval %s = %v, want null", k, v)
		}
		if v := got.Timeline[0][k]; v == nil {
			t.Errorf("busy interval %s is null", k)
		}
	}
	b.Reset()
	if err := report.WriteCSV(&b, &sum); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(b.String(), "\n")
	if cells := strings.Split(rows[2], ","); cells[6] != "" || cells[10] != "" {
		t.Fatalf("empty interval's CSV row %q: want empty latency cells", rows[2])
	}
}

func TestEveryRequestFailedIsLoud(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tl := []metrics.Snapshot{interval(start, 0, 10, 10, 10, time.Millisecond)}
	sum := report.Build("r1", rampResult(t, tl), 2)
	var b bytes.Buffer
	_ = report.WriteText(&b, &sum)
	if first := strings.SplitN(strings.TrimSpace(b.String()), "\n", 2)[0]; !strings.Contains(first, "Every one of the 10 requests failed") {
		t.Fatalf("first line %q: want a loud warning", first)
	}
}
