//go:build browser

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/surgeload/surge/internal/compare"
	"github.com/surgeload/surge/internal/monitor"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// ordersScenario is a two-flow scenario against the testbed at url: "order"
// places an order and polls it until the queue's consumer has done it;
// "work" is one GET /work. Each iteration is one or the other (1:3).
func ordersScenario(url string, rate float64, d string) string {
	return fmt.Sprintf(`name: orders and work
target: %s
load: {model: open, rate: %g, duration: %s, max_vus: 400}
flows:
  - name: order
    weight: 1
    steps:
      - name: place
        post: /orders
        extract: {order: "json:id"}
        check: {status: 202}
      - name: wait for order
        get: /orders/{{order}}
        until: {json: {status: done}}
        every: 20ms
        within: 20s
  - name: work
    weight: 3
    steps:
      - name: work
        get: /work
`, url, rate, d)
}

// loggedIn logs the tab into e's dashboard and waits for want to show.
func (b *browser) loggedIn(e *env, want string) {
	b.t.Helper()
	b.do("log in",
		chromedp.Navigate(e.ts.URL+"/#/login"),
		chromedp.WaitVisible(chromedp.ID("login-secret")),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID(want)),
	)
}

// noNull fails the test when the page writes "null" where a value or
// a part it lacks should be.
func (b *browser) noNull(what string) {
	b.t.Helper()
	if txt := eval[string](b, `document.querySelector("main").innerText`); strings.Contains(txt, "null") {
		b.t.Errorf("%s: the page says null: %q", what, txt)
	}
}

// fmtMsJS is how the page writes latency ms (dom.js fmtMs), in its
// current language.
func fmtMsJS(b *browser, v *float64) string {
	b.t.Helper()
	js := "null"
	if v != nil {
		js = fmt.Sprint(*v)
	}
	return eval[string](b, `import("/js/dom.js").then(m => m.fmtMs(`+js+`))`)
}

