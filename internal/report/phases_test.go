package report_test

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// phasesResult is a 1 s open-model run of two endpoints: "login", 100
// HTTP requests whose wait is 1…100 ms, send 0.1 ms, receive 1 ms, the
// first 10 on new connections (connect 2 ms, tls 5 ms), each queued 3 ms,
// 90 of them over HTTP/2 and 10 over HTTP/1.1; and "chat", 20 WebSocket
// messages, which have no phases.
func phasesResult(t *testing.T, thresholds ...string) *controller.Result {
	t.Helper()
	eps := []metrics.EndpointKey{{Name: "login", Method: "POST"}, {Name: "chat", Method: "WS"}}
	rec := metrics.NewRecorder(bhT0, eps, nil)
	ms := time.Millisecond
	for i := 1; i <= 100; i++ {
		p := metrics.Phases{metrics.PhaseSend: ms / 10, metrics.PhaseWait: time.Duration(i) * ms, metrics.PhaseReceive: ms,
			metrics.PhaseQueued: 3 * ms}
		if i <= 10 {
			p[metrics.PhaseConnect], p[metrics.PhaseTLS] = 2*ms, 5*ms
		}
		proto := metrics.ProtoHTTP2
		if i > 90 {
			proto = metrics.ProtoHTTP11
		}
		rec.Record(i, 0, metrics.Outcome{Latency: p.Total(), Phases: p, Timed: true, Queued: true, Proto: proto})
		rec.IterationDone()
	}
	for i := range 20 {
		rec.Record(i, 1, metrics.Outcome{Latency: 4 * ms})
	}
	s := rec.Snapshot(bhSec(1))
	plan := scenario.Plan{Name: "phases", Load: scenario.Load{Model: engine.Open, Rate: 100, Duration: time.Second},
		Thresholds: thresholds}
	return &controller.Result{Plan: plan, Started: bhT0, Ended: bhSec(1), Timeline: []metrics.Snapshot{s}, Total: metrics.Add(s)}
}

// The summary's endpoints carry each phase's p50, p95, p99 and max in ms
// and the protocol counts; an endpoint without phases has neither.
func TestSummaryPhases(t *testing.T) {
	m := bhJSON(t, report.Build("r", phasesResult(t), 2))
	near := func(path []any, want float64) {
		t.Helper()
		if got := bhNum(t, m, path...); math.Abs(got-want) > want*metrics.RelativeAccuracy+1e-9 {
			t.Errorf("%v = %v, want %v within 1%%", path, got, want)
		}
	}
	login := []any{"endpoints", 0, "phases_ms"}
	for _, c := range []struct {
		phase              string
		p50, p95, p99, max float64
	}{
		{"wait", 50, 95, 99, 100},
		{"send", 0.1, 0.1, 0.1, 0.1},
		{"receive", 1, 1, 1, 1},
		{"connect", 0, 2, 2, 2},
		{"tls", 0, 5, 5, 5},
		{"blocked", 0, 0, 0, 0},
		{"queued", 3, 3, 3, 3},
	} {
		for _, q := range []struct {
			k string
			v float64
		}{{"p50", c.p50}, {"p95", c.p95}, {"p99", c.p99}, {"max", c.max}} {
			near(append(append([]any{}, login...), c.phase, q.k), q.v)
		}
	}
	if got := bhNum(t, m, "endpoints", 0, "phases_ms", "wait", "max"); got != 100 {
		t.Errorf("wait max %v, want exactly 100", got)
	}
	if n := len(bhGet(t, m, login...).(map[string]any)); n != int(metrics.NumPhases) {
		t.Errorf("%d phases, want %d", n, metrics.NumPhases)
	}
	protos := bhGet(t, m, "endpoints", 0, "protocols").(map[string]any)
	if len(protos) != 2 || protos["HTTP/2.0"] != 90.0 || protos["HTTP/1.1"] != 10.0 {
		t.Errorf("protocols %v, want HTTP/2.0 90 and HTTP/1.1 10", protos)
	}
	chat := bhGet(t, m, "endpoints", 1).(map[string]any)
	if _, ok := chat["phases_ms"]; ok {
		t.Errorf("a WebSocket endpoint has phases: %v", chat["phases_ms"])
	}
	if _, ok := chat["protocols"]; ok {
		t.Errorf("a WebSocket endpoint has protocols: %v", chat["protocols"])
	}
}

