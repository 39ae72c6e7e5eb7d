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

func bhHTML(t *testing.T, s report.Summary) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteHTML(&b, &s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// planRows reads the "Plan: the offered load" list of the page.
func planRows(page string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`<dt>([^<]*)</dt><dd><code>([^<]*)</code></dd>`).FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// The HTML report says what load was offered, in the CLI's words: the
// rate or the VUs where a ramp starts (omitted when stages start from 0),
// max VUs when capped, the duration when there is one, and the stages.
func TestHTMLPlanRows(t *testing.T) {
	res := bhRun(t, engine.Open, []bhInterval{{requests: 1, latency: time.Millisecond}})
	res.Plan.Load.Rate, res.Plan.Load.MaxVUs, res.Plan.Load.Duration = 250, 12, time.Minute
	rows := planRows(bhHTML(t, report.Build("h", res, 2)))
	if rows["model"] != "open" || rows["rate"] != "250/s" || rows["max_vus"] != "12" || (rows["duration"] != "1m" && rows["duration"] != "1m0s") {
		t.Fatalf("open plan rows %v", rows)
	}
	if _, ok := rows["vus"]; ok {
		t.Fatalf("an open plan with vus: %v", rows)
	}
	res.Plan.Load.Rate, res.Plan.Load.MaxVUs, res.Plan.Load.Duration = 0, 0, 0
	res.Plan.Load.Stages = []engine.Stage{{Duration: 30 * time.Second, Target: 100}, {Duration: 10 * time.Second, Target: 0}}
	rows = planRows(bhHTML(t, report.Build("h", res, 2)))
	if _, ok := rows["rate"]; ok {
		t.Fatalf("a ramp from 0 shows a rate: %v", rows)
	}
	if _, ok := rows["max_vus"]; ok {
		t.Fatalf("uncapped VUs shown: %v", rows)
	}
	if _, ok := rows["duration"]; ok {
		t.Fatalf("a staged plan shows a duration: %v", rows)
	}
	if !strings.Contains(rows["stages"], "30s:100") || !strings.Contains(rows["stages"], "10s:0") {
		t.Fatalf("stages row %q", rows["stages"])
	}
	res.Plan.Load.Model, res.Plan.Load.VUs, res.Plan.Load.Stages = engine.Closed, 7, nil
	rows = planRows(bhHTML(t, report.Build("h", res, 2)))
	if rows["model"] != "closed" || rows["vus"] != "7" {
		t.Fatalf("closed plan rows %v", rows)
	}
	if _, ok := rows["rate"]; ok {
		t.Fatalf("a closed plan shows a rate: %v", rows)
	}
}

// Large counts get thousands separators; the page lists at most ten error
// messages and says how many more there were; classes that did not occur
// are not listed.
func TestHTMLCountsAndMessages(t *testing.T) {
	rec := metrics.NewRecorder(bhT0, []metrics.EndpointKey{{Name: "e", Method: "GET"}}, nil)
	for i := range 12 {
		rec.Record(i, 0, metrics.Outcome{Class: metrics.Timeout, Latency: time.Millisecond, Message: fmt.Sprintf("distinct message %02d", i)})
	}
	for range 988 {
		rec.Record(0, 0, metrics.Outcome{Latency: time.Millisecond})
	}
	s := rec.Snapshot(bhSec(1))
	s.Iterations = 1_234_567
	res := &controller.Result{Plan: bhRun(t, engine.Open, nil).Plan, Started: bhT0, Ended: bhSec(1), Timeline: []metrics.Snapshot{s}, Total: s}
	page := bhHTML(t, report.Build("h", res, 2))
	if !strings.Contains(page, ">1,000<") || !strings.Contains(page, "1,234,567 iterations") {
		t.Fatalf("counts without thousands separators (want 1,000 requests, 1,234,567 iterations)")
	}
	shown := 0
	for i := range 12 {
		if strings.Contains(page, fmt.Sprintf("distinct message %02d", i)) {
			shown++
		}
	}
	// The JSON embedded in the page holds all twelve; the visible list ten.
	data := page[strings.Index(page, `id="surge-data"`):]
	visible := strings.Replace(page, data, "", 1)
	shownVisible := 0
	for i := range 12 {
		if strings.Contains(visible, fmt.Sprintf("distinct message %02d", i)) {
			shownVisible++
		}
	}
	if shownVisible != 10 || !strings.Contains(visible, "2 more") {
		t.Fatalf("%d messages listed (of %d in the page), want 10 and \"2 more\"", shownVisible, shown)
	}
	if strings.Contains(visible, "status_4xx") && !strings.Contains(visible, "timeout") {
		t.Fatal("error classes listed wrongly")
	}
	for _, absent := range []string{">connection_refused<", ">status_5xx<"} {
		if strings.Contains(visible, absent) {
			t.Fatalf("a class that did not occur is listed: %s", absent)
		}
	}
}
