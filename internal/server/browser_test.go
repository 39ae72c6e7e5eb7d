//go:build browser

// Browser tests: the dashboard driven through Debian's chromium, headless,
// against a server and a testbed on 127.0.0.1. Run with
//
//	go test -tags browser -run Browser ./internal/server/
//
// Screenshots go to $SURGE_ARTIFACTS (default $TMPDIR/surge-artifacts)/browser.

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

const chromiumPath = "/usr/bin/chromium"

// browser is one headless chromium tab with the test's helpers.
type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
	shots     int

	mu     sync.Mutex
	errors []string // uncaught exceptions and console errors in the page
}

func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s under CI=true: the browser tests must run (install Debian's chromium)", chromiumPath)
		}
		t.Skipf("no %s: install Debian's chromium to run the browser tests", chromiumPath)
	}
	dir := os.Getenv("SURGE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "surge-artifacts")
	}
	dir = filepath.Join(dir, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1400, 1900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, artifacts: dir}
	// Start the browser (without a deadline: that would bound its life).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				for _, a := range e.Args {
					msg += " " + string(a.Value) + a.Description
				}
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return b
}

// do runs actions with a deadline.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting it if it is a promise).
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it holds.
func (b *browser) waitFor(what, predicate string, within time.Duration) {
	b.t.Helper()
	b.do(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(100*time.Millisecond))(ctx, t)
		return chromedp.Void{}, err
	})
}

// shot saves a screenshot of the viewport as NN-name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.shots++
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.artifacts, fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Error(err)
	}
}

func (b *browser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// setValue sets an input's value as typing would, with input and change
// events.
func setValue(id, v string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.getElementById(%q);
		el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, id, v))
}

// number reads the number shown in an element, e.g. "1,234" or "12.5 ms".
func number(sel string) string {
	return `(() => { const el = document.querySelector(` + "`" + sel + "`" + `);
		return el ? parseFloat(el.textContent.replace(/[^0-9.]/g, "")) || 0 : -1; })()`
}

// seedRun stores a finished run of n one-second intervals at 100 requests/s
// whose latency is scale times a fixed, slightly noisy baseline.
func seedRun(t *testing.T, e *env, id, name string, scale float64, n int) {
	t.Helper()
	ctx := context.Background()
	started := time.Now().Add(-time.Hour)
	plan := []byte(`{"name":"` + name + `","target":"http://127.0.0.1:8080","load":{"model":1,"rate":100,"duration":20000000000},"flows":[{"name":"checkout","weight":1,"steps":[{"method":"POST","url":"/checkout"}]}]}`)
	if err := e.st.Create(ctx, store.Run{ID: id, Name: name, Source: store.SourceServer, Model: "open", Started: started, Plan: plan}); err != nil {
		t.Fatal(err)
	}
	sum := report.Summary{Schema: report.Schema, Run: report.Run{ID: id, Name: name, Model: "open", Started: started.Format(time.RFC3339Nano),
		Ended: started.Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano), DurationS: float64(n)},
		Errors: map[string]int64{}, Messages: []report.ErrorMessage{}, Endpoints: []report.EndpointSummary{}, Checks: []report.CheckSummary{},
		Thresholds: []report.ThresholdOutcome{}, Generator: report.Generator{Warnings: []string{}}}
	for i := range n {
		wobble := 1 + 0.08*float64((i*7)%5-2)/2 // deterministic ±8 %
		p := report.Point{T: started.Add(time.Duration(i+1) * time.Second).Format(time.RFC3339Nano), Elapsed: float64(i + 1),
			Requests: 100, RPS: 100, P50: 20 * scale * wobble, P90: 40 * scale * wobble, P95: 50 * scale * wobble, P99: 80 * scale * wobble, Max: 120 * scale}
		sum.Timeline = append(sum.Timeline, p)
	}
	sum.Totals = report.Totals{Requests: int64(100 * n), RPS: 100}
	sum.Latency = report.Latency{P50: 20 * scale, P90: 40 * scale, P95: 50 * scale, P99: 80 * scale, Max: 120 * scale}
	if err := e.st.Finish(ctx, id, store.Finished, "", &sum); err != nil {
		t.Fatal(err)
	}
}

