//go:build browser

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/surgeload/surge/internal/protocol/grpc/grpctest"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
)

// phasesTarget is a target on loopback whose /slow answers after delay
// and /fast at once.
func phasesTarget(t *testing.T, delay time.Duration) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte("slow\n"))
	})
	mux.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("fast\n")) })
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

// phasesScenario is one flow, GET /slow then GET /fast, under load.
func phasesScenario(url, load string) string {
	return "name: phases\ntarget: " + url + "\nload: " + load + "\nflows:\n  - name: two\n    steps:\n" +
		"      - {name: slow, get: /slow}\n      - {name: fast, get: /fast}\n"
}

// shownPhases is what the run page shows of an endpoint's phases: the
// table's cells by phase (and "latency"), the bar's segments' figures, the
// protocol cell, and the titles of the cells.
type shownPhases struct {
	Cells    map[string]string
	Segments map[string]float64
	Protocol string
	Titles   map[string]string
}

func readPhases(b *browser, name string) shownPhases {
	b.t.Helper()
	return eval[shownPhases](b, fmt.Sprintf(`(() => {
		const tr = document.querySelector('#phases-table tbody tr[data-endpoint=%[1]q]');
		const bar = document.querySelector('#phase-bars .phase-row[data-endpoint=%[1]q] .phase-bar');
		if (!tr || !bar) return {Cells: {}, Segments: {}, Protocol: "", Titles: {}};
		const cells = {}, titles = {}, segs = {};
		for (const td of tr.querySelectorAll("td[data-phase]")) { cells[td.dataset.phase] = td.textContent; titles[td.dataset.phase] = td.title; }
		cells.latency = tr.querySelector('[data-col="latency"]').textContent;
		for (const s of bar.querySelectorAll(".phase-seg")) segs[s.dataset.phase] = +s.dataset.ms;
		return {Cells: cells, Segments: segs, Protocol: tr.querySelector('[data-col="protocol"]').textContent, Titles: titles};
	})()`, name))
}

// phoneFits checks, in a 420 px window, that the page does not scroll
// sideways, naming the elements that stick out when it does.
func (b *browser) phoneFits(what string) {
	b.t.Helper()
	b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
	time.Sleep(300 * time.Millisecond)
	b.noOverflow(what)
	if wide := eval[[]string](b, `[...document.querySelectorAll("main *")].filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !el.closest(".scroll"))
		.slice(0, 30).map(el => el.tagName + (el.id ? "#" + el.id : "") + "." + el.className + " " + Math.round(el.getBoundingClientRect().right) + " " + el.textContent.slice(0, 30))`); len(wide) > 0 {
		b.t.Errorf("%s: sticking out of the window: %v", what, wide)
	}
}

// msText is v as the page writes a latency (dom.js fmtMs).
func msText(b *browser, v float64) string {
	b.t.Helper()
	return fmtMsJS(b, &v)
}