// Two recorded runs of the same load (`surge run --server` records them:
// a run session with a Recorder) against targets that burn 1 ms and then
// 8 ms of CPU after each /work answer and complete an order in 2 ms and
// then in 150 ms (a consumer slower than the orders placed, so a backlog
// grows), watched by a real node_exporter and a real surge monitor on this
// process: the compare page lists the API's monitors rows under the load's
// metrics (A, B, change and verdict each), names those beyond noise in the
// verdict box, and shows each flow's and poll step's p99 in A and B with
// their change; at 420 px nothing scrolls sideways, and Korean words the
// headings.
func TestBrowserCompareMonitorsAndFlows(t *testing.T) {
	_, nodeURL := testutil.StartNodeExporter(t)
	smp, err := monitor.New(monitor.Options{PIDs: []int{os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	mon := httptest.NewServer(smp.Handler("", nil))
	t.Cleanup(mon.Close)
	e := startServer(t, server.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	record := func(cpu, job time.Duration) string {
		tb := testutil.StartTarget(t, testbed.Options{Workers: 8, WorkTime: time.Millisecond, BackgroundCPU: cpu,
			Orders: testbed.OrderOptions{Job: job}})
		plan, err := scenario.Parse("orders.yaml", []byte(ordersScenario(tb.URL(), 40, "3s")), scenario.Options{})
		if err != nil {
			t.Fatal(err)
		}
		plan.Monitors = []scenario.Monitor{{Name: "node", URL: nodeURL}, {Name: "self", URL: mon.URL + "/metrics"}}
		rec, err := server.NewRecorder(ctx, e.ts.URL, testSecret, plan, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		sess := run.New(plan, run.Options{Sinks: []sink.Sink{rec}, Interval: 250 * time.Millisecond})
		if err := sess.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := sess.Wait(); err != nil {
			t.Fatal(err)
		}
		return rec.ID()
	}
	a, bID := record(time.Millisecond, 2*time.Millisecond), record(8*time.Millisecond, 150*time.Millisecond)
	var c struct {
		compare.Comparison
	}
	e.json("GET", "/api/v1/compare?a="+a+"&b="+bID, nil, http.StatusOK, &c)
	if len(c.Monitors) < 4 || len(c.Flows) != 3 {
		t.Fatalf("the comparison has %d monitor rows and %d flow rows, want several and 3 (order, work, the poll): %+v %+v", len(c.Monitors), len(c.Flows), c.Monitors, c.Flows)
	}
	var moved []compare.MonitorDelta
	for _, m := range c.Monitors {
		if m.Verdict == "better" || m.Verdict == "worse" || m.Verdict == "changed" {
			moved = append(moved, m)
		}
	}
	if len(moved) == 0 {
		t.Fatalf("no monitor series beyond noise (8 ms of CPU a request against 1): %+v", c.Monitors)
	}

	b := newBrowser(t)
	b.loggedIn(e, "history-table")
	b.do("compare", chromedp.Navigate(e.ts.URL+"/#/compare?a="+a+"&b="+bID), chromedp.WaitVisible(chromedp.ID("compare-monitors-table")))

	// The monitors' rows under the load's metrics, one per API row, in its
	// order, with its figures and verdict.
	if below := eval[bool](b, `document.getElementById("compare-table").getBoundingClientRect().bottom <= document.getElementById("compare-monitors-table").getBoundingClientRect().top`); !below {
		t.Error("the monitors' table is not under the load's metrics")
	}
	type shown struct {
		Monitor, Series, What, Verdict, A, B, Change string
	}
	rows := eval[[]shown](b, `[...document.querySelectorAll("#compare-monitors-table tbody tr")].map(r => ({Monitor: r.dataset.monitor, Series: r.dataset.series, What: r.dataset.what, Verdict: r.dataset.verdict,
		A: r.querySelector('[data-col="a"]').textContent, B: r.querySelector('[data-col="b"]').textContent, Change: r.querySelector('[data-col="change"]').textContent}))`)
	if len(rows) != len(c.Monitors) {
		t.Fatalf("%d monitor rows on the page, the API has %d", len(rows), len(c.Monitors))
	}
	units := map[string]string{}
	for i, m := range c.Monitors {
		r := rows[i]
		key := m.Series
		if name, ok := m.Labels["name"]; ok {
			key += `{name="` + name + `"}`
		}
		if r.Monitor != m.Monitor || r.Series != key || r.What != m.What || r.Verdict != m.Verdict {
			t.Errorf("row %d is %+v, the API's %+v", i, r, m)
		}
		switch m.Unit {
		case "B":
			want := eval[string](b, fmt.Sprintf(`import("/js/charts.js").then(c => c.fmtBytes(%g) + "|" + c.fmtBytes(%g))`, m.A, m.B))
			if r.A+"|"+r.B != want {
				t.Errorf("%s %s in bytes: A %q, B %q, want %q", m.Monitor, key, r.A, r.B, want)
			}
		case "ms":
			if want := fmtMsJS(b, &m.A) + "|" + fmtMsJS(b, &m.B); r.A+"|"+r.B != want {
				t.Errorf("%s %s in ms: A %q, B %q, want %q", m.Monitor, key, r.A, r.B, want)
			}
		}
		units[m.Unit] = r.A
		if m.DeltaPct != nil {
			sign := map[bool]string{true: "+", false: "−"}[*m.DeltaPct > 0]
			if *m.DeltaPct == 0 {
				sign = "±"
			}
			if !strings.HasPrefix(r.Change, sign) || !strings.HasSuffix(r.Change, "%") {
				t.Errorf("%s %s: change %q for %+.1f %%", m.Monitor, m.Series, r.Change, *m.DeltaPct)
			}
		}
	}
	t.Logf("monitor figures by unit: %v", units)
	// Those beyond noise are named in the verdict box, and only those.
	named := eval[[]string](b, `[...document.querySelectorAll("#verdict-monitors li")].map(li => li.dataset.series + " " + li.dataset.verdict)`)
	if len(named) != len(moved) {
		t.Errorf("the verdict box names %q, the API has %d beyond noise: %+v", named, len(moved), moved)
	}
	for i, m := range moved {
		key := m.Series
		if name, ok := m.Labels["name"]; ok {
			key += `{name="` + name + `"}`
		}
		if i < len(named) && named[i] != key+" "+m.Verdict {
			t.Errorf("verdict box item %d: %q, want %q", i, named[i], key+" "+m.Verdict)
		}
	}
	if verdict := eval[string](b, `document.getElementById("verdict").dataset.verdict`); verdict != c.Verdict {
		t.Errorf("the page's verdict %q, the API's %q", verdict, c.Verdict)
	}

	// The flows: each flow's and the poll step's p99, A beside B.
	type flowRow struct{ Flow, Kind, Change, A, B string }
	flows := eval[[]flowRow](b, `[...document.querySelectorAll("#compare-flows-table tbody tr")].map(r => ({Flow: r.dataset.flow, Kind: r.dataset.kind, Change: r.dataset.change,
		A: r.querySelector('[data-col="a"]').textContent, B: r.querySelector('[data-col="b"]').textContent}))`)
	if len(flows) != len(c.Flows) {
		t.Fatalf("%d flow rows on the page, the API has %d", len(flows), len(c.Flows))
	}
	for i, f := range c.Flows {
		want := flowRow{f.Flow, f.Kind, f.Change, fmtMsJS(b, f.A.P99), fmtMsJS(b, f.B.P99)}
		if flows[i] != want {
			t.Errorf("flow row %d: %+v, want %+v", i, flows[i], want)
		}
	}
	var order compare.FlowDelta
	for _, f := range c.Flows {
		if f.Flow == "order" && f.Kind == "flow" {
			order = f
		}
	}
	t.Logf("order p99: %v → %v (%s)", *order.A.P99, *order.B.P99, order.Change)
	if order.Change != "rose" {
		t.Errorf("the order flow's p99 %s with a backlog in B: %+v", order.Change, order)
	} else if got := eval[string](b, `document.querySelector('#verdict-flows li[data-flow="order"][data-kind="flow"]')?.textContent || ""`); !strings.HasPrefix(got, "order p99: ") {
		t.Errorf("the verdict box does not name the order flow's p99: %q", got)
	}
	b.noNull("compare with monitors and flows")
	b.do("scroll to the target", chromedp.Evaluate[chromedp.Void](`document.getElementById("compare-monitor-deltas").scrollIntoView()`))
	b.shot("compare-monitor-rows")

	b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
	time.Sleep(300 * time.Millisecond)
	b.noOverflow("compare with monitors and flows at 420 px")
	b.shot("compare-monitor-rows-420")
	b.do("full size again", chromedp.EmulateViewport(1400, 1900))

	b.do("Korean", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "ko")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("compare-monitors-table")))
	for id, want := range map[string]string{"compare-monitor-deltas": "대상 쪽 (판정에 들어가지 않음)", "compare-flow-deltas": "흐름과 폴링 단계, 처음부터 끝까지"} {
		if got := eval[string](b, `document.querySelector("#`+id+` h2").textContent`); got != want {
			t.Errorf("Korean heading of #%s: %q, want %q", id, got, want)
		}
	}
	if got := eval[string](b, `document.querySelector('#compare-flows-table tr[data-kind="poll"] .badge.kind-poll').textContent`); got != "폴링" {
		t.Errorf("the poll badge in Korean: %q", got)
	}
	b.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "en")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("compare-monitors-table")))
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// A run on the server whose flows poll a queue-backed API: "order" polls
// its order until the consumer has done it, "never shipped" polls for a
// status the testbed never gives, within 300 ms, so every one of its polls
// times out. While it runs, the run page shows the flows and poll steps
// beside the endpoints from the summaries so far; once it ends, the
// tables say what the final summary says — iterations, errors, cut short,
// requests, each poll step's polls, timeouts and attempts, and the
// percentiles — at 420 px without scrolling sideways, and in Korean.
func TestBrowserRunFlowsAndPolls(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: 5 * time.Millisecond}})
	e := startServer(t, server.Options{})
	b := newBrowser(t)
	b.loggedIn(e, "history-empty")
	yaml := "name: orders\ntarget: " + tb.URL() + "\nload: {model: open, rate: 20, duration: 5s, max_vus: 200}\nflows:\n" +
		"  - name: order\n    weight: 3\n    steps:\n" +
		"      - {name: place, post: /orders, extract: {order: \"json:id\"}, check: {status: 202}}\n" +
		"      - {name: wait for order, get: \"/orders/{{order}}\", until: {json: {status: done}}, every: 20ms, within: 10s}\n" +
		"  - name: never shipped\n    weight: 1\n    steps:\n" +
		"      - {name: place again, post: /orders, extract: {order: \"json:id\"}}\n" +
		"      - {name: wait for shipping, get: \"/orders/{{order}}\", until: {json: {status: shipped}}, every: 50ms, within: 300ms}\n"
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"scenario": yaml}, http.StatusCreated, &created)
	b.do("open the run", chromedp.Navigate(e.ts.URL+"/#/runs/"+created.ID), chromedp.WaitVisible(chromedp.ID("run-status")))

	// Live: the summaries so far carry the flows.
	b.waitFor("the flows while it runs", `!!document.querySelector('#run-status [data-status="running"]') && +(document.querySelector('#flows-table tr[data-flow="order"] [data-col="iterations"]')?.textContent.replace(/[^0-9]/g, "") || 0) > 0`, 10*time.Second)
	if !eval[bool](b, `!!document.querySelector('#run-status [data-status="running"]')`) {
		t.Error("the run ended before its flows showed")
	}
	first := eval[float64](b, number(`#flows-table tr[data-flow="order"] [data-col="iterations"]`))
	b.waitFor("more iterations as it runs", fmt.Sprintf(`+(document.querySelector('#flows-table tr[data-flow="order"] [data-col="iterations"]').textContent.replace(/[^0-9]/g, "")) > %g || !!document.querySelector('#run-status [data-status="finished"]')`, first), 10*time.Second)
	if eval[bool](b, `!!document.querySelector('#run-status [data-status="running"]')`) {
		b.noNull("the live run with flows")
		b.shot("run-flows-live")
	}
	// Beside the endpoints: right under their card.
	if !eval[bool](b, `document.getElementById("run-endpoints").closest("section").nextElementSibling === document.getElementById("run-flows")`) {
		t.Error("the flows card is not beside the endpoints")
	}
	b.waitFor("the run finishes", `!!document.querySelector('#run-status [data-status="finished"]')`, 30*time.Second)
	sum := e.summary(created.ID)
	if len(sum.Flows) != 2 || len(sum.Polls) != 2 {
		t.Fatalf("summary flows %+v, polls %+v: want 2 of each", sum.Flows, sum.Polls)
	}
	time.Sleep(200 * time.Millisecond) // the end event's state renders
	cell := func(table, attr, name, col string) string {
		return eval[string](b, `document.querySelector('#`+table+` tr[data-`+attr+`="`+name+`"] [data-col="`+col+`"]').textContent`)
	}
	ints := func(v int64) string {
		return eval[string](b, fmt.Sprintf(`import("/js/dom.js").then(m => m.fmtInt(%d))`, v))
	}
	pct := func(d *report.Latency, k string) *float64 {
		if d == nil {
			return nil
		}
		v := map[string]float64{"p50": d.P50, "p95": d.P95, "p99": d.P99, "max": d.Max}[k]
		return &v
	}
	var cut int64
	for _, f := range sum.Flows {
		for col, want := range map[string]string{"iterations": ints(f.Iterations), "errors": ints(f.Errors), "cut": ints(f.Cut), "requests": ints(f.Requests),
			"p50": fmtMsJS(b, pct(f.Duration, "p50")), "p99": fmtMsJS(b, pct(f.Duration, "p99")), "max": fmtMsJS(b, pct(f.Duration, "max"))} {
			if got := cell("flows-table", "flow", f.Name, col); got != want {
				t.Errorf("flow %s %s reads %q, the summary says %q", f.Name, col, got, want)
			}
		}
		cut += f.Cut
	}
	var timeouts int64
	for _, p := range sum.Polls {
		for col, want := range map[string]string{"polls": ints(p.Polls), "timeouts": ints(p.Timeouts), "cut": ints(p.Cut), "attempts": ints(p.Attempts),
			"p95": fmtMsJS(b, pct(p.Duration, "p95")), "p99": fmtMsJS(b, pct(p.Duration, "p99"))} {
			if got := cell("polls-table", "poll", p.Name, col); got != want {
				t.Errorf("poll %s %s reads %q, the summary says %q", p.Name, col, got, want)
			}
		}
		timeouts += p.Timeouts
	}
	var ship report.PollSummary
	for _, p := range sum.Polls {
		if p.Name == "wait for shipping" {
			ship = p
		}
	}
	t.Logf("flows %+v; polls %+v", sum.Flows, sum.Polls)
	if ship.Polls == 0 || ship.Timeouts != ship.Polls || ship.Duration != nil {
		t.Errorf("wait for shipping: %+v, want every poll timed out and no duration", ship)
	}
	if got := cell("polls-table", "poll", "wait for shipping", "p99"); got != "–" {
		t.Errorf("a poll step none of whose polls held shows p99 %q, want –", got)
	}
	if !eval[bool](b, `document.querySelector('#polls-table tr[data-poll="wait for shipping"] [data-col="timeouts"]').classList.contains("bad")`) {
		t.Error("the timeouts are not marked")
	}
	if hasNote := eval[bool](b, `!!document.getElementById("flows-cut")`); hasNote != (cut > 0) {
		t.Errorf("the cut-short note shows: %v, with %d flow iterations cut", hasNote, cut)
	}
	b.noNull("the finished run with flows")
	b.do("scroll to the flows", chromedp.Evaluate[chromedp.Void](`document.getElementById("run-flows").scrollIntoView()`))
	b.shot("run-flows")

	b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
	time.Sleep(300 * time.Millisecond)
	b.noOverflow("run with flows at 420 px")
	b.shot("run-flows-420")
	b.do("full size again", chromedp.EmulateViewport(1400, 1900))
	b.do("Korean", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "ko")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("polls-table")))
	if got := eval[string](b, `document.querySelector("#run-flows h2").textContent + " | " + document.querySelector("#run-flows h3").textContent`); got != "흐름, 처음부터 끝까지 | 폴링 단계 (until)" {
		t.Errorf("Korean headings %q", got)
	}
	b.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "en")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("polls-table")))

	// A quick-mode run (one request an iteration) has no flows card, as
	// the HTML report has no flows table: its durations are its endpoint's.
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/api/items", "rate": 20, "duration": "1s"}, http.StatusCreated, &created)
	e.waitEnded(created.ID, 20*time.Second)
	b.do("open the quick run", chromedp.Navigate(e.ts.URL+"/#/runs/"+created.ID), chromedp.WaitVisible(chromedp.ID("endpoints-table")))
	if shown := eval[bool](b, `!document.getElementById("run-flows").hidden`); shown {
		t.Error("a quick-mode run shows a flows card")
	}
	b.noNull("a quick-mode run")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// liveAgentsFixtures: fx-agents-live, an open-model run on two agents while