// The whole dashboard, as a user goes through it.
func TestBrowserDashboard(t *testing.T) {
	b := newBrowser(t)
	tb := testutil.StartTarget(t, testbed.Options{Latency: 2 * time.Millisecond, Jitter: 8 * time.Millisecond, ErrorRate: 0.03})
	scenarios := t.TempDir()
	writeFile(t, filepath.Join(scenarios, "items.yaml"), "name: items smoke\ntarget: "+tb.URL()+"\n"+
		"load: {model: open, rate: 40, duration: 4s}\n"+
		"flows:\n  - name: browse\n    steps:\n      - get: /api/items\n")
	e := startServer(t, server.Options{ScenarioDir: scenarios})
	target := tb.URL() + "/api/items"

	// Log in: the dashboard sends us to the login page first.
	b.do("open the dashboard", chromedp.Navigate(e.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-secret")))
	b.do("wrong secret", chromedp.SendKeys(chromedp.ID("login-secret"), "nope"), chromedp.Click(chromedp.ID("login-submit")))
	b.waitFor("wrong-secret message", `document.getElementById("login-error").textContent.length > 0`, 5*time.Second)
	b.shot("login-wrong-secret")
	b.do("log in",
		setValue("login-secret", ""),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("history-empty")),
	)
	b.shot("history-empty")

	// Start a test against the testbed.
	b.do("open the new-test form", chromedp.Click(chromedp.ID("nav-new")), chromedp.WaitVisible(chromedp.ID("start-url")))
	b.do("fill in the form",
		chromedp.SendKeys(chromedp.ID("start-url"), target),
		setValue("start-rate", "40"),
		setValue("start-duration", "30s"),
		chromedp.SendKeys(chromedp.ID("start-thresholds"), "p99<500ms\nerrors<1%"),
	)
	b.shot("new-test")
	b.do("start the test", chromedp.Click(chromedp.ID("start-submit")), chromedp.WaitVisible(chromedp.ID("run-status")))
	b.waitFor("the run page shows it running", `!!document.querySelector('#run-status [data-status="running"]')`, 5*time.Second)

	// The charts and the tables update every second.
	b.waitFor("three intervals on the charts", `+(document.getElementById("chart-rps").dataset.points || 0) >= 3`, 10*time.Second)
	first := eval[float64](b, number("#endpoints-table tbody tr td:nth-child(3)"))
	b.waitFor("the endpoint table moves on", number("#endpoints-table tbody tr td:nth-child(3)")+` > `+fmt.Sprint(first), 5*time.Second)
	for _, chart := range []string{"chart-rps", "chart-latency", "chart-vus"} {
		if n := eval[int](b, `document.querySelectorAll("#`+chart+` canvas").length`); n == 0 {
			t.Errorf("%s has no canvas", chart)
		}
	}
	if eval[float64](b, number("#tile-p99 .value")) <= 0 {
		t.Error("p99 tile shows no latency")
	}
	b.waitFor("errors appear in the error table", `!!document.querySelector("#errors-table tbody tr")`, 10*time.Second)
	b.shot("run-live")

	// Change the rate while it runs.
	b.do("set the rate to 80/s",
		setValue("adjust-value", "80"),
		chromedp.Click(chromedp.ID("adjust-apply")),
	)
	b.waitFor("the change is confirmed", `document.getElementById("adjust-note").textContent.includes("80")`, 5*time.Second)
	b.waitFor("the change is listed as an event", `document.getElementById("run-events").textContent.includes("80")`, 5*time.Second)
	b.waitFor("requests/s rises to about 80", number("#tile-rps .value")+` >= 65`, 8*time.Second)
	b.shot("run-rate-changed")

	// Stop it.
	b.do("stop", chromedp.Click(chromedp.ID("stop-btn")))
	b.waitFor("the run shows stopped", `!!document.querySelector('#run-status [data-status="stopped"]')`, 15*time.Second)
	b.waitFor("reports can be downloaded", `!!document.getElementById("report-html")`, 5*time.Second)
	b.shot("run-stopped")
	stoppedID := strings.TrimPrefix(eval[string](b, `location.hash`), "#/runs/")

	// A second, shorter run from a scenario file in the server's folder,
	// which ends by itself, for the comparison.
	b.do("open the new-test form again", chromedp.Click(chromedp.ID("nav-new")), chromedp.WaitVisible(chromedp.ID("start-url")))
	b.do("switch to scenario files", chromedp.Click(chromedp.ID("mode-scenario")), chromedp.WaitVisible(chromedp.ID("start-scenario-file")))
	b.do("pick the file", setValue("start-scenario-file", "items.yaml"))
	b.waitFor("the file's text in the editor", `document.getElementById("start-scenario").value.includes("items smoke")`, 5*time.Second)
	if eval[bool](b, `document.getElementById("start-rate").offsetParent !== null`) {
		t.Error("the load fields show although the scenario sets its own load")
	}
	b.shot("new-test-scenario")
	b.do("start the scenario", chromedp.Click(chromedp.ID("start-submit")), chromedp.WaitVisible(chromedp.ID("run-status")))
	b.waitFor("the short run finishes by itself", `!!document.querySelector('#run-status [data-status="finished"]')`, 15*time.Second)
	b.shot("run-finished")

	// Find both in the history and compare them.
	b.do("open the history", chromedp.Click(chromedp.ID("nav-history")), chromedp.WaitVisible(chromedp.ID("history-table")))
	b.waitFor("both runs listed", `document.querySelectorAll("#history-table tbody tr").length === 2`, 5*time.Second)
	if !eval[bool](b, `!!document.querySelector('#history-table tr[data-id="`+stoppedID+`"] [data-status="stopped"]')`) {
		t.Errorf("the stopped run %s is not in the history as stopped", stoppedID)
	}
	b.do("select both", chromedp.Click(chromedp.CSS(`#history-table tbody tr:nth-child(1) input`)), chromedp.Click(chromedp.CSS(`#history-table tbody tr:nth-child(2) input`)))
	b.shot("history")
	b.do("compare", chromedp.Click(chromedp.ID("compare-selected")), chromedp.WaitVisible(chromedp.ID("verdict")))
	b.waitFor("overlaid charts", `+(document.getElementById("compare-chart-p99").dataset.points || 0) > 2`, 5*time.Second)
	if rows := eval[int](b, `document.querySelectorAll("#compare-table tbody tr").length`); rows != 5 {
		t.Errorf("compare table has %d rows, want 5", rows)
	}
	// The first run's rate was changed live and the two differ in load:
	// no verdict on the measurements, only why.
	if v := eval[string](b, `document.getElementById("verdict").dataset.verdict`); v != "incomparable" {
		t.Errorf("verdict %q, want incomparable (a live rate change, a different load)", v)
	}
	if !strings.Contains(eval[string](b, `location.hash`), "a="+stoppedID) {
		t.Errorf("the older run is not the baseline: %s", eval[string](b, `location.hash`))
	}
	b.shot("compare")

	// Switch to Korean: every label comes from the one string table.
	b.do("switch to Korean", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "ko"; s.dispatchEvent(new Event("change")); })()`)(ctx, tg)
		return chromedp.Void{}, err
	})
	b.waitFor("Korean navigation", `document.getElementById("nav-history").textContent === "기록"`, 5*time.Second)
	b.waitFor("Korean compare page", `!!document.getElementById("verdict") && document.documentElement.lang === "ko"`, 5*time.Second)
	b.shot("compare-ko")
	b.do("open the stopped run in Korean", chromedp.Navigate(e.ts.URL+"/#/runs/"+stoppedID), chromedp.WaitVisible(chromedp.ID("endpoints-table")))
	b.waitFor("charts drawn from stored data", `+(document.getElementById("chart-latency").dataset.points || 0) >= 3`, 5*time.Second)
	if got := eval[string](b, `document.querySelector("#run-status .badge").textContent`); got != "중지됨" {
		t.Errorf("status badge in Korean: %q", got)
	}
	b.shot("run-ko")

	// A comparison with a verdict: two stored runs of 20 intervals, the
	// second with p99 half again as high (the runs above are too short).
	seedRun(t, e, "seed-a", "checkout before", 1, 20)
	seedRun(t, e, "seed-b", "checkout after", 1.5, 20)
	b.do("switch back to English", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "en"; s.dispatchEvent(new Event("change")); })()`)(ctx, tg)
		return chromedp.Void{}, err
	})
	b.do("compare the stored runs", chromedp.Navigate(e.ts.URL+"/#/compare?a=seed-a&b=seed-b"), chromedp.WaitVisible(chromedp.ID("verdict")))
	b.waitFor("a worse verdict", `document.getElementById("verdict").dataset.verdict === "worse"`, 5*time.Second)
	b.waitFor("overlaid charts", `+(document.getElementById("compare-chart-p99").dataset.points || 0) > 2`, 5*time.Second)
	b.shot("compare-worse")

	// Log out: the API refuses the browser again.
	b.do("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-secret")))
	if st := eval[int](b, `fetch("/api/v1/runs").then(r => r.status)`); st != 401 {
		t.Errorf("after logout: %d", st)
	}

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// ---- issue 9: offered load, dropped iterations, limited runs, the form,
// history, compare, phones and Korean glyphs --------------------------------