// checkPhases compares the run page's phase table and bar of every
// endpoint of sum that has phases with the summary's figures at stat.
func checkPhases(t *testing.T, b *browser, sum report.Summary, stat string) {
	t.Helper()
	pick := func(p report.PhaseMs) float64 {
		return map[string]float64{"p50": p.P50, "p95": p.P95, "p99": p.P99, "max": p.Max}[stat]
	}
	if got := eval[string](b, `document.getElementById("phases-table").dataset.stat`); got != stat {
		t.Errorf("the table shows %q, want %s", got, stat)
	}
	for _, e := range sum.Endpoints {
		if len(e.Phases) == 0 {
			continue
		}
		shown := readPhases(b, e.Name)
		if len(shown.Cells) < len(e.Phases)+1 {
			t.Errorf("%s: the table has %v, the summary the phases %v", e.Name, shown.Cells, e.Phases)
		}
		for name, text := range shown.Cells {
			if _, ok := e.Phases[name]; !ok && name != "latency" && text != "–" {
				t.Errorf("%s has no %s phase, its cell reads %q", e.Name, name, text)
			}
		}
		for name, p := range e.Phases {
			if want := msText(b, pick(p)); shown.Cells[name] != want {
				t.Errorf("%s %s %s reads %q, the summary says %q", e.Name, name, stat, shown.Cells[name], want)
			}
			for _, s := range []string{"p50 " + msText(b, p.P50), "p95 " + msText(b, p.P95), "p99 " + msText(b, p.P99), "max " + msText(b, p.Max)} {
				if !strings.Contains(shown.Titles[name], s) {
					t.Errorf("%s %s: the cell's title %q lacks %q", e.Name, name, shown.Titles[name], s)
				}
			}
			if v := pick(p); v > 0 && shown.Segments[name] != v {
				t.Errorf("%s %s: the bar's segment is %v ms, the summary's %s %v", e.Name, name, shown.Segments[name], stat, v)
			}
		}
		lat := map[string]float64{"p50": e.Latency.P50, "p95": e.Latency.P95, "p99": e.Latency.P99, "max": e.Latency.Max}[stat]
		if want := msText(b, lat); shown.Cells["latency"] != want {
			t.Errorf("%s latency %s reads %q, want %q", e.Name, stat, shown.Cells["latency"], want)
		}
	}
}

