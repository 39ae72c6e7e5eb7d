package report_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
)

var msRE = regexp.MustCompile(`[0-9.]+ ?ms`)

func bhText(t *testing.T, s report.Summary) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteText(&b, &s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The terminal summary shows the error section only when there are
// errors, with the classes that occurred and at most five messages.
func TestTextErrorSection(t *testing.T) {
	clean := bhText(t, report.Build("x", bhRun(t, engine.Open, []bhInterval{{requests: 10, latency: time.Millisecond}}), 2))
	if strings.Contains(clean, "errors    ") {
		t.Fatalf("an error section without errors:\n%s", clean)
	}
	rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "e", Method: "GET"}}, nil)
	for i := range 7 {
		for j := range i + 1 {
			rec.Record(j, 0, metrics.Outcome{Class: metrics.Timeout, Latency: time.Millisecond, Message: fmt.Sprintf("m%d", i)})
		}
	}
	rec.Record(0, 0, metrics.Outcome{Class: metrics.Status4xx, Latency: time.Millisecond, Message: "404 Not Found"})
	rec.Record(0, 0, metrics.Outcome{Latency: time.Millisecond})
	s := rec.Snapshot(bhSec(1))
	res := &controller.Result{Plan: bhRun(t, engine.Open, nil).Plan, Started: bhT0, Ended: bhSec(1), Timeline: []metrics.Snapshot{s}, Total: s}
	out := bhText(t, report.Build("x", res, 2))
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  errors") {
			line = l
		}
	}
	if line != "  errors     status_4xx 1 timeout 28" {
		t.Fatalf("errors line %q, want the classes that occurred, in order:\n%s", line, out)
	}
	// 8 distinct messages: the five most frequent, then how many more.
	for _, m := range []string{"timeout: m6", "timeout: m5", "timeout: m4", "timeout: m3", "timeout: m2"} {
		if !strings.Contains(out, m) {
			t.Errorf("message %q missing:\n%s", m, out)
		}
	}
	if strings.Contains(out, "timeout: m1\n") || !strings.Contains(out, "… 3 more messages") {
		t.Fatalf("want five messages and \"… 3 more messages\":\n%s", out)
	}
}

// Checks and thresholds are marked ✓ or ✗; a pass on a generator-limited
// run says that it says little; the generator line appears when there is
// start lag or a warning.
func TestTextChecksThresholdsAndGenerator(t *testing.T) {
	rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "e", Method: "GET"}}, []string{"good", "bad"})
	for i := range 10 {
		rec.Record(i, 0, metrics.Outcome{Latency: 3 * time.Millisecond})
		rec.RecordCheck(i, 0, true)
		rec.RecordCheck(i, 1, i > 0)
		rec.RecordLag(i, 20*time.Millisecond)
	}
	s := rec.Snapshot(bhSec(1))
	plan := bhRun(t, engine.Open, nil).Plan
	plan.Thresholds = []string{"p99<1s", "requests>100", "endpoint[zz].p99<1s"}
	res := &controller.Result{Plan: plan, Started: bhT0, Ended: bhSec(1), Timeline: []metrics.Snapshot{s}, Total: s}
	out := bhText(t, report.Build("x", res, 2))
	for _, want := range []string{
		"✓ good: 10 passed, 0 failed",
		"✗ bad: 9 passed, 1 failed",
		"✗ requests>100 (measured 10)",
		"✗ endpoint[zz].p99<1s (no endpoint named \"zz\")",
		"⚠ iterations started late",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// (latencies are matched loosely: their style is the renderer's)
	for _, re := range []string{
		`✓ p99<1s \(measured 3(\.0+)? ?ms; generator-limited run: the pass says little about the target\)`,
		`generator  start lag p50 20(\.0+)? ?ms  p99 20(\.0+)? ?ms  max 20(\.0+)? ?ms   cpu peak 0 of 2 cores`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no line matching %s in:\n%s", re, out)
		}
	}
	easy := bhText(t, report.Build("x", bhRun(t, engine.Closed, []bhInterval{{requests: 10, latency: time.Millisecond}}), 2))
	if strings.Contains(easy, "generator  start lag") || strings.Contains(easy, "⚠") || strings.Contains(easy, "checks") || strings.Contains(easy, "thresholds") {
		t.Fatalf("a clean closed run shows generator, checks or thresholds sections:\n%s", easy)
	}
}