// fixtureShim answers some API routes in the page itself, from fixtures in
// the documented shapes (docs/api.md, the summary format), so the views are
// tested against the contract whatever the server behind them sends. Every
// other request goes to the real server. Keys are "METHOD /path[?query]";
// "SSE /path" is a Server-Sent Events stream, given as its events.
const fixtureShim = `(() => {
  const fx = %s;
  const realFetch = window.fetch.bind(window);
  const find = (method, url) => {
    const u = new URL(url, location.href);
    if (u.pathname === "/api/v1/runs" && method === "GET" && localStorage.getItem("fx.list") !== "1") return null;
    return fx[method + " " + u.pathname + u.search] || fx[method + " " + u.pathname] || null;
  };
  window.fetch = (input, opts = {}) => {
    const f = find((opts.method || "GET").toUpperCase(), typeof input === "string" ? input : input.url);
    if (!f) return realFetch(input, opts);
    return Promise.resolve(new Response(JSON.stringify(f.body), { status: f.status || 200, headers: { "Content-Type": "application/json" } }));
  };
  const RealES = window.EventSource;
  function FakeES(url) {
    const u = new URL(url, location.href);
    const evs = fx["SSE " + u.pathname];
    if (!evs) return new RealES(url);
    const es = new EventTarget();
    es.readyState = 1;
    es.close = () => { es.readyState = 2; };
    setTimeout(() => {
      for (const e of evs) {
        if (es.readyState === 2) break;
        es.dispatchEvent(new MessageEvent(e.event, { data: JSON.stringify(e.data) }));
      }
    }, 0);
    return es;
  }
  FakeES.CONNECTING = 0; FakeES.OPEN = 1; FakeES.CLOSED = 2;
  window.EventSource = FakeES;
})();`

