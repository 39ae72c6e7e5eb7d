//go:build browser

// Browser tests: the dashboard driven through Debian's chromium, headless,
// against a server and a testbed on 127.0.0.1. Run with
//
//	go test -tags browser -run Browser ./internal/server/
//
// Screenshots go to $SURGE_ARTIFACTS (default $TMPDIR/surge-artifacts)/browser.

package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
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
	if v := eval[string](b, `document.getElementById("verdict").dataset.verdict`); v != "same" && v != "better" && v != "worse" {
		t.Errorf("verdict %q", v)
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
