package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// These tests feed report.Build snapshots of known latencies and counts
// and read the summary back through its JSON encoding (the contract), so
// that they check what a user sees and keep passing when Go field types
// change.

var bhT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func bhSec(s float64) time.Time { return bhT0.Add(time.Duration(s * float64(time.Second))) }

// knownResult is a 2.5 s open-model run in three intervals:
//
//	0–1 s:   GET list ×500, latencies 1…500 ms, every 10th a 5xx;
//	         start lag 1 ms each; VUs peak 8, 6 at the end; 2 dropped.
//	1–2 s:   GET list ×500, 501…1000 ms; POST create ×100 at 200 ms, 10
//	         timeouts and 5 refused; lag 30 ms each; VUs peak 12, 4 at the end.
//	2–2.5 s: nothing completed; 3 dropped.
//
// Latencies of the whole run: 1…1000 ms once each and 200 ms 100 more times.
func bhKnownResult(t *testing.T) (*controller.Result, []float64) {
	t.Helper()
	eps := []metrics.EndpointKey{{Name: "list", Method: "GET"}, {Name: "create", Method: "POST"}}
	rec := metrics.NewRecorder(bhT0, eps, []string{"status is 200"})
	var all []float64
	for i := 1; i <= 500; i++ {
		c := metrics.OK
		msg := ""
		if i%10 == 0 {
			c, msg = metrics.Status5xx, "500 Internal Server Error"
		}
		rec.Record(i, 0, metrics.Outcome{Class: c, Latency: time.Duration(i) * time.Millisecond, BytesSent: 10, BytesReceived: 100, Message: msg})
		rec.RecordCheck(i, 0, c == metrics.OK)
		rec.RecordLag(i, time.Millisecond)
		rec.IterationDone()
		all = append(all, float64(i))
	}
	rec.SetVUs(8)
	rec.SetVUs(6)
	rec.Dropped(2)
	s0 := rec.Snapshot(bhSec(1))
	s0.GeneratorCPU = 0.5
	for i := 501; i <= 1000; i++ {
		rec.Record(i, 0, metrics.Outcome{Latency: time.Duration(i) * time.Millisecond, BytesSent: 10, BytesReceived: 100})
		rec.RecordLag(i, 30*time.Millisecond)
		rec.IterationDone()
		all = append(all, float64(i))
	}
	for i := range 100 {
		c := metrics.OK
		switch {
		case i < 10:
			c = metrics.Timeout
		case i < 15:
			c = metrics.ConnRefused
		}
		rec.Record(i, 1, metrics.Outcome{Class: c, Latency: 200 * time.Millisecond, BytesSent: 50, BytesReceived: 20})
		rec.RecordLag(i, 30*time.Millisecond)
		rec.IterationDone()
		all = append(all, 200)
	}
	rec.SetVUs(12)
	rec.SetVUs(4)
	s1 := rec.Snapshot(bhSec(2))
	s1.GeneratorCPU = 1.9
	rec.SetVUs(0)
	rec.Dropped(3)
	s2 := rec.Snapshot(bhSec(2.5))
	s2.GeneratorCPU = 0.1
	timeline := []metrics.Snapshot{s0, s1, s2}
	plan := scenario.Plan{
		Name: "known", Load: scenario.Load{Model: engine.Open, Rate: 440, Duration: 2500 * time.Millisecond},
		Thresholds: []string{"p99<1s", "p95<900ms", "rps>400", "errors<5%", "endpoint[nope].p99<1s", "checks>=90%", "max<=1000ms"},
	}
	sort.Float64s(all)
	return &controller.Result{Plan: plan, Started: bhT0, Ended: bhSec(2.5), Timeline: timeline, Total: metrics.Add(timeline...)}, all
}

// quantile is the exact q-quantile of sorted xs (the nearest rank below).
func bhQuantile(xs []float64, q float64) float64 { return xs[int(q*float64(len(xs)-1))] }

