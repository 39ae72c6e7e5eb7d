package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/report"
)

var htmlOut = flag.String("html-out", "", "also write TestWriteHTML's full page to this file, to look at in a browser")

// htmlFixture is a 40-second open-model run: a ramp to 50 VUs, a latency
// spike with errors from 25 s to 28 s, and strings that try to break out of
// the page. Every figure is decimal arithmetic, so the output is the same on
// every platform.
func htmlFixture() *report.Summary {
	classes := func(n5xx, timeout int64) map[string]int64 {
		return map[string]int64{"status_4xx": 0, "status_5xx": n5xx, "timeout": timeout, "connection_refused": 0,
			"connection_reset": 0, "dns": 0, "tls": 0, "check_failed": 0, "poll_timeout": 0, "ws_closed": 0, "grpc_status": 0, "other": 0}
	}
	s := &report.Summary{
		Schema: report.Schema,
		Run: report.Run{
			ID: "r-20261120-140307", Name: `shop <checkout> & "browse"`,
			Started: "2026-11-20T14:03:07.123Z", Ended: "2026-11-20T14:03:47.125Z", DurationS: 40.002,
			Model: "open", Status: "finished", MaxVUs: 50,
		},
		Totals: report.Totals{
			Requests: 41230, Errors: 262, ErrorRate: 0.6355, RPS: 1030.7,
			BytesSent: 5_412_880, BytesReceived: 187_345_920, Iterations: 20615, DroppedIterations: 37,
		},
		Latency: report.Latency{Min: 0.412, Mean: 18.734, P50: 11.2, P90: 32.5, P95: 48.1, P99: 212, P999: 1480, Max: 2003.5},
		Errors:  classes(174, 88),
		Endpoints: []report.EndpointSummary{
			{Name: "home", Method: "GET", Requests: 20615, Errors: 0, RPS: 515.35,
				Latency: report.Latency{Min: 0.412, Mean: 9.1, P50: 7.9, P90: 15.2, P95: 19.8, P99: 61.3, P999: 402, Max: 780.2},
				Classes: classes(0, 0),
				Phases: map[string]report.PhaseMs{
					"blocked": {}, "connect": {P99: 0.21, Max: 1.5}, "tls": {},
					"send": {P50: 0.012, P95: 0.03, P99: 0.05, Max: 0.4}, "wait": {P50: 7.6, P95: 19.1, P99: 60.2, Max: 779.5},
					"receive": {P50: 0.05, P95: 0.2, P99: 0.9, Max: 3.1}, "queued": {P50: 0.08, P95: 2.3, P99: 14, Max: 61.5}},
				Protocols: map[string]int64{"HTTP/1.1": 20615}},
			{Name: "checkout </script><b>", Method: "POST", Requests: 20615, Errors: 262, RPS: 515.35,
				Latency: report.Latency{Min: 2.1, Mean: 28.4, P50: 18.3, P90: 51.7, P95: 80.4, P99: 390.6, P999: 1620, Max: 2003.5},
				Classes: classes(174, 88),
				Phases: map[string]report.PhaseMs{
					"blocked": {P50: 0.01, P95: 4.2, P99: 30.5, Max: 410}, "connect": {Max: 2.2}, "tls": {Max: 6.4},
					"send": {P50: 0.02, P95: 0.04, P99: 0.08, Max: 0.9}, "wait": {P50: 18, P95: 74.9, P99: 352, Max: 2000},
					"receive": {P50: 0.1, P95: 0.3, P99: 1.2, Max: 8.8}},
				Protocols: map[string]int64{"HTTP/2.0": 20609, "unknown": 6}},
		},
		Checks: []report.CheckSummary{
			{Name: "status is 200", Passes: 20441, Fails: 174},
			{Name: "body has order id", Passes: 20615, Fails: 0},
		},
		Thresholds: []report.ThresholdOutcome{
			{Expr: "p95<200ms", OK: true, Value: 48.1, Unit: "ms"},
			{Expr: "p99<150ms", OK: false, Value: 212, Unit: "ms"},
			{Expr: "errors<1%", OK: true, Value: 0.6355, Unit: "%"},
			{Expr: "cart:p99<100ms", OK: false, Error: `no endpoint named "cart"`},
		},
		Generator: report.Generator{
			StartLag: report.Latency{Min: 0.001, Mean: 0.4, P50: 0.08, P90: 0.9, P95: 2.4, P99: 14.2, P999: 40.3, Max: 61.7},
			CPUMax:   1.42, Cores: 2,
			Warnings: []string{
				"iterations started late: start-lag p99 14ms (the generator or its VU pool fell behind schedule; latencies still count from the due time)",
				"37 iterations were dropped: no VU was free within the request timeout (raise --max-vus, or the target is saturated)",
			},
		},
	}
	s.Messages = []report.ErrorMessage{
		{Message: "POST /checkout: 503 Service Unavailable", Count: 174},
		{Message: "POST /checkout: context deadline exceeded (timeout 2s)", Count: 80},
		{Message: `</script><script>alert("owned")</script><!--`, Count: 8},
	}
	for i := range 10 {
		s.Messages = append(s.Messages, report.ErrorMessage{Message: fmt.Sprintf("rare message %d", i), Count: 1})
	}
	for i := range 40 {
		sec := i + 1
		vus := min(5*sec, 50)
		reqs := int64(20 * vus) // 1000 req/s at full load
		if sec%7 == 0 {
			reqs += 30
		}
		p := report.Point{
			T:       fmt.Sprintf("2026-11-20T14:03:%02d.123Z", 7+sec),
			Elapsed: float64(sec*1000+2) / 1000, Requests: reqs, RPS: float64(reqs*100+int64(sec%3)) / 100,
			P50: float64(100+sec%4*7) / 10, P90: float64(300+sec%5*11) / 10, P95: float64(450+sec%6*13) / 10,
			P99: float64(1200+sec%4*90) / 10, Max: float64(4000+sec%5*700) / 10,
			VUs: vus, MaxVUs: vus, LagP99: float64(sec%6) / 10, CPU: float64(80+sec%9*5) / 100,
		}
		if sec >= 25 && sec <= 28 { // the spike
			p.P99, p.Max, p.Errors = float64(3900+sec*10)/10, float64(20035-sec*100)/10, int64(60+sec%3)
			p.Dropped = int64(7 + sec%4)
		}
		s.Timeline = append(s.Timeline, p)
	}
	return s
}