// issue9Fixtures are the runs the shim serves: fx-open, an open-model run
// at a planned 1000/s that the generator could not hold, with a live rate
// change, empty intervals and dropped iterations; fx-a and fx-b, a pair the
// server judged incomparable; and a run list with load and pass/fail.
func issue9Fixtures() map[string]any {
	started := time.Date(2026, 11, 20, 14, 3, 7, 0, time.UTC)
	at := func(s float64) string {
		return started.Add(time.Duration(s * float64(time.Second))).Format(time.RFC3339Nano)
	}
	var timeline []map[string]any
	for i := 1; i <= 15; i++ {
		offered := min(200*float64(i), 1000)
		if i > 8 {
			offered = 300 // the live change at 8.2 s
		}
		p := map[string]any{"t": at(float64(i)), "elapsed_s": float64(i), "requests": int(min(offered, 800)),
			"rps": min(offered, 800), "offered_rps": offered, "errors": 0, "vus": 40, "max_vus": 50, "dropped": 0,
			"p50": 12.5, "p90": 30.0, "p95": 41.0, "p99": 95.0 + float64(i), "max": 300.0}
		if i >= 4 && i <= 8 {
			p["dropped"] = int(offered - 800)
		}
		if i == 11 || i == 12 { // nothing completed: no latency
			for _, k := range []string{"p50", "p90", "p95", "p99", "max"} {
				p[k] = nil
			}
			p["requests"], p["rps"] = 0, 0.0
		}
		timeline = append(timeline, p)
	}
	plan := map[string]any{"model": "open", "rate": 1000, "vus": 0, "max_vus": 50, "duration": "15s",
		"stages":     []map[string]any{{"duration": "5s", "target": 1000}, {"duration": "10s", "target": 1000}},
		"iterations": 0, "timeout": "10s"}
	summary := map[string]any{
		"schema": "surge.summary/v1",
		"run": map[string]any{"id": "fx-open", "name": "checkout at 1000/s", "started": at(0), "ended": at(15),
			"duration_s": 15.0, "model": "open", "status": "finished", "max_vus": 50},
		"totals": map[string]any{"requests": 9400, "errors": 0, "error_rate": 0, "rps": 626.67, "bytes_sent": 0,
			"bytes_received": 0, "iterations": 9400, "dropped_iterations": 1100, "due_iterations": 10500},
		"latency_ms":     map[string]any{"min": 0.41, "mean": 20.1, "p50": 12.5, "p90": 30, "p95": 41, "p99": 1234.5, "p999": 2000, "max": 2500},
		"errors":         map[string]any{"status_4xx": 0, "status_5xx": 0, "timeout": 0, "connection_refused": 0, "connection_reset": 0, "dns": 0, "tls": 0, "other": 0},
		"error_messages": []any{},
		"endpoints": []any{map[string]any{"name": "checkout", "method": "POST", "requests": 9400, "errors": 0, "rps": 626.67,
			"latency_ms": map[string]any{"p50": 12.5, "p95": 41, "p99": 1234.5, "max": 2500}, "error_classes": map[string]any{}}},
		"checks":     []any{},
		"thresholds": []any{map[string]any{"expr": "p95<200ms", "ok": true, "value": 41, "unit": "ms", "limited": true}},
		"timeline":   timeline,
		"generator": map[string]any{"limited": true, "reasons": []string{"start lag p99 240ms", "1100 iterations dropped"},
			"start_lag_ms": map[string]any{"p99": 240}, "cpu_max_cores": 1.9, "cores": 2, "warnings": []string{}},
		"plan":   plan,
		"events": []any{map[string]any{"t": at(8.2), "elapsed_s": 8.2, "kind": "rate", "value": 300}, map[string]any{"t": at(14.9), "elapsed_s": 14.9, "kind": "stop", "value": 0}},
	}
	run := map[string]any{"id": "fx-open", "name": "checkout at 1000/s", "status": "finished", "model": "open", "source": "server",
		"started": at(0), "ended": at(15), "requests": 9400, "rps": 626.67, "error_rate": 0, "p99_ms": 1234.5,
		"plan": map[string]any{"name": "checkout at 1000/s", "target": "http://127.0.0.1:8080", "timeout": "10s",
			"load":  map[string]any{"model": "open", "rate": 1000, "max_vus": 50, "duration": "15s", "stages": plan["stages"]},
			"flows": []any{map[string]any{"name": "checkout", "weight": 1, "steps": []any{map[string]any{"method": "POST", "url": "/checkout"}}}}},
		"events": []any{map[string]any{"t": at(8.2), "kind": "adjust", "detail": "rate 300/s"}, map[string]any{"t": at(14.9), "kind": "stop", "detail": ""}},
	}
	state := map[string]any{"run": run, "summary": summary}
	info := func(id, name, load string, passed any) map[string]any {
		return map[string]any{"id": id, "name": name, "status": "finished", "model": "open", "source": "server",
			"started": at(0), "ended": at(20), "requests": 2000, "rps": 100, "error_rate": 0, "p99_ms": 80,
			"load": load, "passed": passed}
	}
	tl := func(rate float64) map[string]any {
		var pts []map[string]any
		for i := 1; i <= 20; i++ {
			pts = append(pts, map[string]any{"t": at(float64(i)), "elapsed_s": float64(i), "requests": int(rate), "rps": rate,
				"offered_rps": rate, "p50": 10.0, "p95": 20.0, "p99": 30.0, "errors": 0, "vus": 5})
		}
		return map[string]any{"points": pts}
	}
	metric := func(name, unit string, a, b float64) map[string]any {
		return map[string]any{"name": name, "unit": unit, "better": "lower", "a": a, "b": b, "delta": b - a, "verdict": "incomparable", "reason": "offered load differs"}
	}
	return map[string]any{
		"GET /api/v1/runs/fx-open": map[string]any{"body": run},
		"SSE /api/v1/runs/fx-open/events": []any{
			map[string]any{"event": "state", "data": state}, map[string]any{"event": "end", "data": state}},
		"GET /api/v1/runs": map[string]any{"body": map[string]any{"runs": []any{
			info("fx-b", "after", "open · 300/s · 20s", false), info("fx-a", "before", "open · 100/s · 20s", true),
			info("fx-c", "no thresholds", "closed · 10 VUs · 20s", nil)}}},
		"GET /api/v1/compare?a=fx-a&b=fx-b": map[string]any{"body": map[string]any{
			"a": info("fx-a", "before", "open · 100/s · 20s", true), "b": info("fx-b", "after", "open · 300/s · 20s", false),
			"metrics": []any{metric("p50", "ms", 10, 10), metric("p95", "ms", 20, 20), metric("p99", "ms", 30, 30), metric("rps", "/s", 100, 300), metric("error_rate", "%", 0, 0)},
			"verdict": "incomparable", "reason": "the offered load differs: rate 100/s vs 300/s",
			"notes": []any{}, "steady_intervals": []int{18, 18}, "enough_data": true}},
		"GET /api/v1/runs/fx-a/timeline": map[string]any{"body": tl(100)},
		"GET /api/v1/runs/fx-b/timeline": map[string]any{"body": tl(300)},
		"POST /api/v1/runs?fx=problems":  nil, // see TestBrowserIssue9's form case
	}
}

// addShim installs the fixture shim in every page the tab loads.
func (b *browser) addShim(fixtures map[string]any) {
	b.t.Helper()
	delete(fixtures, "POST /api/v1/runs?fx=problems")
	js, err := json.Marshal(fixtures)
	if err != nil {
		b.t.Fatal(err)
	}
	b.do("install the fixture shim", func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(fixtureShim, js)})
		return chromedp.Void{}, err
	})
}