// The windows table is shown for runs whose load changes (stages or live
// changes) and that have more than one window; it says offered/s in the
// open model and VUs in the closed one, and "–" where no request completed.
func TestTextWindowsTable(t *testing.T) {
	ivs := []bhInterval{{requests: 10, latency: time.Millisecond, due: 10, maxVUs: 2}, {requests: 20, latency: 2 * time.Millisecond, due: 20, maxVUs: 4}, {due: 30, maxVUs: 6}}
	flat := bhRun(t, engine.Open, ivs)
	if out := bhText(t, report.Build("x", flat, 2)); strings.Contains(out, "achieved/s") {
		t.Fatalf("a windows table for a constant run:\n%s", out)
	}
	staged := bhRun(t, engine.Open, ivs)
	staged.Plan.Load.Stages = []engine.Stage{{Duration: 3 * time.Second, Target: 30}}
	out := bhText(t, report.Build("x", staged, 2))
	if !strings.Contains(out, "offered/s") || !strings.Contains(out, "achieved/s") {
		t.Fatalf("no windows table for a staged run:\n%s", out)
	}
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "s  ") && strings.Contains(l, "–") && strings.HasPrefix(strings.TrimSpace(l), fmt.Sprint(len(rows))) {
			l = msRE.ReplaceAllString(l, "MS")
			rows = append(rows, strings.Join(strings.Fields(l), " "))
		}
	}
	want := []string{"0–1s 10 10 MS MS 0 0", "1–2s 20 20 MS MS 0 0", "2–3s 30 0 – – 0 0"}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("window rows %q, want %q:\n%s", rows, want, out)
	}
	live := bhRun(t, engine.Closed, ivs)
	live.Events = []controller.Event{{At: bhSec(1), Kind: controller.EventVUs, Value: 4}}
	out = bhText(t, report.Build("x", live, 2))
	if !strings.Contains(out, "VUs") || !strings.Contains(out, "achieved/s") {
		t.Fatalf("no VUs windows table after a live change:\n%s", out)
	}
	stopped := bhRun(t, engine.Closed, ivs)
	stopped.Events = []controller.Event{{At: bhSec(1), Kind: controller.EventStop}}
	if out := bhText(t, report.Build("x", stopped, 2)); strings.Contains(out, "achieved/s") {
		t.Fatalf("a stop alone is no load change, but the windows table is shown:\n%s", out)
	}
	one := bhRun(t, engine.Open, ivs[:1])
	one.Plan.Load.Stages = staged.Plan.Load.Stages
	if out := bhText(t, report.Build("x", one, 2)); strings.Contains(out, "achieved/s") {
		t.Fatalf("a windows table of one row:\n%s", out)
	}
}

// Data sizes in the header: bytes below 1 KiB, then KiB, MiB, … with one decimal.
func TestTextDataSizes(t *testing.T) {
	for _, tt := range []struct {
		sent int64
		want string
	}{{0, "sent 0 B"}, {1023, "sent 1023 B"}, {1024, "sent 1.0 KiB"}, {1536, "sent 1.5 KiB"}, {1 << 20, "sent 1.0 MiB"}, {3 << 30, "sent 3.0 GiB"}} {
		rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "e", Method: "GET"}}, nil)
		rec.Record(0, 0, metrics.Outcome{Latency: time.Millisecond, BytesSent: tt.sent})
		s := rec.Snapshot(bhSec(1))
		res := &controller.Result{Plan: bhRun(t, engine.Open, nil).Plan, Started: bhT0, Ended: bhSec(1), Timeline: []metrics.Snapshot{s}, Total: s}
		if out := bhText(t, report.Build("x", res, 2)); !strings.Contains(out, tt.want+"   ") {
			t.Errorf("%d bytes: want %q in:\n%s", tt.sent, tt.want, out)
		}
	}
}