// htmlLoadFixture is htmlFixture with the offered load and what happened to
// it: a plan ramping to 500/s, a live change to 250/s at 30 s and a stop, two
// intervals (34 s, 35 s) in which nothing completed, and a generator that
// could not keep up (limited, with a reason that tries to break the page).
func htmlLoadFixture() *report.Summary {
	s := htmlFixture()
	s.Plan = report.PlanInfo{Model: "open", MaxVUs: 50, Timeout: "2s",
		Stages: []report.StageInfo{{Duration: "10s", Target: 500}, {Duration: "30s", Target: 500}}}
	s.Totals.DueIterations = 20652
	for i := range s.Thresholds {
		s.Thresholds[i].Limited = true
	}
	s.Generator.Limited = true
	s.Generator.Reasons = []string{"start lag p99 14ms > 10ms", "37 due iterations dropped <b>"}
	s.Events = []report.Event{
		{T: "2026-11-20T14:03:37.123Z", Elapsed: 30, Kind: "rate", Value: 250},
		{T: "2026-11-20T14:03:46.500Z", Elapsed: 39.377, Kind: "stop", Detail: "stopped from the API"},
	}
	s.Windows = []report.Window{
		{From: 0, To: 10, Offered: 250, RPS: 550.3, Requests: 5503, P50: ptr(11.1), P99: ptr(120.5)},
		{From: 10, To: 20, Offered: 500, RPS: 1000.2, Requests: 10002, P50: ptr(11.5), P99: ptr(130)},
		{From: 30, To: 40, Offered: 250, Requests: 0, Dropped: 5},
	}
	for i := range s.Timeline {
		p := &s.Timeline[i]
		sec := i + 1
		offered := float64(min(sec, 10) * 50)
		if sec > 30 { // the live change
			offered = 250
		}
		p.Offered = &offered
		if sec == 34 || sec == 35 { // nothing completed: no latency
			p.Requests, p.RPS, p.P50, p.P90, p.P95, p.P99, p.Max = 0, 0, 0, 0, 0, 0, 0
		}
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// vendored are the inlined third-party files, replaced by placeholders in the
// golden file so that its diffs show our own changes.
var vendored = []string{"assets/uPlot.iife.min.js", "assets/uPlot.min.css"}

func TestWriteHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, htmlLoadFixture()); err != nil {
		t.Fatal(err)
	}
	if *htmlOut != "" {
		if err := os.WriteFile(*htmlOut, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkGolden(t, []byte(withoutVendored(t, buf.String())))
}

// withoutVendored replaces the inlined third-party files in page with
// placeholders.
func withoutVendored(t *testing.T, page string) string {
	t.Helper()
	for _, name := range vendored {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(page, string(b)); n != 1 {
			t.Fatalf("%s is inlined %d times, want once", name, n)
		}
		page = strings.Replace(page, string(b), fmt.Sprintf("/* %s: %d bytes, inlined verbatim */", name, len(b)), 1)
	}
	return page
}

// TestWriteHTMLMonitors: a run with monitors gets a "Target monitors"
// section under the load charts: one chart per monitor and unit, with the
// timeline's series keys, and a table of every series (golden). A monitor
// whose every scrape failed says so and has no chart.
func TestWriteHTMLMonitors(t *testing.T) {
	s, _ := monitorFixture(t)
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, s); err != nil {
		t.Fatal(err)
	}
	if *htmlOut != "" {
		if err := os.WriteFile(strings.TrimSuffix(*htmlOut, ".html")+"-monitors.html", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page := buf.String()
	checkGolden(t, []byte(withoutVendored(t, page)))

	over, mons := strings.Index(page, `id="chart-errors"`), strings.Index(page, `<section id="monitors">`)
	if over < 0 || mons < over {
		t.Errorf("monitor section at %d, load charts at %d: want it under them", mons, over)
	}
	charts := regexp.MustCompile(`<div class="chart monitor-chart" id="([^"]+)" data-monitor="([^"]+)" data-unit="([^"]*)"`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, c := range charts {
		got = append(got, c[2]+" "+c[3])
	}
	// api's timeline series: CPU % (host, worker), bytes (memory, RSS),
	// listen overflows/s; db has none.
	if want := []string{"api %", "api B", "api /s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("monitor charts %q, want %q", got, want)
	}
	for _, want := range []string{
		`process_cpu_percent_of_limit{name=&#34;gunicorn&#34;,pid=&#34;4242&#34;}`, // a key in data-series and the table
		`<th><code>host_cpu_busy_percent</code></th><td>40%</td><td>76.20%</td><td>98%</td><td>40%</td>`,
		`<th><code>host_memory_available_bytes</code></th><td>1.4 GiB</td>`,
		`7 scrapes, 1 failed · 12 series dropped (cap)`,
		"<summary>1 more series from the endpoint</summary>", // node_load1, folded away
		`Every scrape failed: <code>scraping http://127.0.0.1:1/metrics: dial tcp 127.0.0.1:1: connect: connection refused</code>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestWriteHTMLNoMonitors: without monitors the page has nothing about them.
func TestWriteHTMLNoMonitors(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, htmlLoadFixture()); err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(buf.String(), `id="monitors"`); i >= 0 {
		t.Errorf("a run without monitors has a monitors section")
	}
}

// TestWriteHTMLInlineAssets checks that the files inlined verbatim cannot end
// their <script> or <style> element early.
func TestWriteHTMLInlineAssets(t *testing.T) {
	for _, tc := range []struct{ file, bad string }{
		{"assets/uPlot.iife.min.js", "</script"},
		{"assets/uPlot.iife.min.js", "<!--"},
		{"assets/report.js", "</script"},
		{"assets/report.js", "<!--"},
		{"assets/monitors.js", "</script"},
		{"assets/monitors.js", "<!--"},
		{"assets/uPlot.min.css", "</style"},
		{"assets/report.css", "</style"},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(b)), tc.bad) {
			t.Errorf("%s contains %q", tc.file, tc.bad)
		}
	}
}

var external = regexp.MustCompile(`(?i)(\b(src|href|action)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import)`)

// TestWriteHTMLOffline checks that the page loads nothing from the network.
func TestWriteHTMLOffline(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *report.Summary
	}{
		{"full", htmlFixture()},
		{"load", htmlLoadFixture()},
		{"empty", &report.Summary{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.WriteHTML(&buf, tc.s); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			if m := external.FindAllString(page, -1); m != nil {
				t.Errorf("page refers to the network: %q", m)
			}
			for _, want := range []string{"<style>.uplot", "var uPlot=", `id="surge-data"`} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}

// TestWriteHTMLData checks that the summary embedded for the charts decodes
// back to the one rendered, even when its strings contain markup.
func TestWriteHTMLData(t *testing.T) {
	const open = `<script type="application/json" id="surge-data">`
	for _, tc := range []struct {
		name string
		s    *report.Summary
	}{
		{"full", htmlFixture()},
		{"load", htmlLoadFixture()},
		{"empty", &report.Summary{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.WriteHTML(&buf, tc.s); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			if n := strings.Count(page, open); n != 1 {
				t.Fatalf("page has %d data elements, want 1", n)
			}
			// The element ends at the first "</script" whatever the JSON
			// says, so a string that escaped badly shows up as a truncated,
			// undecodable document here.
			data, _, ok := strings.Cut(page[strings.Index(page, open)+len(open):], "</script")
			if !ok {
				t.Fatal("data element is not closed")
			}
			if strings.ContainsAny(data, "<>") {
				t.Errorf("embedded JSON contains raw markup characters: %.200s", data)
			}
			var got report.Summary
			if err := json.Unmarshal([]byte(data), &got); err != nil {
				t.Fatalf("decoding embedded JSON: %v\n%.300s", err, data)
			}
			if !reflect.DeepEqual(&got, tc.s) {
				t.Errorf("embedded JSON does not round-trip:\ngot  %+v\nwant %+v", got, *tc.s)
			}
		})
	}
}