// noOverflow fails the test when the page scrolls sideways.
func (b *browser) noOverflow(what string) {
	b.t.Helper()
	got := eval[[]float64](b, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if got[0] > got[1] {
		b.t.Errorf("%s: the page is %v px wide in a %v px window (horizontal scroll)", what, got[0], got[1])
	}
}

func TestBrowserIssue9(t *testing.T) {
	b := newBrowser(t)
	tb := testutil.StartTarget(t, testbed.Options{Latency: time.Millisecond})
	e := startServer(t, server.Options{})
	b.addShim(issue9Fixtures())
	b.do("log in",
		chromedp.Navigate(e.ts.URL+"/#/login"),
		chromedp.WaitVisible(chromedp.ID("login-secret")),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("history-empty")),
	)

	t.Run("run page", func(t *testing.T) {
		b.t = t
		b.do("open the fixture run", chromedp.Navigate(e.ts.URL+"/#/runs/fx-open"), chromedp.WaitVisible(chromedp.ID("tile-dropped")))
		b.waitFor("charts drawn", `+(document.getElementById("chart-rps").dataset.points || 0) === 15`, 5*time.Second)
		// The throughput chart has the offered rate as its own series, with
		// the live change to 300/s in it.
		if got := eval[string](b, `document.getElementById("chart-rps").chart.series.map(s => s.label).join("|")`); got != "requests/s|offered/s|errors/s" {
			t.Errorf("throughput series: %q", got)
		}
		offered := eval[[]any](b, `document.getElementById("chart-rps").chart.data[2]`)
		if len(offered) != 15 || offered[4] != 1000.0 || offered[9] != 300.0 {
			t.Errorf("offered series: %v", offered)
		}
		if n := eval[int](b, `document.querySelectorAll("#chart-rps .u-legend .u-series").length`); n != 3 {
			t.Errorf("throughput legend has %d entries, want 3", n)
		}
		// Empty intervals are gaps in the latency lines, not zeros.
		p99 := eval[[]any](b, `document.getElementById("chart-latency").chart.data[3]`)
		if len(p99) != 15 || p99[10] != nil || p99[11] != nil || p99[9] == nil {
			t.Errorf("p99 series around the empty intervals: %v", p99)
		}
		// The dropped tile, with its share of the due iterations.
		if got := eval[string](b, `document.getElementById("tile-dropped").textContent`); !strings.Contains(got, "1,100") || !strings.Contains(got, "10,500") {
			t.Errorf("dropped tile: %q", got)
		}
		if !eval[bool](b, `document.getElementById("tile-dropped").classList.contains("warn")`) {
			t.Error("dropped tile is not marked")
		}
		// The generator-limited banner with its reasons, and the threshold
		// pass marked as limited.
		if got := eval[string](b, `(document.getElementById("limited-banner") || {}).textContent || ""`); !strings.Contains(got, "generator was the limit") || !strings.Contains(got, "1100 iterations dropped") {
			t.Errorf("limited banner: %q", got)
		}
		if !eval[bool](b, `!!document.querySelector('#run-thresholds [data-limited="true"]')`) {
			t.Error("the threshold pass of a limited run is not marked")
		}
		// The plan in the CLI's words.
		plan := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll("#plan-load [data-key]")].map(d => [d.dataset.key, d.querySelector("dd").textContent]))`)
		want := map[string]string{"model": "open", "rate": "1000", "max_vus": "50", "duration": "15s", "stages": "5s:1000,10s:1000", "timeout": "10s"}
		if !reflect.DeepEqual(plan, want) {
			t.Errorf("plan panel: %v, want %v", plan, want)
		}
		if txt := eval[string](b, `document.getElementById("plan-text").textContent`); !strings.Contains(txt, "model: open") || !strings.Contains(txt, "duration: 15s") || strings.Contains(txt, "000000000") {
			t.Errorf("the whole plan is not in scenario words:\n%s", txt)
		}
		// Events: the live change and the stop, each once.
		ev := eval[string](b, `document.getElementById("run-events").innerText`)
		if strings.Count(ev, "300/s") != 1 || strings.Count(ev, "Stop requested") != 1 {
			t.Errorf("events:\n%s", ev)
		}
		// One latency style: the p99 tile and the endpoint table agree.
		if got := eval[string](b, `document.querySelector("#tile-p99 .value").textContent`); got != "1.23 s" {
			t.Errorf("p99 tile %q, want \"1.23 s\"", got)
		}
		if got := eval[string](b, `document.querySelector("#endpoints-table tbody td:nth-child(6)").textContent`); got != "12.5 ms" {
			t.Errorf("endpoint p50 %q, want \"12.5 ms\"", got)
		}
		if got := eval[string](b, `document.querySelector("#run-thresholds td.num").textContent`); got != "41.0 ms" {
			t.Errorf("threshold measured %q, want \"41.0 ms\"", got)
		}
		b.shot("issue9-run-limited")
	})

	t.Run("form errors", func(t *testing.T) {
		b.t = t
		b.do("open the form", chromedp.Navigate(e.ts.URL+"/#/new"), chromedp.WaitVisible(chromedp.ID("start-url")))
		b.do("fill it in wrongly",
			chromedp.SendKeys(chromedp.ID("start-url"), "127.0.0.1:8080/api"),
			setValue("start-rate", "-5"),
			setValue("start-duration", "0s"),
			setValue("start-timeout", "ten"),
			chromedp.Click(chromedp.ID("start-submit")),
		)
		b.waitFor("errors shown", `document.querySelectorAll("#start-form .invalid").length > 0`, 5*time.Second)
		for _, f := range []string{"url", "rate", "duration", "timeout"} {
			if got := eval[string](b, `document.getElementById("error-`+f+`").textContent`); got == "" {
				t.Errorf("no error next to %s", f)
			}
		}
		if n := eval[int](b, `document.querySelectorAll("#start-form .invalid").length`); n != 4 {
			t.Errorf("%d fields marked, want 4", n)
		}
		if got := eval[string](b, `document.getElementById("error-url").textContent`); !strings.Contains(got, "http://") {
			t.Errorf("url error %q does not say to add http://", got)
		}
		if got := eval[string](b, `document.getElementById("start-error").textContent`); !strings.Contains(got, "4 field") || strings.Contains(got, "null") {
			t.Errorf("form message %q", got)
		}
		b.shot("issue9-form-errors")

		// The server's problems, each next to its field: the client's
		// checks pass, the server finds two things wrong.
		b.do("answer the start with problems", chromedp.Evaluate[chromedp.Void](`(() => {
			const real = window.fetch;
			window.fetch = (input, opts = {}) => (opts.method === "POST" && String(input).endsWith("/api/v1/runs"))
				? Promise.resolve(new Response(JSON.stringify({ error: "2 problems", problems: [
					{ field: "rate", message: "rate: at most 1000000/s" },
					{ field: "thresholds[0]", message: "thresholds[0]: unknown metric \"p101\"" }] }), { status: 400 }))
				: real(input, opts);
		})()`))
		b.do("fix the client-side errors",
			setValue("start-url", tb.URL()+"/"),
			setValue("start-rate", "5000000"),
			setValue("start-duration", "2s"),
			setValue("start-timeout", "10s"),
			setValue("start-thresholds", "p101<5ms"),
			chromedp.Click(chromedp.ID("start-submit")),
		)
		b.waitFor("the server's problems", `document.getElementById("error-thresholds").textContent.includes("p101")`, 5*time.Second)
		if got := eval[string](b, `document.getElementById("error-rate").textContent`); got != "at most 1000000/s" {
			t.Errorf("rate error %q", got)
		}
		if got := eval[string](b, `document.getElementById("error-url").textContent`); got != "" {
			t.Errorf("url still has an error: %q", got)
		}
		if n := eval[int](b, `document.querySelectorAll("#start-form .invalid").length`); n != 2 {
			t.Errorf("%d fields marked, want 2", n)
		}
		b.shot("issue9-form-server-problems")

		// The real server's answer to a bad threshold lands on its field too.
		b.do("reload the form", chromedp.Navigate(e.ts.URL+"/#/history"), chromedp.Navigate(e.ts.URL+"/#/new"), chromedp.WaitVisible(chromedp.ID("start-url")))
		b.do("a threshold the server refuses",
			setValue("start-url", tb.URL()+"/"),
			setValue("start-rate", "5"),
			setValue("start-duration", "1s"),
			setValue("start-thresholds", "p99<<5ms"),
			chromedp.Click(chromedp.ID("start-submit")),
		)
		b.waitFor("the server's error next to thresholds", `document.getElementById("error-thresholds").textContent.length > 0`, 10*time.Second)
	})

	t.Run("history columns", func(t *testing.T) {
		b.t = t
		b.do("use the fixture list", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("fx.list", "1")`))
		defer b.do("real list again", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem("fx.list")`))
		b.do("open the history", chromedp.Navigate(e.ts.URL+"/#/compare"), chromedp.Navigate(e.ts.URL+"/#/history"), chromedp.WaitVisible(chromedp.ID("history-table")))
		heads := eval[string](b, `[...document.querySelectorAll("#history-table thead th")].map(th => th.textContent).join("|")`)
		if !strings.Contains(heads, "Load") || !strings.Contains(heads, "Thresholds") {
			t.Errorf("history columns: %s", heads)
		}
		cell := func(id, col string) string {
			return eval[string](b, `document.querySelector('#history-table tr[data-id="`+id+`"] [data-col="`+col+`"]').textContent`)
		}
		for _, c := range []struct{ id, load, passed string }{
			{"fx-b", "open · 300/s · 20s", "fail"}, {"fx-a", "open · 100/s · 20s", "pass"}, {"fx-c", "closed · 10 VUs · 20s", "–"},
		} {
			if got := cell(c.id, "load"); got != c.load {
				t.Errorf("%s load %q, want %q", c.id, got, c.load)
			}
			if got := cell(c.id, "passed"); got != c.passed {
				t.Errorf("%s passed %q, want %q", c.id, got, c.passed)
			}
		}
		b.shot("issue9-history")
	})

	t.Run("incomparable", func(t *testing.T) {
		b.t = t
		for _, lang := range []struct{ code, headline string }{{"en", "cannot be compared"}, {"ko", "비교할 수 없습니다"}} {
			b.do("compare the pair", chromedp.Navigate(e.ts.URL+"/#/history"), chromedp.Navigate(e.ts.URL+"/#/compare?a=fx-a&b=fx-b"), chromedp.WaitVisible(chromedp.ID("verdict")))
			b.do("set the language", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "`+lang.code+`"; s.dispatchEvent(new Event("change")); })()`))
			b.waitFor("the verdict in "+lang.code, `document.documentElement.lang === "`+lang.code+`" && !!document.getElementById("verdict") && document.getElementById("verdict").textContent.includes("`+lang.headline+`")`, 5*time.Second)
			if v := eval[string](b, `document.getElementById("verdict").dataset.verdict`); v != "incomparable" {
				t.Errorf("%s: verdict %q", lang.code, v)
			}
			if got := eval[string](b, `document.getElementById("verdict").textContent`); !strings.Contains(got, lang.headline) || !strings.Contains(got, "rate 100/s vs 300/s") {
				t.Errorf("%s: verdict box %q", lang.code, got)
			}
			b.shot("issue9-compare-incomparable-" + lang.code)
		}
		b.do("back to English", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "en"; s.dispatchEvent(new Event("change")); })()`))
	})

	t.Run("420px", func(t *testing.T) {
		b.t = t
		b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
		defer b.do("full size again", chromedp.EmulateViewport(1400, 1900))
		for _, pg := range []struct{ name, hash, ready string }{
			{"history", "#/history", "#history-table, #history-empty"},
			{"new", "#/new", "#start-url"},
			{"run", "#/runs/fx-open", "#tile-dropped"},
			{"compare", "#/compare?a=fx-a&b=fx-b", "#verdict"},
		} {
			b.do("open "+pg.name, chromedp.Navigate(e.ts.URL+"/#/login"), chromedp.Navigate(e.ts.URL+"/"+pg.hash), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
			time.Sleep(300 * time.Millisecond) // let the charts take their size
			b.noOverflow(pg.name)
			// Every chart fits its card.
			if bad := eval[[]string](b, `[...document.querySelectorAll(".chart .uplot")].filter(u => u.getBoundingClientRect().right > u.closest(".card").getBoundingClientRect().right + 1).map(u => u.parentElement.id)`); len(bad) > 0 {
				t.Errorf("%s: charts wider than their card: %v", pg.name, bad)
			}
			b.shot("issue9-420-" + pg.name)
		}
		// Charts follow the window when it narrows without a reload.
		b.do("wide", chromedp.EmulateViewport(1400, 1900))
		b.do("open the run", chromedp.Navigate(e.ts.URL+"/#/history"), chromedp.Navigate(e.ts.URL+"/#/runs/fx-open"), chromedp.WaitVisible(chromedp.ID("tile-dropped")))
		wide := eval[float64](b, `document.querySelector("#chart-rps .uplot").getBoundingClientRect().width`)
		b.do("narrow", chromedp.EmulateViewport(420, 900))
		b.waitFor("the chart shrinks", `document.querySelector("#chart-rps .uplot").getBoundingClientRect().width < 400`, 5*time.Second)
		narrow := eval[float64](b, `document.querySelector("#chart-rps .uplot").getBoundingClientRect().width`)
		t.Logf("throughput chart: %.0f px wide at 1400, %.0f px at 420", wide, narrow)
		b.noOverflow("run after narrowing")
	})

	// The same views on the real server's data: two short open runs at
	// different rates, one passing its threshold and one failing it.
	b.t = t
	start := func(rate int, threshold string) string {
		var out struct{ ID string }
		e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/api/items", "rate": rate, "duration": "2s",
			"thresholds": []string{threshold}}, http.StatusCreated, &out)
		e.waitEnded(out.ID, 20*time.Second)
		return out.ID
	}
	ra := start(20, "p99<5s")
	rb := start(40, "rps>100000")
	b.do("real history", chromedp.Navigate(e.ts.URL+"/#/new"), chromedp.Navigate(e.ts.URL+"/#/history"), chromedp.WaitVisible(chromedp.ID("history-table")))
	cell := func(id, col string) string {
		return eval[string](b, `(document.querySelector('#history-table tr[data-id="`+id+`"] [data-col="`+col+`"]') || {}).textContent || ""`)
	}
	for _, c := range []struct{ id, load, passed string }{{ra, "20/s", "pass"}, {rb, "40/s", "fail"}} {
		if got := cell(c.id, "load"); !strings.Contains(got, "open") || !strings.Contains(got, c.load) || !strings.Contains(got, "2s") {
			t.Errorf("history load of %s: %q", c.id, got)
		}
		if got := cell(c.id, "passed"); got != c.passed {
			t.Errorf("history pass/fail of %s: %q, want %q", c.id, got, c.passed)
		}
	}
	b.shot("issue9-real-history")
	b.do("real run page", chromedp.Navigate(e.ts.URL+"/#/runs/"+rb), chromedp.WaitVisible(chromedp.ID("tile-dropped")))
	b.waitFor("charts drawn", `+(document.getElementById("chart-rps").dataset.points || 0) >= 1`, 5*time.Second)
	if got := eval[[]any](b, `document.getElementById("chart-rps").chart.data[2].filter(v => v != null)`); len(got) == 0 {
		t.Error("the real run's throughput chart has no offered rate")
	} else if v, _ := got[len(got)/2].(float64); v < 30 || v > 50 {
		t.Errorf("the real run's offered rate: %v, want about 40", got)
	}
	plan := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll("#plan-load [data-key]")].map(d => [d.dataset.key, d.querySelector("dd").textContent]))`)
	if plan["model"] != "open" || plan["rate"] != "40" || plan["duration"] != "2s" {
		t.Errorf("the real run's plan panel: %v", plan)
	}
	if txt := eval[string](b, `document.getElementById("plan-text").textContent`); !strings.Contains(txt, "model: open") || !strings.Contains(txt, "duration: 2s") {
		t.Errorf("the real run's whole plan:\n%s", txt)
	}
	b.shot("issue9-real-run")
	b.do("real comparison", chromedp.Navigate(e.ts.URL+"/#/compare?a="+ra+"&b="+rb), chromedp.WaitVisible(chromedp.ID("verdict")))
	if v := eval[string](b, `document.getElementById("verdict").dataset.verdict`); v != "incomparable" {
		t.Errorf("20/s vs 40/s: verdict %q, want incomparable", v)
	}
	if got := eval[string](b, `(document.getElementById("verdict-reason") || {}).textContent || ""`); !strings.Contains(got, "20") || !strings.Contains(got, "40") {
		t.Errorf("the reason does not name the two rates: %q", got)
	}
	b.shot("issue9-real-compare")

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// koreanSample is rendered glyph by glyph: distinct syllables of the UI's
// strings ("부하 테스트", "기록", "비교").
var koreanSample = []string{"부", "하", "테", "스", "트", "기", "록", "비", "교"}

