//go:build browser

package server_test

import (
	"context"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/surgeload/surge/internal/monitor"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// Series keys of the monitor fixture (docs/summary.md: timeline[].monitors).
const (
	monCPU    = "host_cpu_busy_percent"
	monMem    = "host_memory_available_bytes"
	monRx     = "host_network_receive_bytes_per_second"
	monTx     = "host_network_transmit_bytes_per_second"
	monEstab  = "host_tcp_established"
	monOver   = "host_tcp_listen_overflows_per_second"
	monWorker = `{name="gunicorn",pid="4242"}`
)

// monitorSummary is a finished n-second run at 100 requests/s with two
// monitors in the documented shape: "api", whose host CPU climbs to 100 %
// with one gunicorn worker, and whose scrape in interval failed fails (a
// gap in every series), and "db", refused every time.
func monitorSummary(id string, n, failed int) *report.Summary {
	started := time.Date(2026, 11, 20, 14, 3, 7, 0, time.UTC)
	s := &report.Summary{Schema: report.Schema,
		Run: report.Run{ID: id, Name: "checkout with monitors", Model: "open", Status: "finished",
			Started: started.Format(time.RFC3339Nano), Ended: started.Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano),
			DurationS: float64(n), MaxVUs: 10},
		Totals:  report.Totals{Requests: int64(100 * n), RPS: 100, Iterations: int64(100 * n)},
		Latency: report.Latency{P50: 20, P90: 40, P95: 50, P99: 80, Max: 120},
		Errors:  map[string]int64{}, Messages: []report.ErrorMessage{}, Endpoints: []report.EndpointSummary{}, Checks: []report.CheckSummary{},
		Thresholds: []report.ThresholdOutcome{}, Generator: report.Generator{Warnings: []string{}, Reasons: []string{}}, Warnings: []string{},
	}
	v := func(x float64) *float64 { return &x }
	for i := 1; i <= n; i++ {
		p := report.Point{T: started.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano), Elapsed: float64(i),
			Requests: 100, RPS: 100, P50: 20, P90: 40, P95: 50, P99: 80, Max: 120, VUs: 10, MaxVUs: 10}
		api := map[string]*float64{
			monCPU: v(min(100, float64(5*i))), monMem: v(float64(2<<30 - i*(50<<20))),
			monRx: v(float64(i * 100_000)), monTx: v(float64(i * 400_000)), monEstab: v(float64(10 + i)), monOver: v(float64(max(0, i-15))),
			"process_cpu_percent_of_limit" + monWorker: v(min(100, float64(6*i))), "process_rss_bytes" + monWorker: v(float64(120<<20 + i*(1<<20))),
		}
		if i == failed {
			for k := range api {
				api[k] = nil
			}
		}
		p.Monitors = map[string]map[string]*float64{"api": api, "db": {}}
		s.Timeline = append(s.Timeline, p)
	}
	worker := map[string]string{"name": "gunicorn", "pid": "4242"}
	none := map[string]string{}
	s.Monitors = []report.MonitorSummary{
		{Name: "api", URL: "http://127.0.0.1:9465/metrics", Scrapes: n, Failed: 1, LastError: "scraping http://127.0.0.1:9465/metrics: timed out after 1s",
			Series: []report.MonitorSeries{
				{Name: monCPU, Labels: none, Unit: "%", Min: 5, Mean: 52.5, Max: 100, Last: 100},
				{Name: monMem, Labels: none, Unit: "B", Min: 1 << 30, Mean: 1.5 * (1 << 30), Max: 2 << 30, Last: 1 << 30},
				{Name: monRx, Labels: none, Unit: "B/s", Min: 1e5, Mean: 1e6, Max: 2e6, Last: 2e6},
				{Name: monTx, Labels: none, Unit: "B/s", Min: 4e5, Mean: 4e6, Max: 8e6, Last: 8e6},
				{Name: monEstab, Labels: none, Unit: "", Min: 11, Mean: 20, Max: 30, Last: 30},
				{Name: monOver, Labels: none, Unit: "/s", Min: 0, Mean: 1, Max: 5, Last: 5},
				{Name: "process_cpu_percent_of_limit", Labels: worker, Unit: "%", Min: 6, Mean: 60, Max: 100, Last: 100},
				{Name: "process_rss_bytes", Labels: worker, Unit: "B", Min: 121 << 20, Mean: 130 << 20, Max: 140 << 20, Last: 140 << 20},
				{Name: "node_load1", Labels: none, Unit: "", Min: 0.5, Mean: 1.5, Max: 2.5, Last: 2.5},
			}},
		{Name: "db", URL: "http://127.0.0.1:1/metrics", Scrapes: n, Failed: n, Series: []report.MonitorSeries{},
			LastError: "scraping http://127.0.0.1:1/metrics: dial tcp 127.0.0.1:1: connect: connection refused"},
	}
	return s
}