// A real run through the server against a target on loopback whose /slow
// takes 30 ms: the run page shows, per endpoint, the protocol and where
// the time went, live and at the end, with the summary's figures (wait
// about 30 ms for /slow), at the percentile picked; queued in the open
// model only; at 420 px and in Korean. Then a second run whose /slow takes
// 60 ms, and the compare page sets their wait and connect p95 side by side.
func TestBrowserPhasesRealRun(t *testing.T) {
	e := startServer(t, server.Options{})
	b := newBrowser(t)
	b.loggedIn(e, "history-empty")

	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"scenario": phasesScenario(phasesTarget(t, 30*time.Millisecond), "{model: open, rate: 20, duration: 4s, max_vus: 20}")}, http.StatusCreated, &created)
	a := created.ID
	b.do("open the run", chromedp.Navigate(e.ts.URL+"/#/runs/"+a), chromedp.WaitVisible(chromedp.ID("run-status")))
	b.waitFor("phases while it runs", `!!document.querySelector('#run-status [data-status="running"]') && !!document.querySelector('#phases-table tbody tr[data-endpoint="slow"]')`, 10*time.Second)
	b.noNull("the live run with phases")
	b.shot("phases-live")
	b.waitFor("the run finishes", `!!document.querySelector('#run-status [data-status="finished"]')`, 30*time.Second)
	time.Sleep(300 * time.Millisecond) // the end event's state renders

	sum := e.summary(a)
	byName := map[string]report.EndpointSummary{}
	for _, ep := range sum.Endpoints {
		byName[ep.Name] = ep
	}
	slow, fast := byName["slow"], byName["fast"]
	if slow.Requests == 0 || fast.Requests == 0 || len(slow.Phases) != 7 || len(fast.Phases) < 6 {
		t.Fatalf("the summary's endpoints: %+v", sum.Endpoints)
	}
	t.Logf("slow: %+v; protocols %v", slow.Phases, slow.Protocols)
	if w := slow.Phases["wait"]; w.P50 < 29 || w.P50 > 45 || w.P95 < 29 {
		t.Errorf("slow's wait %+v: want about 30 ms", w)
	}
	checkPhases(t, b, sum, "p95")
	// ≈ 30 ms as the page writes it, and the bar is mostly wait.
	shown := readPhases(b, "slow")
	if v := eval[float64](b, number(`#phases-table tr[data-endpoint="slow"] td[data-phase="wait"]`)); v < 29 || v > 60 {
		t.Errorf("slow's wait p95 on the page is %v ms (%q), want about 30", v, shown.Cells["wait"])
	}
	if share := eval[float64](b, `(() => { const bar = document.querySelector('#phase-bars .phase-row[data-endpoint="slow"] .phase-bar');
		return bar.querySelector('[data-phase="wait"]').getBoundingClientRect().width / bar.getBoundingClientRect().width; })()`); share < 0.5 {
		t.Errorf("wait is %.0f %% of slow's bar, want most of it", 100*share)
	}
	if shown.Protocol != "HTTP/1.1" || slow.Protocols["HTTP/1.1"] != slow.Requests {
		t.Errorf("protocol %q on the page, %v in the summary; want HTTP/1.1 for all %d", shown.Protocol, slow.Protocols, slow.Requests)
	}
	if !eval[bool](b, `!!document.querySelector('#phases-table th[data-phase="queued"]') && !!document.querySelector('#phase-legend [data-phase="queued"]')`) {
		t.Error("an open-model run shows no queued phase")
	}
	if got := eval[[]string](b, `[...document.querySelectorAll('#phases-table thead th[data-phase]')].map(th => th.dataset.phase)`); strings.Join(got, " ") != "blocked connect tls send wait receive queued" {
		t.Errorf("phase columns %v", got)
	}
	// Another percentile: the bars and the table follow, and a live or
	// final render keeps the choice.
	b.do("pick p50", chromedp.Click(chromedp.ID("phase-stat-p50")))
	b.waitFor("the table shows p50", `document.getElementById("phases-table").dataset.stat === "p50"`, 5*time.Second)
	checkPhases(t, b, sum, "p50")
	b.do("pick max", chromedp.Click(chromedp.ID("phase-stat-max")))
	b.waitFor("the table shows max", `document.getElementById("phases-table").dataset.stat === "max"`, 5*time.Second)
	checkPhases(t, b, sum, "max")
	b.do("back to p95", chromedp.Click(chromedp.ID("phase-stat-p95")))
	b.noNull("the finished run with phases")
	b.do("scroll to the phases", chromedp.Evaluate[chromedp.Void](`document.getElementById("run-phases").scrollIntoView()`))
	b.shot("phases")

	phone := func(what string) {
		b.t.Helper()
		b.phoneFits(what)
		if bad := eval[[]string](b, `[...document.querySelectorAll("#phase-bars .phase-row")].filter(r => {
			const bar = r.querySelector(".phase-bar"), x = bar.getBoundingClientRect();
			return x.right > window.innerWidth || x.width < 200; }).map(r => r.dataset.endpoint)`); len(bad) > 0 {
			t.Errorf("%s: the bars of %v do not fit the window or are too narrow to read", what, bad)
		}
		b.do("scroll to the phases", chromedp.Evaluate[chromedp.Void](`document.getElementById("run-phases").scrollIntoView()`))
		b.shot(strings.ReplaceAll(what, " ", "-"))
		b.do("full size again", chromedp.EmulateViewport(1400, 1900))
	}
	phone("phases at 420 px")
	b.do("Korean", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "ko")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("phases-table")))
	b.waitFor("the final state in Korean", `!!document.querySelector('#run-status [data-status="finished"]') && !!document.querySelector('#phases-table tbody tr[data-endpoint="slow"]')`, 10*time.Second)
	if got := eval[string](b, `document.querySelector("#run-phases h3").textContent + " | " + document.querySelector('#phases-table th[data-phase="wait"]').textContent`); got != "시간이 쓰인 곳 | 응답 대기" {
		t.Errorf("Korean heading and wait column %q", got)
	}
	checkPhases(t, b, sum, "p95")
	b.noNull("the run with phases in Korean")
	phone("phases at 420 px in Korean")
	b.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "en")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("phases-table")))

	// A closed-model run against a /slow of 60 ms: no queued phase.
	e.json("POST", "/api/v1/runs", map[string]any{"scenario": phasesScenario(phasesTarget(t, 60*time.Millisecond), "{model: closed, vus: 2, duration: 3s}")}, http.StatusCreated, &created)
	bID := created.ID
	e.waitEnded(bID, 30*time.Second)
	sumB := e.summary(bID)
	b.do("open the closed run", chromedp.Navigate(e.ts.URL+"/#/runs/"+bID), chromedp.WaitVisible(chromedp.ID("phases-table")))
	b.waitFor("its phases", `!!document.querySelector('#phases-table tbody tr[data-endpoint="slow"]')`, 10*time.Second)
	checkPhases(t, b, sumB, "p95")
	if eval[bool](b, `!!document.querySelector('#phases-table th[data-phase="queued"]')`) {
		t.Error("a closed-model run shows a queued phase")
	}

	// Compare: wait and connect p95, A beside B, from the summaries.
	b.do("compare", chromedp.Navigate(e.ts.URL+"/#/compare?a="+a+"&b="+bID), chromedp.WaitVisible(chromedp.ID("compare-phases-table")))
	rows := eval[map[string]map[string]string](b, `Object.fromEntries([...document.querySelectorAll("#compare-phases-table tbody tr")].map(r =>
		[r.dataset.endpoint, Object.fromEntries([...r.querySelectorAll("td[data-col]")].map(td => [td.dataset.col, td.textContent]))]))`)
	bByName := map[string]report.EndpointSummary{}
	for _, ep := range sumB.Endpoints {
		bByName[ep.Name] = ep
	}
	if len(rows) != 2 {
		t.Errorf("compare rows %v, want slow and fast", rows)
	}
	for name, ea := range byName {
		eb := bByName[name]
		r := rows[name]
		for _, p := range []string{"wait", "connect"} {
			if want := msText(b, ea.Phases[p].P95) + "|" + msText(b, eb.Phases[p].P95); r[p+"-a"]+"|"+r[p+"-b"] != want {
				t.Errorf("compare %s %s p95: %q | %q, the summaries say %s", name, p, r[p+"-a"], r[p+"-b"], want)
			}
		}
		if r["protocol"] != "HTTP/1.1" {
			t.Errorf("compare %s protocol %q", name, r["protocol"])
		}
	}
	if ch := rows["slow"]["wait-change"]; !strings.HasPrefix(ch, "+") || !strings.HasSuffix(ch, "%") {
		t.Errorf("slow's wait went from 30 to 60 ms, the change reads %q", ch)
	}
	if v := eval[float64](b, number(`#compare-phases-table tr[data-endpoint="slow"] [data-col="wait-b"]`)); v < 59 || v > 100 {
		t.Errorf("B's slow wait p95 reads %v ms, want about 60", v)
	}
	b.noNull("compare with phases")
	b.do("scroll to the phases", chromedp.Evaluate[chromedp.Void](`document.getElementById("compare-phases").scrollIntoView()`))
	b.shot("compare-phases")
	b.phoneFits("compare with phases at 420 px")
	b.do("full size again", chromedp.EmulateViewport(1400, 1900))
	b.do("Korean", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "ko")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("compare-phases-table")))
	if got := eval[string](b, `document.querySelector("#compare-phases h2").textContent`); got != "시간이 쓰인 곳: 응답 대기와 연결" {
		t.Errorf("Korean compare heading %q", got)
	}
	b.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "en")`))

	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// A real run of a flow that sends GET /slow (30 ms), then talks over a
// WebSocket to an echo server on loopback and calls a gRPC server there
// (message types by reflection): the socket's rows (WS-OPEN for the
// handshake, WS for the round trips) and the call's (GRPC) keep their
// method labels and show no phases, as the summary has none for them;
// /slow has its bar.
func TestBrowserPhasesWebSocketAndGRPCRun(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		_, _ = w.Write([]byte("slow\n"))
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil || c.Write(r.Context(), typ, msg) != nil {
				return
			}
		}
	})
	target := httptest.NewServer(mux)
	t.Cleanup(target.Close)
	greeter := grpctest.Start(t)
	e := startServer(t, server.Options{})
	b := newBrowser(t)
	b.loggedIn(e, "history-empty")
	yaml := "name: ws and grpc\ntarget: " + target.URL + "\nload: {model: closed, vus: 2, duration: 2s}\n" +
		"defaults: {grpc: {target: " + greeter.URL + ", reflection: true}}\nflows:\n  - name: chat\n    steps:\n" +
		"      - {name: slow, get: /slow}\n      - {name: chat, ws: /ws, send: 'hello {{iteration}}', expect: {body_contains: hello}, within: 2s}\n" +
		"      - {name: hello, grpc: helloworld.Greeter/SayHello, message: {name: surge}, check: {status: OK}}\n"
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"scenario": yaml}, http.StatusCreated, &created)
	e.waitEnded(created.ID, 30*time.Second)
	sum := e.summary(created.ID)
	methods := map[string]report.EndpointSummary{}
	for _, ep := range sum.Endpoints {
		methods[ep.Method+" "+ep.Name] = ep
	}
	t.Logf("endpoints: %+v", sum.Endpoints)
	if len(methods["GET slow"].Phases) != 6 || methods["WS chat"].Requests == 0 || methods["WS-OPEN chat"].Requests == 0 || methods["GRPC hello"].Requests == 0 ||
		len(methods["WS chat"].Phases) != 0 || len(methods["WS-OPEN chat"].Phases) != 0 || len(methods["GRPC hello"].Phases) != 0 {
		t.Fatalf("the summary's endpoints %v: want GET slow with its six phases, WS and WS-OPEN chat and GRPC hello without", methods)
	}
	b.do("open the run", chromedp.Navigate(e.ts.URL+"/#/runs/"+created.ID), chromedp.WaitVisible(chromedp.ID("phases-table")))
	b.waitFor("its rows", `document.querySelectorAll("#phase-bars .phase-row").length === 4`, 10*time.Second)
	type row struct{ Key, None, Badge, Protocol string }
	rows := eval[[]row](b, `[...document.querySelectorAll("#phase-bars .phase-row")].map(r => ({Key: r.dataset.method + " " + r.dataset.endpoint,
		None: r.dataset.phases || "", Badge: r.querySelector(".badge")?.textContent || "", Protocol: r.querySelector('[data-col="protocol"]').textContent}))`)
	for _, r := range rows {
		ep, ok := methods[r.Key]
		switch {
		case !ok:
			t.Errorf("row %q is not in the summary", r.Key)
		case ep.Method == "GET" && (r.None != "" || r.Protocol != "HTTP/1.1"):
			t.Errorf("GET slow: %+v", r)
		case ep.Method != "GET" && (r.None != "none" || r.Badge != ep.Method || r.Protocol != map[bool]string{true: "gRPC", false: "WebSocket"}[ep.Method == "GRPC"]):
			t.Errorf("%s: %+v, want no phases, its method as a badge, WebSocket or gRPC", r.Key, r)
		}
	}
	checkPhases(t, b, sum, "p95")
	if v := eval[float64](b, number(`#phases-table tr[data-endpoint="slow"] td[data-phase="wait"]`)); v < 29 || v > 60 {
		t.Errorf("slow's wait p95 reads %v ms, want about 30", v)
	}
	b.noNull("a run with a WebSocket")
	b.phoneFits("a run with a WebSocket at 420 px")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}