// summaryJSON is the summary as a user reads it.
func bhJSON(t *testing.T, s report.Summary) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, &s); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded JSON value along a path of keys and indexes.
func bhGet(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q", path, k)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("%v: no field %q", path, k)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v: no element %d", path, k)
			}
			v = a[k]
		}
	}
	return v
}

func bhNum(t *testing.T, v any, path ...any) float64 {
	t.Helper()
	x := bhGet(t, v, path...)
	f, ok := x.(float64)
	if !ok {
		t.Fatalf("%v = %v (%T), want a number", path, x, x)
	}
	return f
}

// within checks a figure against the truth within the sketch's relative
// error (1 %), plus the 1 ms spacing of the samples.
func bhWithin(t *testing.T, what string, got, want float64) {
	t.Helper()
	if tol := want*metrics.RelativeAccuracy + 1; math.Abs(got-want) > tol {
		t.Errorf("%s = %v, want %v ± %.2f", what, got, want, tol)
	}
}

func bhExactly(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestBuildReportsKnownLatencies(t *testing.T) {
	res, all := bhKnownResult(t)
	s := bhJSON(t, report.Build("run-1", res, 2))

	// run
	if bhGet(t, s, "schema") != "surge.summary/v1" || bhGet(t, s, "run", "id") != "run-1" || bhGet(t, s, "run", "name") != "known" ||
		bhGet(t, s, "run", "model") != "open" || bhGet(t, s, "run", "status") != "finished" {
		t.Errorf("run: %v (schema %v)", bhGet(t, s, "run"), bhGet(t, s, "schema"))
	}
	for field, want := range map[string]time.Time{"started": bhT0, "ended": bhSec(2.5)} {
		got, err := time.Parse(time.RFC3339Nano, bhGet(t, s, "run", field).(string))
		if err != nil || !got.Equal(want) {
			t.Errorf("run.%s = %v, want %v", field, bhGet(t, s, "run", field), want)
		}
	}
	bhExactly(t, "run.duration_s", bhNum(t, s, "run", "duration_s"), 2.5)
	bhExactly(t, "run.max_vus", bhNum(t, s, "run", "max_vus"), 12)

	// totals
	for field, want := range map[string]float64{
		"requests": 1100, "errors": 65, "rps": 440, "bytes_sent": 1000*10 + 100*50, "bytes_received": 1000*100 + 100*20,
		"iterations": 1100, "dropped_iterations": 5, "error_rate": 100 * 65.0 / 1100,
	} {
		got := bhNum(t, s, "totals", field)
		if math.Abs(got-want) > 1e-3 {
			t.Errorf("totals.%s = %v, want %v", field, got, want)
		}
	}

	// latency: every figure of the whole run, against the truth
	bhExactly(t, "latency_ms.min", bhNum(t, s, "latency_ms", "min"), 1)
	bhExactly(t, "latency_ms.max", bhNum(t, s, "latency_ms", "max"), 1000)
	mean := (1000.0*1001/2 + 100*200) / 1100
	if got := bhNum(t, s, "latency_ms", "mean"); math.Abs(got-mean) > 0.001 {
		t.Errorf("latency_ms.mean = %v, want %v (exact)", got, mean)
	}
	for field, q := range map[string]float64{"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999} {
		bhWithin(t, "latency_ms."+field, bhNum(t, s, "latency_ms", field), bhQuantile(all, q))
	}
	// p99 is not p95, p999 is not p99 (the truths differ by more than the error)
	if bhNum(t, s, "latency_ms", "p99") <= bhNum(t, s, "latency_ms", "p95")*1.02 || bhNum(t, s, "latency_ms", "p999") <= bhNum(t, s, "latency_ms", "p99") {
		t.Errorf("percentiles not distinct: %v", bhGet(t, s, "latency_ms"))
	}

	// error classes: every class present, each counted once
	wantClasses := map[string]float64{"status_4xx": 0, "status_5xx": 50, "timeout": 10, "connection_refused": 5, "connection_reset": 0, "dns": 0, "tls": 0, "check_failed": 0, "poll_timeout": 0, "ws_closed": 0, "grpc_status": 0, "other": 0}
	for c, n := range wantClasses {
		bhExactly(t, "errors."+c, bhNum(t, s, "errors", c), n)
	}
	if n := len(bhGet(t, s, "errors").(map[string]any)); n != len(wantClasses) {
		t.Errorf("errors has %d classes, want %d: %v", n, len(wantClasses), bhGet(t, s, "errors"))
	}
	if m := bhGet(t, s, "error_messages", 0); bhGet(t, m, "message") != "status_5xx: 500 Internal Server Error" || bhNum(t, m, "count") != 50 {
		t.Errorf("error_messages[0] = %v", m)
	}

	// endpoints, in the plan's order
	list, create := bhGet(t, s, "endpoints", 0), bhGet(t, s, "endpoints", 1)
	if bhGet(t, list, "name") != "list" || bhGet(t, list, "method") != "GET" || bhGet(t, create, "name") != "create" || bhGet(t, create, "method") != "POST" {
		t.Fatalf("endpoints %v", bhGet(t, s, "endpoints"))
	}
	bhExactly(t, "list.requests", bhNum(t, list, "requests"), 1000)
	bhExactly(t, "list.errors", bhNum(t, list, "errors"), 50)
	bhExactly(t, "list.rps", bhNum(t, list, "rps"), 400)
	bhExactly(t, "create.requests", bhNum(t, create, "requests"), 100)
	bhExactly(t, "create.errors", bhNum(t, create, "errors"), 15)
	bhExactly(t, "create.rps", bhNum(t, create, "rps"), 40)
	listLat := make([]float64, 1000)
	for i := range listLat {
		listLat[i] = float64(i + 1)
	}
	for field, q := range map[string]float64{"p50": 0.5, "p95": 0.95, "p99": 0.99} {
		bhWithin(t, "list.latency_ms."+field, bhNum(t, list, "latency_ms", field), bhQuantile(listLat, q))
		bhExactly(t, "create.latency_ms."+field, bhNum(t, create, "latency_ms", field), 200)
	}
	bhExactly(t, "list.latency_ms.max", bhNum(t, list, "latency_ms", "max"), 1000)
	bhExactly(t, "create.error_classes.timeout", bhNum(t, create, "error_classes", "timeout"), 10)
	bhExactly(t, "create.error_classes.connection_refused", bhNum(t, create, "error_classes", "connection_refused"), 5)
	bhExactly(t, "list.error_classes.status_5xx", bhNum(t, list, "error_classes", "status_5xx"), 50)

	// checks
	if c := bhGet(t, s, "checks", 0); bhGet(t, c, "name") != "status is 200" || bhNum(t, c, "passes") != 450 || bhNum(t, c, "fails") != 50 {
		t.Errorf("checks[0] = %v", c)
	}

	// thresholds: verdicts and measured values in their units
	type th struct {
		ok    bool
		value float64
		unit  string
		err   bool
	}
	wantTh := map[string]th{
		"p99<1s":                {true, bhQuantile(all, 0.99), "ms", false},
		"p95<900ms":             {false, bhQuantile(all, 0.95), "ms", false},
		"rps>400":               {true, 440, "", false},
		"errors<5%":             {false, 100 * 65.0 / 1100, "%", false},
		"endpoint[nope].p99<1s": {false, 0, "", true},
		"checks>=90%":           {true, 90, "%", false},
		"max<=1000ms":           {true, 1000, "ms", false},
	}
	ths := bhGet(t, s, "thresholds").([]any)
	if len(ths) != len(wantTh) {
		t.Fatalf("%d thresholds, want %d", len(ths), len(wantTh))
	}
	for i, expr := range res.Plan.Thresholds {
		o := ths[i]
		w := wantTh[expr]
		if bhGet(t, o, "expr") != expr || bhGet(t, o, "ok") != w.ok {
			t.Errorf("threshold %d %v, want %s ok=%v", i, o, expr, w.ok)
		}
		m := o.(map[string]any)
		if w.err {
			if e, _ := m["error"].(string); !strings.Contains(e, "nope") {
				t.Errorf("%s: error %q, want it to name the endpoint", expr, e)
			}
			continue
		}
		if u, _ := m["unit"].(string); u != w.unit {
			t.Errorf("%s: unit %q, want %q", expr, u, w.unit)
		}
		v := bhNum(t, o, "value")
		if w.unit == "ms" && expr != "max<=1000ms" {
			bhWithin(t, expr, v, w.value)
		} else if math.Abs(v-w.value) > 1e-3 {
			t.Errorf("%s: value %v, want %v", expr, v, w.value)
		}
	}

	// timeline: one point per bhInterval, each with its own figures
	tl := bhGet(t, s, "timeline").([]any)
	if len(tl) != 3 {
		t.Fatalf("%d timeline points, want 3", len(tl))
	}
	type pt struct {
		elapsed, requests, rps, errors, vus, maxVUs, dropped, cpu float64
	}
	wantPts := []pt{{1, 500, 500, 50, 6, 8, 2, 0.5}, {2, 600, 600, 15, 4, 12, 0, 1.9}, {2.5, 0, 0, 0, 0, 4, 3, 0.1}}
	for i, w := range wantPts {
		p := tl[i]
		got := pt{bhNum(t, p, "elapsed_s"), bhNum(t, p, "requests"), bhNum(t, p, "rps"), bhNum(t, p, "errors"), bhNum(t, p, "vus"), bhNum(t, p, "max_vus"), bhNum(t, p, "dropped"), bhNum(t, p, "generator_cpu")}
		if got != w {
			t.Errorf("timeline[%d] = %+v, want %+v", i, got, w)
		}
		tt, err := time.Parse(time.RFC3339Nano, bhGet(t, p, "t").(string))
		if err != nil || !tt.Equal(bhSec(w.elapsed)) {
			t.Errorf("timeline[%d].t = %v, want %v", i, bhGet(t, p, "t"), bhSec(w.elapsed))
		}
	}
	// bhInterval 0: 1…500 ms; bhInterval 1: 501…1000 ms and 100 × 200 ms
	first := make([]float64, 500)
	for i := range first {
		first[i] = float64(i + 1)
	}
	var second []float64
	for i := 501; i <= 1000; i++ {
		second = append(second, float64(i))
	}
	for range 100 {
		second = append(second, 200)
	}
	sort.Float64s(second)
	for i, xs := range [][]float64{first, second} {
		for field, q := range map[string]float64{"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99} {
			bhWithin(t, fmt.Sprintf("timeline[%d].%s", i, field), bhNum(t, tl[i], field), bhQuantile(xs, q))
		}
		bhExactly(t, fmt.Sprintf("timeline[%d].max", i), bhNum(t, tl[i], "max"), xs[len(xs)-1])
	}
	bhWithin(t, "timeline[0].lag_p99_ms", bhNum(t, tl[0], "lag_p99_ms"), 1)
	bhWithin(t, "timeline[1].lag_p99_ms", bhNum(t, tl[1], "lag_p99_ms"), 30)

	// generator: start lag over the run (500 × 1 ms, 600 × 30 ms), CPU peak
	g := bhGet(t, s, "generator")
	bhExactly(t, "generator.cpu_max_cores", bhNum(t, g, "cpu_max_cores"), 1.9)
	bhExactly(t, "generator.cores", bhNum(t, g, "cores"), 2)
	bhExactly(t, "generator.start_lag_ms.min", bhNum(t, g, "start_lag_ms", "min"), 1)
	bhExactly(t, "generator.start_lag_ms.max", bhNum(t, g, "start_lag_ms", "max"), 30)
	bhWithin(t, "generator.start_lag_ms.p50", bhNum(t, g, "start_lag_ms", "p50"), 30)
	bhWithin(t, "generator.start_lag_ms.p99", bhNum(t, g, "start_lag_ms", "p99"), 30)
	if m := bhNum(t, g, "start_lag_ms", "mean"); math.Abs(m-(500*1+600*30)/1100.0) > 0.001 {
		t.Errorf("generator.start_lag_ms.mean = %v, want %v", m, (500*1+600*30)/1100.0)
	}
	// The run dropped iterations and started them 30 ms late: the summary
	// must say so.
	if w, _ := bhGet(t, g, "warnings").([]any); len(w) == 0 {
		t.Errorf("no generator warning for a run that dropped 5 iterations and lagged 30 ms: %v", g)
	}
}

// An easy run: nothing dropped, no lag, little CPU: no warnings. A run
// stopped early says "stopped".
func TestBuildEasyAndStoppedRuns(t *testing.T) {
	rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "x", Method: "GET"}}, nil)
	for i := range 100 {
		rec.Record(i, 0, metrics.Outcome{Latency: 5 * time.Millisecond})
		rec.RecordLag(i, 100*time.Microsecond)
	}
	s0 := rec.Snapshot(bhSec(1))
	s0.GeneratorCPU = 0.1
	res := &controller.Result{Plan: scenario.Plan{Name: "easy", Load: scenario.Load{Model: engine.Open, Rate: 100, Duration: time.Second}},
		Started: bhT0, Ended: bhSec(1), Timeline: []metrics.Snapshot{s0}, Total: metrics.Add(s0)}
	s := bhJSON(t, report.Build("e", res, 2))
	if w, _ := bhGet(t, s, "generator", "warnings").([]any); len(w) != 0 {
		t.Errorf("warnings on an easy run: %v", w)
	}
	if bhGet(t, s, "run", "status") != "finished" {
		t.Errorf("status %v", bhGet(t, s, "run", "status"))
	}
	bhExactly(t, "latency p99", bhNum(t, s, "latency_ms", "p99"), 5)
	res.Stopped = fmt.Errorf("interrupted")
	if st := bhGet(t, bhJSON(t, report.Build("e", res, 2)), "run", "status"); st != "stopped" {
		t.Errorf("status of a stopped run %v", st)
	}
	// A closed-model run reports its model.
	res.Plan.Load = scenario.Load{Model: engine.Closed, VUs: 3}
	if m := bhGet(t, bhJSON(t, report.Build("e", res, 2)), "run", "model"); m != "closed" {
		t.Errorf("model %v", m)
	}
}