// monitorFixtures: fx-mon, a finished run with monitors; fx-mon-live, the
// same run while it runs (a state with 8 intervals, then 12 live ones);
// and fx-mon-a/fx-mon-b, a pair to compare.
func monitorFixtures() map[string]any {
	base := issue9Fixtures()["GET /api/v1/runs/fx-open"].(map[string]any)["body"].(map[string]any)
	runOf := func(id, status string) map[string]any {
		r := maps.Clone(base)
		r["id"], r["name"], r["status"] = id, "checkout with monitors", status
		r["events"] = []any{}
		if status == "running" {
			r["control"] = "rate"
			delete(r, "ended")
		}
		return r
	}
	fin := monitorSummary("fx-mon", 20, 12)
	finState := map[string]any{"run": runOf("fx-mon", "finished"), "summary": fin}

	live := monitorSummary("fx-mon-live", 20, 12)
	live.Run.Status = "running"
	head := *live
	head.Timeline = live.Timeline[:8]
	events := []any{map[string]any{"event": "state", "data": map[string]any{"run": runOf("fx-mon-live", "running"), "summary": &head}}}
	for _, p := range live.Timeline[8:] {
		events = append(events, map[string]any{"event": "interval", "data": map[string]any{"point": p, "summary": live}})
	}

	a, b := monitorSummary("fx-mon-a", 20, 0), monitorSummary("fx-mon-b", 20, 5)
	for i := range b.Timeline { // B's host is busier
		if c := b.Timeline[i].Monitors["api"][monCPU]; c != nil {
			*c = min(100, *c*1.5)
		}
	}
	fx := issue9Fixtures()
	metric := func(name, unit string, a, b float64) map[string]any {
		return map[string]any{"name": name, "unit": unit, "better": "lower", "a": a, "b": b, "delta": b - a, "verdict": "same"}
	}
	info := func(id string) map[string]any {
		r := runOf(id, "finished")
		r["load"] = "open · 100/s · 20s"
		return r
	}
	return map[string]any{
		"GET /api/v1/runs/fx-mon":             map[string]any{"body": finState["run"]},
		"SSE /api/v1/runs/fx-mon/events":      []any{map[string]any{"event": "state", "data": finState}, map[string]any{"event": "end", "data": finState}},
		"GET /api/v1/runs/fx-mon-live":        map[string]any{"body": runOf("fx-mon-live", "running")},
		"SSE /api/v1/runs/fx-mon-live/events": events,
		"GET /api/v1/runs":                    fx["GET /api/v1/runs"],
		"GET /api/v1/runs/fx-open":            fx["GET /api/v1/runs/fx-open"],
		"SSE /api/v1/runs/fx-open/events":     fx["SSE /api/v1/runs/fx-open/events"],
		"GET /api/v1/compare?a=fx-mon-a&b=fx-mon-b": map[string]any{"body": map[string]any{
			"a": info("fx-mon-a"), "b": info("fx-mon-b"),
			"metrics": []any{metric("p50", "ms", 20, 20), metric("p95", "ms", 50, 50), metric("p99", "ms", 80, 80), metric("rps", "/s", 100, 100), metric("error_rate", "%", 0, 0)},
			"verdict": "same", "reason": "", "notes": []any{}, "steady_intervals": []int{18, 18}, "enough_data": true}},
		"GET /api/v1/runs/fx-mon-a/timeline": map[string]any{"body": map[string]any{"points": a.Timeline}},
		"GET /api/v1/runs/fx-mon-b/timeline": map[string]any{"body": map[string]any{"points": b.Timeline}},
	}
}