// it runs, whose state and next interval carry the summaries so far with
// each agent's rows (GET /api/v1/runs/{id}/events, summary.agents), and
// the agent list with both working for it.
func liveAgentsFixtures() map[string]any {
	fx := issue9Fixtures()
	run := maps.Clone(fx["GET /api/v1/runs/fx-open"].(map[string]any)["body"].(map[string]any))
	run["id"], run["name"], run["status"], run["control"], run["events"] = "fx-agents-live", "checkout on two agents", "running", "rate", []any{}
	delete(run, "ended")
	base := fx["SSE /api/v1/runs/fx-open/events"].([]any)[0].(map[string]any)["data"].(map[string]any)["summary"].(map[string]any)
	summary := func(n int, rows ...[2]int) map[string]any {
		s := maps.Clone(base)
		s["run"] = map[string]any{"id": "fx-agents-live", "name": "checkout on two agents", "started": run["started"], "model": "open", "status": "running"}
		tl := base["timeline"].([]map[string]any)[:n]
		s["timeline"], s["events"], s["generator"] = tl, []any{}, map[string]any{"limited": false, "reasons": []any{}, "warnings": []any{}, "cores": 2}
		var reqs, errs int
		var agents []any
		for i, r := range rows {
			reqs, errs = reqs+r[0], errs+r[1]
			agents = append(agents, map[string]any{"name": fmt.Sprintf("lg-%d", i+1), "requests": r[0], "errors": r[1], "lost": false, "limited": false,
				"reasons": []any{}, "dropped_iterations": 0, "start_lag_p99_ms": 1.5, "cpu_max_cores": 0.3})
		}
		s["agents"] = agents
		s["totals"] = map[string]any{"requests": reqs, "errors": errs, "error_rate": 100 * float64(errs) / float64(reqs), "rps": 200, "iterations": reqs,
			"dropped_iterations": 0, "due_iterations": reqs}
		return s
	}
	state := map[string]any{"run": run, "summary": summary(2, [2]int{100, 1}, [2]int{98, 0})}
	iv := map[string]any{"seq": 2, "point": base["timeline"].([]map[string]any)[2], "summary": summary(3, [2]int{210, 2}, [2]int{205, 0})}
	agent := func(name, share string) map[string]any {
		return map[string]any{"name": name, "labels": map[string]any{}, "version": "v1", "cores": 2, "state": "busy", "cpu": 0.25, "run": "fx-agents-live", "share": share,
			"address": "127.0.0.1:1", "connected": run["started"], "last_seen": run["started"], "clock_offset_ms": 0, "rtt_ms": 0.2}
	}
	return map[string]any{
		"GET /api/v1/runs/fx-agents-live":        map[string]any{"body": run},
		"SSE /api/v1/runs/fx-agents-live/events": []any{map[string]any{"event": "state", "data": state}, map[string]any{"event": "interval", "data": iv}},
		"GET /api/v1/agents":                     map[string]any{"body": map[string]any{"agents": []any{agent("lg-1", "1/2"), agent("lg-2", "2/2")}}},
	}
}