// storeSummary stores a finished run with summary sum (its run id set to
// id) and no snapshots, as a run recorded before the store kept them: the
// server answers with the summary as stored.
func storeSummary(t *testing.T, e *env, id string, sum report.Summary) {
	t.Helper()
	ctx := context.Background()
	started, err := time.Parse(time.RFC3339Nano, sum.Run.Started)
	if err != nil {
		t.Fatal(err)
	}
	plan := []byte(`{"name":"` + id + `","target":"http://127.0.0.1:8080","load":{"model":1,"rate":100,"duration":20000000000},"flows":[{"name":"f","weight":1,"steps":[{"method":"GET","url":"/"}]}]}`)
	if err := e.st.Create(ctx, store.Run{ID: id, Name: sum.Run.Name, Source: store.SourceServer, Model: sum.Run.Model, Started: started, Plan: plan}); err != nil {
		t.Fatal(err)
	}
	sum.Run.ID = id
	if err := e.st.Finish(ctx, id, store.Finished, "", &sum); err != nil {
		t.Fatal(err)
	}
}

// wsGRPCSummary is a run in the documented shape of a scenario with an
// HTTP/2 endpoint (some of whose requests failed before the protocol was
// known), a WebSocket socket and its messages, and a gRPC call: only the
// HTTP endpoint has phases and protocols. Its timeline is the older run's.
func wsGRPCSummary(old report.Summary) report.Summary {
	ph := func(p50, p95 float64) report.PhaseMs {
		return report.PhaseMs{P50: p50, P95: p95, P99: p95 * 1.5, Max: p95 * 3}
	}
	s := old
	s.Run.Name = "chat and users"
	s.Endpoints = []report.EndpointSummary{
		{Name: "login", Method: "POST", Requests: 1000, Errors: 20, RPS: 25, Latency: report.Latency{P50: 14, P95: 41.5, P99: 70, Max: 210},
			Classes: map[string]int64{"tls": 20},
			Phases: map[string]report.PhaseMs{"blocked": ph(0.01, 0.2), "connect": ph(0, 1.25), "tls": ph(0, 3.5), "send": ph(0.02, 0.05),
				"wait": ph(12, 35.5), "receive": ph(0.3, 0.9), "queued": ph(0.05, 0.4)},
			Protocols: map[string]int64{"HTTP/2.0": 980, "unknown": 20}},
		{Name: "chat", Method: "WS-OPEN", Requests: 40, RPS: 1, Latency: report.Latency{P50: 2, P95: 3, P99: 4, Max: 5}, Classes: map[string]int64{}},
		{Name: "chat message", Method: "WS", Requests: 4000, RPS: 100, Latency: report.Latency{P50: 1, P95: 2, P99: 3, Max: 9}, Classes: map[string]int64{}},
		{Name: "users.v1.Users/Get", Method: "GRPC", Requests: 500, RPS: 12.5, Latency: report.Latency{P50: 4, P95: 8, P99: 11, Max: 30}, Classes: map[string]int64{}},
	}
	return s
}