// hover moves the mouse to the middle of the plot area of the chart el
// (an element id), as a user would.
func (b *browser) hover(id string, frac float64) {
	b.t.Helper()
	b.do("scroll to "+id, chromedp.Evaluate[chromedp.Void](`document.querySelector("#`+id+`").scrollIntoView({block: "center"})`))
	r := eval[[]float64](b, `(() => { const r = document.querySelector("#`+id+` .u-over").getBoundingClientRect();
		return [r.left, r.top, r.width, r.height]; })()`)
	x, y := r[0]+r[2]*frac, r[1]+r[3]/2
	b.do("hover "+id, chromedp.MouseEvent(chromedp.MouseMoved, x, y))
}

// xRange is a uPlot's x scale [min, max]; plot is a JS expression.
func xRange(b *browser, plot string) []float64 {
	b.t.Helper()
	return eval[[]float64](b, `[`+plot+`.scales.x.min, `+plot+`.scales.x.max]`)
}

// The dashboard's run page draws the target monitors' charts under the
// load charts: one per monitor and unit, on the load charts' x range, with
// the hover synced; a failed scrape is a gap; each monitor's table lists
// its series and scrapes. Live points are appended to them, and compare
// overlays each monitor series of A and B.
func TestBrowserMonitors(t *testing.T) {
	b := newBrowser(t)
	e := startServer(t, server.Options{})
	b.addShim(monitorFixtures())
	b.do("log in",
		chromedp.Navigate(e.ts.URL+"/#/login"),
		chromedp.WaitVisible(chromedp.ID("login-secret")),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("history-empty")),
	)

	t.Run("finished run", func(t *testing.T) {
		b.t = t
		b.do("open the run", chromedp.Navigate(e.ts.URL+"/#/runs/fx-mon"), chromedp.WaitVisible(chromedp.ID("monitor-charts")))
		b.waitFor("monitor charts drawn", `+(document.getElementById("chart-monitor-0")?.dataset.points || 0) === 20`, 5*time.Second)
		charts := eval[[]string](b, `[...document.querySelectorAll("#monitor-charts [data-monitor]")].map(el => el.dataset.monitor + " " + el.dataset.unit)`)
		if want := []string{"api %", "api B", "api B/s", "api /s", "api "}; strings.Join(charts, "|") != strings.Join(want, "|") {
			t.Errorf("monitor charts %q, want %q", charts, want)
		}
		// Under the load charts.
		if below := eval[bool](b, `document.getElementById("chart-vus").getBoundingClientRect().bottom <= document.getElementById("monitor-charts").getBoundingClientRect().top`); !below {
			t.Error("the monitor charts are not under the load charts")
		}
		legend := eval[string](b, `document.getElementById("chart-monitor-0").chart.plot.series.map(s => s.label).join("|")`)
		if legend != "s|host CPU|gunicorn[4242] CPU % of limit" {
			t.Errorf("CPU chart series %q", legend)
		}
		cpu := eval[[]any](b, `document.getElementById("chart-monitor-0").chart.plot.data[1]`)
		if len(cpu) != 20 || cpu[0] != 5.0 || cpu[10] != 55.0 || cpu[11] != nil || cpu[19] != 100.0 {
			t.Errorf("host CPU series %v: want 5 %% at 1 s, a gap at 12 s, 100 %% at 20 s", cpu)
		}
		load, mon := xRange(b, `document.getElementById("chart-rps").chart.plot`), xRange(b, `document.getElementById("chart-monitor-1").chart.plot`)
		if load[0] != mon[0] || load[1] != mon[1] || load[1] != 20 {
			t.Errorf("x range: load charts %v, monitor chart %v", load, mon)
		}
		b.hover("chart-rps", 0.5)
		b.waitFor("the monitor chart's cursor follows", `document.getElementById("chart-monitor-2").chart.plot.cursor.idx === document.getElementById("chart-rps").chart.plot.cursor.idx && document.getElementById("chart-rps").chart.plot.cursor.idx != null`, 3*time.Second)
		idx := eval[float64](b, `document.getElementById("chart-rps").chart.plot.cursor.idx`)
		if idx < 7 || idx > 12 {
			t.Errorf("hover in the middle of the throughput chart: index %v", idx)
		}
		table := eval[string](b, `document.querySelector('#monitor-tables [data-monitor="api"]').textContent`)
		for _, want := range []string{"20 scrapes, 1 failed", `process_rss_bytes{name="gunicorn",pid="4242"}`, "140.0 MiB", "1.0 GiB", "7.6 MiB/s", "100%", "1 more series from the endpoint"} {
			if !strings.Contains(table, want) {
				t.Errorf("api table lacks %q: %s", want, table)
			}
		}
		if db := eval[string](b, `document.querySelector('#monitor-tables [data-monitor="db"]').textContent`); !strings.Contains(db, "Every scrape failed") || !strings.Contains(db, "connection refused") {
			t.Errorf("db: %s", db)
		}
		b.do("scroll to the monitors", chromedp.Evaluate[chromedp.Void](`document.getElementById("run-monitors").scrollIntoView()`))
		b.shot("run-monitors")
		b.do("Korean", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "ko")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("monitor-charts")))
		if got := eval[string](b, `document.querySelector("#run-monitors h2").textContent`); got != "대상 모니터" {
			t.Errorf("Korean heading %q", got)
		}
		b.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "en")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("monitor-charts")))
	})

	// The same run stored in the real server's history, as `surge run
	// --monitor … --server` records it: the summary goes through the store
	// and the server's API unchanged.
	t.Run("stored run", func(t *testing.T) {
		b.t = t
		ctx := context.Background()
		sum := monitorSummary("r-mon-stored", 20, 12)
		started, _ := time.Parse(time.RFC3339Nano, sum.Run.Started)
		plan := []byte(`{"name":"checkout with monitors","target":"http://127.0.0.1:8080","load":{"model":1,"rate":100,"duration":20000000000},"flows":[{"name":"checkout","weight":1,"steps":[{"method":"GET","url":"/"}]}]}`)
		if err := e.st.Create(ctx, store.Run{ID: sum.Run.ID, Name: sum.Run.Name, Source: store.SourceCLI, Model: "open", Started: started, Plan: plan}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.Finish(ctx, sum.Run.ID, store.Finished, "", sum); err != nil {
			t.Fatal(err)
		}
		b.do("open the stored run", chromedp.Navigate(e.ts.URL+"/#/runs/r-mon-stored"), chromedp.WaitVisible(chromedp.ID("monitor-charts")))
		b.waitFor("monitor charts drawn", `+(document.getElementById("chart-monitor-0")?.dataset.points || 0) === 20`, 5*time.Second)
		if n := eval[float64](b, `document.querySelectorAll("#monitor-charts [data-monitor]").length`); n != 5 {
			t.Errorf("%v monitor charts, want 5", n)
		}
		if got := eval[[]any](b, `document.getElementById("chart-monitor-1").chart.plot.data[2]`); len(got) != 20 || got[11] != nil || got[0] != float64(121<<20) {
			t.Errorf("RSS series %v", got)
		}
	})

	t.Run("live", func(t *testing.T) {
		b.t = t
		b.do("open the live run", chromedp.Navigate(e.ts.URL+"/#/runs/fx-mon-live"), chromedp.WaitVisible(chromedp.ID("monitor-charts")))
		b.waitFor("live points appended", `+(document.getElementById("chart-rps")?.dataset.points || 0) === 20 && +(document.getElementById("chart-monitor-0")?.dataset.points || 0) === 20`, 5*time.Second)
		rx := eval[[]any](b, `document.getElementById("chart-monitor-2").chart.plot.data[1]`)
		if len(rx) != 20 || rx[7] != 800000.0 || rx[11] != nil || rx[19] != 2e6 {
			t.Errorf("network rx series %v", rx)
		}
		load, mon := xRange(b, `document.getElementById("chart-latency").chart.plot`), xRange(b, `document.getElementById("chart-monitor-4").chart.plot`)
		if load[0] != mon[0] || load[1] != mon[1] || load[1] != 20 {
			t.Errorf("x range: load charts %v, monitor chart %v", load, mon)
		}
	})

	t.Run("no monitors", func(t *testing.T) {
		b.t = t
		b.do("open a run without monitors", chromedp.Navigate(e.ts.URL+"/#/runs/fx-open"), chromedp.WaitVisible(chromedp.ID("tile-dropped")))
		if shown := eval[bool](b, `!document.getElementById("run-monitors").hidden`); shown {
			t.Error("a run without monitors shows a monitors section")
		}
	})

	t.Run("compare", func(t *testing.T) {
		b.t = t
		b.do("compare", chromedp.Navigate(e.ts.URL+"/#/compare?a=fx-mon-a&b=fx-mon-b"), chromedp.WaitVisible(chromedp.ID("compare-monitors")))
		keys := eval[[]string](b, `[...document.querySelectorAll("#compare-monitors [data-key]")].map(el => el.dataset.key)`)
		if len(keys) != 8 || keys[0] != monCPU {
			t.Errorf("compare monitor charts %q, want the 8 api series, host CPU first", keys)
		}
		cpu := eval[[][]any](b, `document.getElementById("compare-chart-monitor-0").chart.plot.data.slice(1)`)
		if len(cpu) != 2 || len(cpu[0]) != 20 || cpu[0][1] != 10.0 || cpu[1][1] != 15.0 || cpu[1][4] != nil {
			t.Errorf("compare host CPU A, B = %v", cpu)
		}
		b.do("scroll to the monitors", chromedp.Evaluate[chromedp.Void](`document.getElementById("compare-monitors").scrollIntoView()`))
		b.shot("compare-monitors")
	})
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// The HTML report of a run with monitors: one chart per monitor and unit
// under the load charts, on their x range, hover and zoom synced, a gap
// for the failed scrape, and each monitor's table.
func TestBrowserHTMLReportMonitors(t *testing.T) {
	b := newBrowser(t)
	s := monitorSummary("r-mon", 20, 12)
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHTML(f, s); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b.do("open the report", chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("#chart-monitor-0-0 .uplot")))
	ids := eval[[]string](b, `[...document.querySelectorAll(".monitor-chart")].map(el => el.id + " " + el.dataset.unit + " " + el.plot.data[0].length)`)
	if want := "chart-monitor-0-0 % 20|chart-monitor-0-1 B 20|chart-monitor-0-2 B/s 20|chart-monitor-0-3 /s 20|chart-monitor-0-4  20"; strings.Join(ids, "|") != want {
		t.Errorf("monitor charts %q, want %q", ids, want)
	}
	mem := eval[[]any](b, `document.getElementById("chart-monitor-0-1").plot.data[1]`)
	if len(mem) != 20 || mem[11] != nil || mem[0] != float64(2<<30-50<<20) {
		t.Errorf("memory series %v", mem)
	}
	// The plot areas line up: same left edge and width as the load charts.
	over := func(id string) []float64 {
		return eval[[]float64](b, `(() => { const r = document.querySelector("#`+id+` .u-over").getBoundingClientRect(); return [r.left, r.width]; })()`)
	}
	if l, m := over("chart-rps"), over("chart-monitor-0-2"); math.Abs(l[0]-m[0]) > 1 || math.Abs(l[1]-m[1]) > 1 {
		t.Errorf("plot area: load %v, monitor %v", l, m)
	}
	b.hover("chart-rps", 0.25)
	b.waitFor("the monitor charts' cursor follows", `document.getElementById("chart-monitor-0-4").plot.cursor.idx === document.getElementById("chart-rps").plot.cursor.idx && document.getElementById("chart-rps").plot.cursor.idx != null`, 3*time.Second)
	// Zoom: drag across the middle of the throughput chart.
	r := eval[[]float64](b, `(() => { const r = document.querySelector("#chart-rps .u-over").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	y := r[1] + r[3]/2
	left := chromedp.ButtonType(input.MouseButtonLeft)
	b.do("drag to zoom",
		chromedp.MouseEvent(chromedp.MouseMoved, r[0]+r[2]*0.3, y),
		chromedp.MouseEvent(chromedp.MousePressed, r[0]+r[2]*0.3, y, left, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, r[0]+r[2]*0.5, y, left),
		chromedp.MouseEvent(chromedp.MouseMoved, r[0]+r[2]*0.7, y, left),
		chromedp.MouseEvent(chromedp.MouseReleased, r[0]+r[2]*0.7, y, left, chromedp.ClickCount(1)),
	)
	load, mon := xRange(b, `document.getElementById("chart-rps").plot`), xRange(b, `document.getElementById("chart-monitor-0-0").plot`)
	// report.js pins the x axis' start at 0 (its range function), so a
	// zoom moves the end only.
	if load[1] >= 20 || load[1] < 10 {
		t.Errorf("the drag did not zoom the throughput chart: x %v", load)
	}
	if math.Abs(load[0]-mon[0]) > 1e-9 || math.Abs(load[1]-mon[1]) > 1e-9 {
		t.Errorf("zoomed x range: load %v, monitor %v", load, mon)
	}
	if got := eval[string](b, `document.querySelector('.monitor[data-monitor="db"]').textContent`); !strings.Contains(got, "Every scrape failed") {
		t.Errorf("db: %q", got)
	}
	b.do("scroll to the monitors", chromedp.Evaluate[chromedp.Void](`document.getElementById("monitors").scrollIntoView()`))
	b.shot("html-report-monitors")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// A real run on the server with a monitors: scenario, against the testbed
// on 127.0.0.1 and a surge monitor (the sampler's handler, watching this
// process) beside it: once it ends, its page has the monitor charts with
// data, on the load charts' x range.
func TestBrowserMonitorsRealRun(t *testing.T) {
	b := newBrowser(t)
	tb := testutil.StartTarget(t, testbed.Options{Latency: time.Millisecond})
	smp, err := monitor.New(monitor.Options{PIDs: []int{os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	mon := httptest.NewServer(smp.Handler("", nil)) // 127.0.0.1
	t.Cleanup(mon.Close)
	e := startServer(t, server.Options{})
	yaml := "name: monitored\ntarget: " + tb.URL() + "\nload: {model: closed, vus: 2, duration: 4s}\n" +
		"monitors:\n  - {name: host, url: " + mon.URL + "/metrics}\n" +
		"flows:\n  - name: home\n    steps:\n      - get: /\n"
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"scenario": yaml}, http.StatusCreated, &created)
	if r := e.waitEnded(created.ID, 30*time.Second); r.Status != "finished" {
		t.Fatalf("run: %+v", r)
	}
	b.do("log in",
		chromedp.Navigate(e.ts.URL+"/#/login"),
		chromedp.WaitVisible(chromedp.ID("login-secret")),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("history-table")),
	)
	b.do("open the run", chromedp.Navigate(e.ts.URL+"/#/runs/"+created.ID), chromedp.WaitVisible(chromedp.ID("monitor-charts")))
	b.waitFor("monitor charts drawn", `+(document.getElementById("chart-monitor-0")?.dataset.points || 0) >= 3`, 5*time.Second)
	units := eval[[]string](b, `[...document.querySelectorAll("#monitor-charts [data-monitor]")].map(el => el.dataset.unit)`)
	if len(units) < 3 || units[0] != "%" || units[1] != "B" {
		t.Errorf("monitor chart units %q, want %%, B, … (host CPU and memory, this process's CPU and RSS)", units)
	}
	// Memory available is a gauge: every interval after the first scrape has it.
	mem := eval[[]any](b, `document.getElementById("chart-monitor-1").chart.plot.data.slice(1).map(col => col.filter(v => v != null).length)`)
	for i, n := range mem {
		if n.(float64) < 2 {
			t.Errorf("memory chart series %d has %v values", i, n)
		}
	}
	load, got := xRange(b, `document.getElementById("chart-rps").chart.plot`), xRange(b, `document.getElementById("chart-monitor-0").chart.plot`)
	if load[0] != got[0] || load[1] != got[1] {
		t.Errorf("x range: load charts %v, monitor chart %v", load, got)
	}
	if table := eval[string](b, `document.getElementById("monitor-tables").textContent`); !strings.Contains(table, "host_memory_available_bytes") || !strings.Contains(table, "failed") {
		t.Errorf("monitor table: %s", table)
	}
	if raw := eval[string](b, `document.querySelector("#monitor-tables details.monitor-raw summary")?.textContent || ""`); !strings.Contains(raw, "more series from the endpoint") {
		t.Errorf("the endpoint's own series are not folded away: %q", raw)
	}
	if tiles := eval[string](b, `document.getElementById("run-tiles").textContent`); strings.Contains(tiles, "null") {
		t.Errorf("the tiles say null: %q", tiles)
	}
	b.do("scroll to the monitors", chromedp.Evaluate[chromedp.Void](`document.getElementById("run-monitors").scrollIntoView()`))
	b.shot("real-run-monitors")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}