// While a run on agents goes, the run page lists each agent's requests,
// errors and share from the summaries so far (summary.agents in the state
// and every interval), updated with each interval, beside each agent's
// state from the agent list.
func TestBrowserLiveAgentRowsFixture(t *testing.T) {
	e := startServer(t, server.Options{})
	b := newBrowser(t)
	b.addShim(liveAgentsFixtures())
	b.loggedIn(e, "history-empty")
	b.do("open the live run", chromedp.Navigate(e.ts.URL+"/#/runs/fx-agents-live"), chromedp.WaitVisible(chromedp.ID("agents-run-table")))
	row := func(name, col string) string {
		return `#agents-run-table tr[data-agent="` + name + `"] td[data-col="` + col + `"]`
	}
	b.waitFor("the interval's rows", `document.querySelector('`+row("lg-1", "requests")+`')?.textContent === "210"`, 5*time.Second)
	for name, want := range map[string][4]string{"lg-1": {"210", "2", "50.6%", "1/2"}, "lg-2": {"205", "0", "49.4%", "2/2"}} {
		got := [4]string{}
		for i, col := range []string{"requests", "errors", "share", "slice"} {
			got[i] = eval[string](b, `document.querySelector('`+row(name, col)+`').textContent`)
		}
		if got != want {
			t.Errorf("%s reads requests, errors, share, slice %q, want %q", name, got, want)
		}
		if state := eval[string](b, `document.querySelector('#agents-run-table tr[data-agent="`+name+`"] [data-state]').dataset.state`); state != "running" {
			t.Errorf("%s's state %q while it runs", name, state)
		}
	}
	if !eval[bool](b, `document.querySelector('`+row("lg-1", "errors")+`').classList.contains("bad")`) {
		t.Error("lg-1's errors are not marked")
	}
	if help := eval[string](b, `document.getElementById("agents-help").textContent`); !strings.Contains(help, "so far") {
		t.Errorf("the agents' help while it runs: %q", help)
	}
	if tiles := eval[float64](b, number("#tile-requests .value")); tiles != 415 {
		t.Errorf("the requests tile says %v, the rows add up to 415", tiles)
	}
	b.noNull("the live run on agents")
	b.shot("agents-live-rows")
	b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
	time.Sleep(300 * time.Millisecond)
	b.noOverflow("live agents' rows at 420 px")
	b.do("full size again", chromedp.EmulateViewport(1400, 1900))
	b.do("Korean", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "ko")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("agents-run-table")))
	b.waitFor("the Korean help", `document.getElementById("agents-help")?.textContent.includes("지금까지")`, 5*time.Second)
	b.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "en")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("agents-run-table")))
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// A run on two real agents (in-process workers over the agents'
// endpoint): while it runs, its page lists each agent's requests from the
// server's summaries so far, growing with the intervals, and when it ends
// the rows add up to what the target received.
//
// The server's summaries so far carry agents' rows only once the tracker
// builds them from each agent's parts of the running total
// (internal/server/tracker.go, Tracker.Add); until then this test skips,
// saying so.
func TestBrowserLiveAgentRows(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startAgentServer(t)
	startWorker(t, e, "lg-1", testAgentToken, nil)
	startWorker(t, e, "lg-2", testAgentToken, nil)
	e.waitAgents(t, idle("lg-1", "lg-2"))
	b := newBrowser(t)
	b.loggedIn(e, "history-empty")
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/api/items", "rate": 40, "duration": "6s", "agents": 2}, http.StatusCreated, &created)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := e.stream(ctx, "/api/v1/runs/"+created.ID+"/events")
	next(t, events, 5*time.Second, "state")
	var iv struct {
		Summary report.Summary `json:"summary"`
	}
	if err := json.Unmarshal(next(t, events, 5*time.Second, "interval").data, &iv); err != nil {
		t.Fatal(err)
	}
	if len(iv.Summary.Agents) == 0 {
		e.waitEnded(created.ID, 20*time.Second)
		t.Fatal("the server's live summaries carry no agents' rows")
	}
	b.do("open the run", chromedp.Navigate(e.ts.URL+"/#/runs/"+created.ID), chromedp.WaitVisible(chromedp.ID("agents-run-table")))
	reqs := func(name string) string {
		return number(`#agents-run-table tr[data-agent="` + name + `"] td[data-col="requests"]`)
	}
	b.waitFor("both agents' requests while it runs", `!!document.querySelector('#run-status [data-status="running"]') && `+reqs("lg-1")+` > 0 && `+reqs("lg-2")+` > 0`, 10*time.Second)
	was := eval[float64](b, reqs("lg-1"))
	b.waitFor("lg-1's requests grow", fmt.Sprintf(`!!document.querySelector('#run-status [data-status="running"]') && %s > %g`, reqs("lg-1"), was), 5*time.Second)
	for _, name := range []string{"lg-1", "lg-2"} {
		if got := eval[string](b, `document.querySelector('#agents-run-table tr[data-agent="`+name+`"] [data-state]').dataset.state`); got != "running" {
			t.Errorf("%s's state reads %q while it runs", name, got)
		}
	}
	b.shot("agents-live-real")
	b.waitFor("the run finishes", `!!document.querySelector('#run-status [data-status="finished"]')`, 20*time.Second)
	time.Sleep(200 * time.Millisecond)
	if total := eval[float64](b, reqs("lg-1")) + eval[float64](b, reqs("lg-2")); int64(total) != tb.Count() {
		t.Errorf("the agents' rows add up to %.0f, the target saw %d", total, tb.Count())
	}
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// The compare page from an answer in the documented shape with the cases
// two real runs seldom give: a monitor series with no better direction
// that changed beyond noise, a flow one run finished none of (its p99
// null), and a poll step whose p99 fell.
func TestBrowserCompareRowsFixture(t *testing.T) {
	fx := issue9Fixtures()
	body := maps.Clone(fx["GET /api/v1/compare?a=fx-a&b=fx-b"].(map[string]any)["body"].(map[string]any))
	same := func(name, unit string, v float64) map[string]any {
		return map[string]any{"name": name, "unit": unit, "better": "lower", "a": v, "b": v, "delta": 0, "p_value": 0.9, "verdict": "same", "reason": "within noise"}
	}
	body["metrics"] = []any{same("p50", "ms", 10), same("p95", "ms", 20), same("p99", "ms", 30), same("rps", "/s", 100), same("error_rate", "%", 0)}
	body["verdict"], body["reason"], body["notes"] = "same", "no metric changed beyond the run-to-run noise", []any{}
	pct, p := -45.0, 0.0002
	body["monitors"] = []any{
		map[string]any{"monitor": "api", "series": "host_tcp_established", "labels": map[string]any{}, "what": "mean", "unit": "", "better": "",
			"a": 488.91, "b": 268.9, "delta": -220.01, "delta_pct": pct, "p_value": p, "verdict": "changed", "reason": "api TCP connections established fell 45.0% (489 → 269): beyond noise"},
		map[string]any{"monitor": "api", "series": "process_rss_bytes", "labels": map[string]any{"name": "gunicorn"}, "what": "peak", "unit": "B", "better": "lower",
			"a": 104857600, "b": 104857600, "delta": 0, "verdict": "same", "reason": "api gunicorn RSS peak unchanged (104857600 B)"},
	}
	body["flows"] = []any{
		map[string]any{"flow": "order", "kind": "flow", "a": map[string]any{"iterations": 40, "errors": 0, "cut": 0, "p50_ms": 20.0, "p99_ms": 25.0},
			"b": map[string]any{"iterations": 0, "errors": 0, "cut": 40, "p50_ms": nil, "p99_ms": nil}, "change": "unknown", "reason": "flow order p99: 25.0 ms → none: a run finished none"},
		map[string]any{"flow": "wait", "kind": "poll", "a": map[string]any{"iterations": 40, "errors": 2, "cut": 0, "p50_ms": 500.0, "p99_ms": 900.0},
			"b": map[string]any{"iterations": 40, "errors": 0, "cut": 0, "p50_ms": 80.0, "p99_ms": 100.0}, "delta_p99_ms": -800.0, "delta_p99_pct": -88.889, "change": "fell", "reason": "poll wait p99 fell 88.9% (900 ms → 100 ms)"},
	}
	e := startServer(t, server.Options{})
	b := newBrowser(t)
	b.addShim(map[string]any{"GET /api/v1/compare?a=fx-a&b=fx-b": map[string]any{"body": body}, "GET /api/v1/compare?a=fx-b&b=fx-a": fx["GET /api/v1/compare?a=fx-a&b=fx-b"],
		"GET /api/v1/runs/fx-a/timeline": fx["GET /api/v1/runs/fx-a/timeline"], "GET /api/v1/runs/fx-b/timeline": fx["GET /api/v1/runs/fx-b/timeline"],
		"GET /api/v1/runs": fx["GET /api/v1/runs"]})
	b.loggedIn(e, "history-empty")
	b.do("compare", chromedp.Navigate(e.ts.URL+"/#/compare?a=fx-a&b=fx-b"), chromedp.WaitVisible(chromedp.ID("compare-flows-table")))
	got := eval[[]string](b, `[...document.querySelectorAll("#compare-monitors-table tbody tr")].map(r => r.dataset.series + " " + r.dataset.verdict + " " + r.querySelector(".badge").textContent + " " + r.querySelector('[data-col="change"]').textContent)`)
	if want := []string{"host_tcp_established changed Changed −45%", `process_rss_bytes{name="gunicorn"} same Same, within noise ±0 B`}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("monitor rows %q, want %q", got, want)
	}
	if got := eval[string](b, `[...document.querySelectorAll("#verdict-monitors li")].map(li => li.textContent).join("|")`); got != "api TCP established mean: 488.91 → 268.9 (−45%), Changed" {
		t.Errorf("the verdict box names %q", got)
	}
	if got := eval[string](b, `[...document.querySelectorAll("#verdict-flows li")].map(li => li.textContent).join("|")`); got != "poll wait p99: 900 ms → 100 ms (−88.9%)" {
		t.Errorf("the verdict box's flows %q", got)
	}
	row := eval[[]string](b, `[...document.querySelectorAll('#compare-flows-table tr[data-flow="order"] td')].map(td => td.textContent)`)
	if want := []string{"order", "25.0 ms", "–", "–", "A: 40 iterations, 0 failedB: 0 iterations, 0 failed · 40 cut short", "a run finished none"}; strings.Join(row, "|") != strings.Join(want, "|") {
		t.Errorf("the order flow's row %q, want %q", row, want)
	}
	if got := eval[string](b, `document.querySelector('#compare-flows-table tr[data-flow="wait"] td:nth-child(5)').textContent`); got != "A: 40 polls, 2 timed outB: 40 polls, 0 timed out" {
		t.Errorf("the poll's runs %q", got)
	}
	b.noNull("compare with monitors and flows")

	// An answer without monitors and flows (an older server's, or runs
	// that share none): neither table, and no "null" in their place.
	b.do("compare without them", chromedp.Navigate(e.ts.URL+"/#/compare?a=fx-b&b=fx-a"), chromedp.WaitVisible(chromedp.ID("compare-table")))
	if n := eval[float64](b, `document.querySelectorAll("#compare-monitor-deltas, #compare-flow-deltas, #verdict-target").length`); n != 0 {
		t.Errorf("%v monitor or flow parts without monitors or flows", n)
	}
	b.noNull("compare without monitors and flows")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}