// A run whose generator was busy in most intervals says so.
func TestBuildWarnsWhenTheGeneratorIsBusy(t *testing.T) {
	rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "x", Method: "GET"}}, nil)
	var tl []metrics.Snapshot
	for i := range 3 {
		rec.Record(i, 0, metrics.Outcome{Latency: time.Millisecond})
		s := rec.Snapshot(bhSec(float64(i + 1)))
		s.GeneratorCPU = 1.95 // of 2 cores
		tl = append(tl, s)
	}
	res := &controller.Result{Plan: scenario.Plan{Name: "busy", Load: scenario.Load{Model: engine.Closed, VUs: 1}},
		Started: bhT0, Ended: bhSec(3), Timeline: tl, Total: metrics.Add(tl...)}
	s := bhJSON(t, report.Build("b", res, 2))
	w, _ := bhGet(t, s, "generator", "warnings").([]any)
	if len(w) == 0 || !strings.Contains(fmt.Sprint(w), "CPU") {
		t.Errorf("no CPU warning when the generator used 1.95 of 2 cores throughout: %v", w)
	}
	// The same CPU on 8 cores is no reason for a warning.
	s = bhJSON(t, report.Build("b", res, 8))
	if w, _ := bhGet(t, s, "generator", "warnings").([]any); len(w) != 0 {
		t.Errorf("warnings with 1.95 of 8 cores busy: %v", w)
	}
}
