package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/result"
	"github.com/surgeload/surge/internal/scenario"
)

// flowsResult is a 2 s run of an order flow (a POST, then a poll of four
// attempts) in two intervals, recorded as an agent records it:
//
//	0–1 s: orders of 100, 200, …, 1000 ms; their polls 10 ms less.
//	1–2 s: orders of 1.1 … 2 s; the last failed, its poll timed out;
//	       3 orders cut short by the end of the run, with their polls
//	       (2 attempts each).
//
// A "browse" flow had only iterations cut short.
func flowsResult(thresholds ...string) *result.Result {
	eps := []metrics.EndpointKey{{Name: "place", Method: "POST"}, {Name: "wait for order", Method: "GET"}}
	rec := metrics.NewRecorder(bhT0, eps, nil)
	flows := metrics.NewFlowRecorder([]string{"order", "browse"})
	polls := metrics.NewFlowRecorder([]string{"wait for order"})
	snap := func(at time.Time) metrics.Snapshot {
		s := rec.Snapshot(at)
		s.Flows, s.Polls = flows.Snapshot(), polls.Snapshot()
		return s
	}
	var timeline []metrics.Snapshot
	for i := 1; i <= 20; i++ {
		rec.Record(i, 0, metrics.Outcome{Latency: 2 * time.Millisecond})
		for range 4 {
			rec.Record(i, 1, metrics.Outcome{Latency: time.Millisecond})
		}
		d := time.Duration(i) * 100 * time.Millisecond
		failed := i == 20
		flows.Record(i, 0, d, 5, failed, true)
		polls.Record(i, 0, d-10*time.Millisecond, 4, failed, !failed)
		rec.IterationDone()
		if i == 10 {
			timeline = append(timeline, snap(bhSec(1)))
		}
	}
	for i := range 3 {
		rec.Record(i, 0, metrics.Outcome{Latency: 2 * time.Millisecond})
		rec.Record(i, 1, metrics.Outcome{Latency: time.Millisecond})
		rec.Record(i, 1, metrics.Outcome{Latency: time.Millisecond})
		flows.RecordCut(i, 0, 3)
		polls.RecordCut(i, 0, 2)
		flows.RecordCut(i, 1, 1)
	}
	timeline = append(timeline, snap(bhSec(2)))
	plan := scenario.Plan{Name: "orders", Load: scenario.Load{Model: engine.Open, Rate: 10, Duration: 2 * time.Second},
		Thresholds: thresholds}
	return &result.Result{Plan: plan, Started: bhT0, Ended: bhSec(2), Timeline: timeline, Total: metrics.Add(timeline...)}
}

// The summary's flows and polls are the whole run's, as a user reads them
// in the JSON: exact counts, percentiles within the sketch's 1 %, null
// durations where none finished.
func TestSummaryFlowsAndPolls(t *testing.T) {
	m := bhJSON(t, report.Build("r", flowsResult(), 4))
	for _, c := range []struct {
		path []any
		want float64
	}{
		{[]any{"flows", 0, "iterations"}, 20},
		{[]any{"flows", 0, "errors"}, 1},
		{[]any{"flows", 0, "cut"}, 3},
		{[]any{"flows", 0, "requests"}, 109},
		{[]any{"flows", 0, "duration_ms", "p50"}, 1000},
		{[]any{"flows", 0, "duration_ms", "p99"}, 1900}, // rank 0.99·19 of 100…2000 ms
		{[]any{"flows", 0, "duration_ms", "max"}, 2000},
		{[]any{"flows", 0, "duration_ms", "min"}, 100},
		{[]any{"flows", 1, "iterations"}, 0},
		{[]any{"flows", 1, "cut"}, 3},
		{[]any{"flows", 1, "requests"}, 3},
		{[]any{"polls", 0, "polls"}, 20},
		{[]any{"polls", 0, "timeouts"}, 1},
		{[]any{"polls", 0, "cut"}, 3},
		{[]any{"polls", 0, "attempts"}, 86},
		{[]any{"polls", 0, "duration_ms", "max"}, 1890}, // the timed-out poll has no duration
	} {
		if got := bhNum(t, m, c.path...); got < 0.99*c.want || got > 1.01*c.want {
			t.Errorf("%v = %v, want %v ± 1%%", c.path, got, c.want)
		}
	}
	if got := bhGet(t, m, "flows", 1, "duration_ms"); got != nil {
		t.Errorf("browse: duration_ms %v, want null (no iteration finished)", got)
	}
	if n := bhGet(t, m, "flows", 0, "name"); n != "order" {
		t.Errorf("flows[0].name %v", n)
	}
	// Every request is in an endpoint row and in its flow's requests.
	if tot := bhNum(t, m, "totals", "requests"); tot != 20*5+3*3 {
		t.Errorf("totals.requests %v, want 109", tot)
	}
	// A run without flows says so with empty lists, not null.
	empty := bhJSON(t, report.Build("r", &result.Result{Started: bhT0, Ended: bhSec(1)}, 1))
	for _, k := range []string{"flows", "polls"} {
		if a, ok := empty[k].([]any); !ok || len(a) != 0 {
			t.Errorf("%s of a run without flows: %v, want []", k, empty[k])
		}
	}
}