// A closed-model run has no queued phase in its summary.
func TestSummaryPhasesClosedModel(t *testing.T) {
	eps := []metrics.EndpointKey{{Name: "home", Method: "GET"}}
	rec := metrics.NewRecorder(bhT0, eps, nil)
	p := metrics.Phases{metrics.PhaseWait: 30 * time.Millisecond}
	rec.Record(0, 0, metrics.Outcome{Latency: p.Total(), Phases: p, Timed: true, Proto: metrics.ProtoHTTP11})
	s := rec.Snapshot(bhSec(1))
	res := &controller.Result{Plan: scenario.Plan{Load: scenario.Load{VUs: 1}}, Started: bhT0, Ended: bhSec(1),
		Timeline: []metrics.Snapshot{s}, Total: metrics.Add(s)}
	m := bhJSON(t, report.Build("r", res, 2))
	ph := bhGet(t, m, "endpoints", 0, "phases_ms").(map[string]any)
	if _, ok := ph["queued"]; ok || len(ph) != 6 {
		t.Errorf("closed model: phases %v, want the six of HTTP and no queued", ph)
	}
	if got := bhNum(t, m, "endpoints", 0, "phases_ms", "wait", "p50"); got != 30 {
		t.Errorf("wait p50 %v, want 30", got)
	}
	var b bytes.Buffer
	sum := report.Build("r", res, 2)
	if err := report.WriteJSON(&b, &sum); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\"protocols\": {\n        \"HTTP/1.1\": 1\n      }") {
		t.Errorf("protocols not in the JSON: %s", b.String())
	}
}

// The terminal summary has a row per endpoint with phases: its protocols
// and each phase's p95; an endpoint without phases has none, and a run
// without phases has no table.
func TestTextPhases(t *testing.T) {
	s := report.Build("r", phasesResult(t), 2)
	var b bytes.Buffer
	if err := report.WriteText(&b, &s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	_, table, ok := strings.Cut(out, "where time went (p95)")
	if !ok {
		t.Fatalf("no phases table:\n%s", out)
	}
	table, _, _ = strings.Cut(table, "\n\n")
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "queued") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "login") {
		t.Fatalf("phases table:\n%s", table)
	}
	f := strings.Fields(lines[1])
	// login, its protocols (4 fields), then blocked … queued, "N ms" each.
	if len(f) != 5+2*7 || strings.Join(f[:5], " ") != "login HTTP/2.0 90, HTTP/1.1 10" {
		t.Fatalf("login's row %q", f)
	}
	for i, want := range []float64{0, 2, 5, 0.1, 95, 1, 3} {
		got, err := strconv.ParseFloat(f[5+2*i], 64)
		if err != nil || f[6+2*i] != "ms" || math.Abs(got-want) > want*0.015 {
			t.Errorf("phase %d: %q %q, want %v ms within the sketch's accuracy", i, f[5+2*i], f[6+2*i], want)
		}
	}
	s.Endpoints = s.Endpoints[1:] // chat only: no phases
	b.Reset()
	if err := report.WriteText(&b, &s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "where time went") {
		t.Errorf("a table of phases without any:\n%s", b.String())
	}
}

// A phase threshold is evaluated like any other: its value in ms, and an
// endpoint without the phase is an error naming it.
func TestPhaseThresholds(t *testing.T) {
	s := report.Build("r", phasesResult(t, "endpoint[login].wait.p95<100ms", "endpoint[login].wait.p95<90ms",
		"endpoint[chat].wait.p95<1s", "queued.max<=3ms"), 2)
	for i, want := range []struct {
		ok    bool
		value float64
		err   string
	}{{true, 95, ""}, {false, 95, ""}, {false, 0, `endpoint[chat] has no "wait" phase`}, {true, 3, ""}} {
		th := s.Thresholds[i]
		if th.OK != want.ok || math.Abs(th.Value-want.value) > want.value*metrics.RelativeAccuracy ||
			!strings.Contains(th.Error, want.err) || (want.err == "") != (th.Error == "") || (want.err == "" && th.Unit != "ms") {
			t.Errorf("%s: %+v, want ok %v, value %v, error %q", th.Expr, th, want.ok, want.value, want.err)
		}
	}
}