// Stored runs: one recorded before Surge measured phases (the summary
// format of then, testdata/summary-before-phases.json) has no phases part
// and says null nowhere; one with WebSocket and gRPC endpoints beside an
// HTTP/2 one shows their method labels and protocols, and phases for the
// HTTP endpoint only; comparing the two says the older one has none.
func TestBrowserPhasesStoredRuns(t *testing.T) {
	raw, err := os.ReadFile("testdata/summary-before-phases.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "phases") || strings.Contains(string(raw), "protocols") {
		t.Fatal("the older run's fixture has phases")
	}
	var old report.Summary
	if err := json.Unmarshal(raw, &old); err != nil {
		t.Fatal(err)
	}
	e := startServer(t, server.Options{})
	storeSummary(t, e, "old-run", old)
	storeSummary(t, e, "ws-grpc", wsGRPCSummary(old))
	b := newBrowser(t)
	b.loggedIn(e, "history-table")

	b.do("open the older run", chromedp.Navigate(e.ts.URL+"/#/runs/old-run"), chromedp.WaitVisible(chromedp.ID("endpoints-table")))
	b.waitFor("its endpoints", `document.querySelectorAll("#endpoints-table tbody tr").length === 2`, 10*time.Second)
	if eval[bool](b, `!document.getElementById("run-phases").hidden || !!document.getElementById("phases-table")`) {
		t.Error("a run without phases shows a phases part")
	}
	b.noNull("a run without phases")
	b.phoneFits("a run without phases at 420 px")
	b.do("full size again", chromedp.EmulateViewport(1400, 1900))

	b.do("open the WebSocket and gRPC run", chromedp.Navigate(e.ts.URL+"/#/runs/ws-grpc"), chromedp.WaitVisible(chromedp.ID("phases-table")))
	b.waitFor("its endpoints", `document.querySelectorAll("#phase-bars .phase-row").length === 4`, 10*time.Second)
	sum := e.summary("ws-grpc")
	checkPhases(t, b, sum, "p95")
	type row struct {
		Endpoint, Method, None, Badge, Protocol string
		Bar                                     bool
	}
	rows := eval[[]row](b, `[...document.querySelectorAll("#phase-bars .phase-row")].map(r => ({Endpoint: r.dataset.endpoint, Method: r.dataset.method,
		None: r.dataset.phases || "", Badge: r.querySelector(".badge")?.textContent || "", Protocol: r.querySelector('[data-col="protocol"]').textContent, Bar: !!r.querySelector(".phase-bar")}))`)
	want := []row{
		{"login", "POST", "", "", "HTTP/2.0 980 · unknown 20", true},
		{"chat", "WS-OPEN", "none", "WS-OPEN", "WebSocket", false},
		{"chat message", "WS", "none", "WS", "WebSocket", false},
		{"users.v1.Users/Get", "GRPC", "none", "GRPC", "gRPC", false},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("phase rows\n%+v\nwant\n%+v", rows, want)
	}
	if n := eval[int](b, `document.querySelectorAll("#phases-table tbody tr").length`); n != 1 {
		t.Errorf("the phases table has %d rows, want the HTTP endpoint's only", n)
	}
	if got := eval[string](b, `document.querySelector('#phase-bars [data-endpoint="chat"] .phase-none').textContent`); !strings.Contains(got, "HTTP") {
		t.Errorf("a WebSocket row says %q", got)
	}
	if got := eval[[]string](b, `[...document.querySelectorAll("#endpoints-table tbody tr td:nth-child(2)")].map(td => td.textContent)`); strings.Join(got, ",") != "POST,WS-OPEN,WS,GRPC" {
		t.Errorf("the endpoints table's methods %v", got)
	}
	b.noNull("a run of WebSocket and gRPC endpoints")
	b.do("scroll to the phases", chromedp.Evaluate[chromedp.Void](`document.getElementById("run-phases").scrollIntoView()`))
	b.shot("phases-ws-grpc")
	b.phoneFits("WebSocket and gRPC rows at 420 px")
	b.shot("phases-ws-grpc-420")
	b.do("full size again", chromedp.EmulateViewport(1400, 1900))
	b.do("Korean", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "ko")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("phases-table")))
	b.waitFor("Korean rows", `document.querySelectorAll("#phase-bars .phase-row").length === 4`, 10*time.Second)
	if got := eval[string](b, `document.querySelector('#phase-bars [data-endpoint="login"] [data-col="protocol"]').textContent + " | " + document.querySelector('#phase-bars [data-endpoint="chat"] .phase-none').textContent`); !strings.Contains(got, "알 수 없음") || !strings.Contains(got, "타이밍 단계 없음") {
		t.Errorf("Korean protocol and WebSocket row %q", got)
	}
	b.noNull("WebSocket and gRPC rows in Korean")
	b.do("English", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("surge.lang", "en")`), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("phases-table")))

	// The older run beside one with phases: a line, no table.
	b.do("compare", chromedp.Navigate(e.ts.URL+"/#/compare?a=old-run&b=ws-grpc"), chromedp.WaitVisible(chromedp.ID("compare-phases")))
	if got := eval[string](b, `document.getElementById("compare-phases-missing")?.textContent || ""`); !strings.Contains(got, "Run A has no timing phases") {
		t.Errorf("compare with an older run says %q", got)
	}
	if eval[bool](b, `!!document.getElementById("compare-phases-table")`) {
		t.Error("compare with an older run has a phases table")
	}
	b.noNull("compare with an older run")
	// Two older runs: no phases part at all.
	storeSummary(t, e, "old-run-2", old)
	b.do("compare two older runs", chromedp.Navigate(e.ts.URL+"/#/compare?a=old-run&b=old-run-2"), chromedp.WaitVisible(chromedp.ID("compare-table")))
	if eval[bool](b, `!!document.getElementById("compare-phases")`) {
		t.Error("two runs without phases have a phases part")
	}
	b.noNull("compare two older runs")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("errors in the page:\n%s", strings.Join(errs, "\n"))
	}
}