// glyphs renders each of chars in its own box, in the dashboard's fonts (the
// login page's stylesheet), and returns each box as a black-and-white
// bitmap: true where there is ink. The last two boxes are private-use code
// points, which no font draws: they show what a missing glyph looks like.
func (b *browser) glyphs(name, url string, chars []string) (sample, missing [][]bool) {
	b.t.Helper()
	b.do("open the login page", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("login-secret")))
	all := append(append([]string(nil), chars...), "\ue000", "\ue001")
	js, _ := json.Marshal(all)
	b.do("draw the glyphs", chromedp.Evaluate[chromedp.Void](`(() => {
		document.documentElement.lang = "ko";
		const box = document.createElement("div");
		box.id = "glyphs";
		box.style.cssText = "position:fixed;left:0;top:0;z-index:99;background:#fff;padding:8px;display:flex;gap:8px";
		for (const [i, c] of `+string(js)+`.entries()) {
			const g = document.createElement("span");
			g.id = "glyph-" + i;
			g.textContent = c;
			g.style.cssText = "display:inline-block;width:72px;height:72px;font-size:56px;line-height:72px;text-align:center;color:#000;background:#fff";
			box.append(g);
		}
		document.body.append(box);
	})()`))
	b.shot(name)
	var maps [][]bool
	for i := range all {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID(fmt.Sprintf("glyph-%d", i))))
		cancel()
		if err != nil {
			b.t.Fatalf("screenshot of glyph %d: %v", i, err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			b.t.Fatal(err)
		}
		r := img.Bounds()
		bits := make([]bool, 0, r.Dx()*r.Dy())
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.GrayModel.Convert(img.At(x, y)).(color.Gray)
				bits = append(bits, c.Y < 128)
			}
		}
		maps = append(maps, bits)
	}
	return maps[:len(chars)], maps[len(chars):]
}