// Flow thresholds are measured on the merged flows; a flow of which no
// iteration finished fails with the reason, and a flow the run lacks with
// its name.
func TestSummaryFlowThresholds(t *testing.T) {
	s := report.Build("r", flowsResult("flow[order].p99<2500ms", "flow[order].p50<500ms", "flow[order].errors<10%",
		"flow[browse].p99<1s", "flow[checkout].p99<1s", "flow[order].errors<1%"), 4)
	want := []struct {
		ok    bool
		value float64
		unit  string
		err   string
	}{
		{true, 1900, "ms", ""},
		{false, 1000, "ms", ""},
		{true, 5, "%", ""},
		{false, 0, "", `no iteration of flow "browse" finished (3 cut short by the end of the run)`},
		{false, 0, "", `no flow named "checkout"`},
		{false, 5, "%", ""},
	}
	for i, w := range want {
		g := s.Thresholds[i]
		if g.OK != w.ok || g.Unit != w.unit || g.Error != w.err || g.Value < 0.99*w.value || g.Value > 1.01*w.value {
			t.Errorf("%s: %+v, want %+v", g.Expr, g, w)
		}
	}
}

func TestTextFlows(t *testing.T) {
	s := report.Build("r", flowsResult(), 4)
	var b bytes.Buffer
	if err := report.WriteText(&b, &s); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, b.Bytes())
	for _, want := range []string{"  flow ", "  order ", "6 iterations were cut short by the end of the run (not in the percentiles)",
		"  poll ", "wait for order", "3 polls were cut short"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

// A run of one request per iteration (quick mode) has no flows table: its
// durations are its endpoint's row; a cut iteration or a poll step brings
// the table back.
func TestTextAndHTMLLeaveOutOneRequestFlows(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cut, poll bool
		want      bool
	}{
		{"one request per iteration", false, false, false},
		{"and one cut short", true, false, true},
		{"a poll of one attempt", false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "GET /", Method: "GET"}}, nil)
			flows := metrics.NewFlowRecorder([]string{"default"})
			polls := metrics.NewFlowRecorder([]string{"wait"})
			for i := range 10 {
				rec.Record(i, 0, metrics.Outcome{Latency: time.Millisecond})
				flows.Record(i, 0, time.Millisecond, 1, false, true)
			}
			if tc.cut {
				rec.Record(0, 0, metrics.Outcome{Latency: time.Millisecond})
				flows.RecordCut(0, 0, 1)
			}
			snap := rec.Snapshot(bhSec(1))
			snap.Flows = flows.Snapshot()
			if tc.poll {
				polls.Record(0, 0, time.Millisecond, 1, false, true)
				snap.Polls = polls.Snapshot()
			}
			s := report.Build("r", &result.Result{Started: bhT0, Ended: bhSec(1), Timeline: []metrics.Snapshot{snap}, Total: metrics.Add(snap)}, 1)
			if len(s.Flows) != 1 || s.Flows[0].Iterations != 10 {
				t.Fatalf("flows %+v: the JSON lists every flow", s.Flows)
			}
			var text, page bytes.Buffer
			if err := report.WriteText(&text, &s); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteHTML(&page, &s); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(text.String(), "  flow "); got != tc.want {
				t.Errorf("text has the flows table: %v, want %v\n%s", got, tc.want, text.String())
			}
			if got := strings.Contains(page.String(), `<section id="flows">`); got != tc.want {
				t.Errorf("page has the flows section: %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHTMLFlows(t *testing.T) {
	s := report.Build("r", flowsResult(), 4)
	var b bytes.Buffer
	if err := report.WriteHTML(&b, &s); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	i := strings.Index(page, `<section id="flows">`)
	if i < 0 || i < strings.Index(page, "<h2>Endpoints</h2>") {
		t.Fatalf("no flows section after the endpoints")
	}
	sec := page[i : i+strings.Index(page[i:], "</section>")]
	for _, want := range []string{
		"<th>order</th><td>20</td>", `<td class="bad">1 <small>(5%)</small></td>`, `<td class="bad">3</td><td>109</td>`,
		"<th>browse</th><td>0</td>", "<td>–</td><td>–</td><td>–</td><td>–</td><td>–</td>",
		"<th>wait for order</th><td>20</td>", "<td>86</td>",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("flows section lacks %q:\n%s", want, sec)
		}
	}
}