// tofu says why the sample's glyphs look like missing glyphs, or "" when
// they are real: every glyph has ink, no glyph is the missing-glyph box,
// and no two syllables look alike (missing glyphs are one box repeated).
func tofu(sample, missing [][]bool) string {
	ink := func(m []bool) (n int) {
		for _, v := range m {
			if v {
				n++
			}
		}
		return n
	}
	// differ is the share of pixels inked in one bitmap but not the other,
	// relative to the ink of both.
	differ := func(a, b []bool) float64 {
		d, n := 0, 0
		for i := range a {
			if i < len(b) && a[i] != b[i] {
				d++
			}
			if a[i] || (i < len(b) && b[i]) {
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return float64(d) / float64(n)
	}
	for i, g := range sample {
		if ink(g) < 40 {
			return fmt.Sprintf("glyph %d (%s) is blank: %d ink pixels", i, koreanSample[i], ink(g))
		}
		for _, m := range missing {
			if differ(g, m) < 0.2 {
				return fmt.Sprintf("glyph %d (%s) is the missing-glyph box", i, koreanSample[i])
			}
		}
		for j := range i {
			if differ(g, sample[j]) < 0.2 {
				return fmt.Sprintf("glyphs %s and %s look the same: boxes, not letters", koreanSample[j], koreanSample[i])
			}
		}
	}
	return ""
}

// Korean renders as Korean, not as empty boxes: a text check cannot see
// that, so the glyphs are drawn and their pixels compared. The same check
// run in a chromium that sees no CJK font must find boxes, which shows the
// check can fail.
func TestBrowserKoreanGlyphs(t *testing.T) {
	e := startServer(t, server.Options{})

	b := newBrowser(t)
	sample, missing := b.glyphs("glyphs-korean", e.ts.URL+"/#/login", koreanSample)
	if why := tofu(sample, missing); why != "" {
		t.Errorf("Korean does not render (install a CJK font, e.g. Debian's fonts-noto-cjk): %s", why)
	}

	// The control: fontconfig limited to DejaVu, which has no Hangul.
	const dejavu = "/usr/share/fonts/truetype/dejavu"
	if _, err := os.Stat(dejavu); err != nil {
		t.Skipf("no %s for the control run", dejavu)
	}
	conf := filepath.Join(t.TempDir(), "fonts.conf")
	writeFile(t, conf, `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>`+dejavu+`</dir><cachedir>`+filepath.Join(t.TempDir(), "cache")+`</cachedir></fontconfig>`)
	ctl := newBrowser(t, chromedp.Env("FONTCONFIG_FILE="+conf))
	sample, missing = ctl.glyphs("glyphs-control-no-cjk-font", e.ts.URL+"/#/login", koreanSample)
	if why := tofu(sample, missing); why == "" {
		t.Error("with no CJK font the check still finds Korean glyphs: it cannot tell boxes from letters")
	} else {
		t.Logf("control without a CJK font: %s", why)
	}
}

// The HTML report of a run whose generator fell behind: the plan, the
// events, offered beside achieved, gaps for empty intervals, the banner.
func TestBrowserHTMLReport(t *testing.T) {
	b := newBrowser(t)
	offered := func(v float64) *float64 { return &v }
	s := &report.Summary{Schema: report.Schema,
		Run:    report.Run{ID: "r1", Name: "한국어 보고서 · ramp", Model: "open", Status: "stopped", Started: "2026-11-20T14:03:07Z", DurationS: 10},
		Plan:   report.PlanInfo{Model: "open", Rate: 100, Duration: "10s", Timeout: "10s"},
		Totals: report.Totals{Requests: 700, RPS: 70, Iterations: 700, DroppedIterations: 300, DueIterations: 1000},
		Errors: map[string]int64{}, Messages: []report.ErrorMessage{}, Endpoints: []report.EndpointSummary{}, Checks: []report.CheckSummary{},
		Thresholds: []report.ThresholdOutcome{{Expr: "p99<200ms", OK: true, Value: 50, Unit: "ms", Limited: true}},
		Generator:  report.Generator{Warnings: []string{}, Limited: true, Reasons: []string{"300 due iterations dropped"}},
		Events:     []report.Event{{T: "2026-11-20T14:03:12Z", Elapsed: 5, Kind: "rate", Value: 200}, {T: "2026-11-20T14:03:17Z", Elapsed: 10, Kind: "stop"}},
	}
	for i := 1; i <= 10; i++ {
		rate := 100.0
		if i > 5 {
			rate = 200
		}
		p := report.Point{T: fmt.Sprintf("2026-11-20T14:03:%02dZ", 7+i), Elapsed: float64(i), Requests: 70, RPS: 70,
			P50: 10, P90: 20, P95: 30, P99: 50, Max: 80, Offered: offered(rate)}
		if i == 7 || i == 8 {
			p = report.Point{T: p.T, Elapsed: p.Elapsed, Offered: p.Offered}
		}
		s.Timeline = append(s.Timeline, p)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHTML(f, s); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b.do("open the report", chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("#chart-rps .uplot")))
	if got := eval[string](b, `document.getElementById("chart-rps").plot.series.map(s => s.label).join("|")`); got != "elapsed|requests/s|offered/s|VUs" {
		t.Errorf("throughput series %q", got)
	}
	if got := eval[[]any](b, `document.getElementById("chart-rps").plot.data[2]`); len(got) != 10 || got[0] != 100.0 || got[9] != 200.0 {
		t.Errorf("offered series %v", got)
	}
	if got := eval[[]any](b, `document.getElementById("chart-latency").plot.data[4]`); len(got) != 10 || got[6] != nil || got[7] != nil || got[5] != 50.0 {
		t.Errorf("p99 series %v: want gaps at 7 s and 8 s", got)
	}
	for sel, want := range map[string]string{
		"#limited": "300 due iterations dropped",
		"#plan":    "rate100/s",
		"#events":  "rate changed to 200/s",
	} {
		if got := eval[string](b, `document.querySelector("`+sel+`").textContent.replace(/\s+/g, "")`); !strings.Contains(got, strings.ReplaceAll(want, " ", "")) {
			t.Errorf("%s: %q lacks %q", sel, got, want)
		}
	}
	b.shot("html-report")
	b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
	time.Sleep(300 * time.Millisecond)
	b.noOverflow("HTML report")
	b.shot("html-report-420")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}
