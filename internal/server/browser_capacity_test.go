//go:build browser

package server_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// browserCapacityInterval is the snapshot interval of the server the
// capacity browser test starts: a step of 750 ms is then 7 intervals, and
// a whole search takes seconds.
const browserCapacityInterval = 100 * time.Millisecond

// A capacity search from the dashboard: the form refuses what it can see
// and shows the server's problems beside their fields; the search's page
// shows its steps as they finish, then the result the API holds (max
// rate, knee, bottleneck and evidence, every step, the probe's latency)
// with the knee and max rate marked on the curve; the history marks it as
// a search; and the compare page shows two searches' verdict sentence and
// max-rate change as the API words them. In English and Korean, and at
// 420 px.
func TestBrowserCapacity(t *testing.T) {
	b := newBrowser(t)
	// Two workers of 10 ms: 200 requests/s at most, and /health queues
	// for the same workers.
	tb := testutil.StartTarget(t, testbed.Options{Workers: 2, WorkTime: 10 * time.Millisecond})
	e := startServer(t, server.Options{Interval: browserCapacityInterval})

	b.do("log in", chromedp.Navigate(e.ts.URL+"/#/capacity"), chromedp.WaitVisible(chromedp.ID("login-secret")),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret), chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("capacity-form")))
	if !eval[bool](b, `document.getElementById("nav-capacity").classList.contains("active")`) {
		t.Error("the Capacity tab is not marked as the page shown")
	}

	// What the browser can see: no objective, a max below the start.
	b.do("fill in a bad form", chromedp.SendKeys(chromedp.ID("start-url"), tb.URL()+"/work"), setValue("start-slo", ""),
		setValue("start-start", "100"), setValue("start-max", "50"), chromedp.Click(chromedp.ID("start-submit")))
	b.waitFor("the problems beside their fields", `document.getElementById("error-slo").textContent.length > 0 && document.getElementById("error-max").textContent.length > 0`, 5*time.Second)
	b.shot("capacity-form-problems")

	// What only the server sees: an objective it cannot parse.
	b.do("a bad objective", setValue("start-slo", "p99<<3ms"), setValue("start-start", "40"), setValue("start-max", "800"),
		chromedp.Click(chromedp.ID("start-submit")))
	b.waitFor("the server's problem beside the objectives", `document.getElementById("error-slo").textContent.includes("p99<<3ms")`, 5*time.Second)
	if n := eval[int](b, `fetch("/api/v1/runs").then(r => r.json()).then(j => j.runs.length)`); n != 0 {
		t.Errorf("%d runs after a refused start, want 0", n)
	}

	// On agents, with none connected: the server's refusal beside the
	// agents field.
	b.do("ask for two agents", setValue("start-slo", "p99<100ms"), chromedp.Click(chromedp.ID("where-agents")),
		setValue("start-agents", "2"), chromedp.Click(chromedp.ID("start-submit")))
	b.waitFor("too few agents", `document.getElementById("error-agents").textContent.includes("too few agents")`, 5*time.Second)
	b.do("back to this server", chromedp.Click(chromedp.ID("where-local")))

	// A good search, with a health probe and the target's own /metrics.
	b.do("fill in the search",
		setValue("start-slo", "p99<100ms\nerrors<1%"), setValue("start-step", "750ms"), setValue("start-precision", "10"),
		setValue("start-probe", tb.URL()+"/health"), setValue("start-monitors", "app="+tb.URL()+"/metrics"),
		setValue("start-link_bytes_per_s", "1000"), setValue("start-name", "work capacity"))
	b.shot("capacity-form")
	b.do("start the search", chromedp.Click(chromedp.ID("start-submit")), chromedp.WaitVisible(chromedp.ID("cap-result")))
	id := strings.TrimPrefix(eval[string](b, `location.hash`), "#/runs/")

	// The form sent what it says, in the API's units.
	var detail struct{ Request map[string]any }
	e.json("GET", "/api/v1/runs/"+id, nil, http.StatusOK, &detail)
	if got := fmt.Sprint(detail.Request["slo"], detail.Request["start"], detail.Request["max"], detail.Request["step"], detail.Request["precision"],
		detail.Request["probe"], detail.Request["monitors"], detail.Request["link_bytes_per_s"]); got != fmt.Sprint([]any{"p99<100ms", "errors<1%"}, 40, 800, "750ms", 0.1,
		tb.URL()+"/health", []any{"app=" + tb.URL() + "/metrics"}, 1.25e8) {
		t.Errorf("the search was started with %s", got)
	}

	// Live: steps appear while it runs, on the table and the curve.
	b.waitFor("a step while it runs", `document.querySelectorAll("#cap-steps-table tbody tr").length >= 2 && !!document.querySelector('#run-status [data-status="running"]')`, 20*time.Second)
	if got := eval[string](b, `document.querySelector("#cap-steps-table tbody tr td[data-col=rate]").textContent`); got != "40/s" {
		t.Errorf("the first step's rate reads %q, want 40/s", got)
	}
	if eval[int](b, `+(document.getElementById("cap-chart-throughput").dataset.points || 0)`) < 2 {
		t.Error("the curve has fewer than 2 points with 2 steps done")
	}
	if eval[int](b, `+(document.getElementById("cap-chart-live").dataset.points || 0)`) < 3 {
		t.Error("the load-over-time chart has no intervals")
	}
	b.waitFor("the time left", `!!document.getElementById("cap-left")`, 5*time.Second)
	b.shot("capacity-live")
	b.waitFor("the search ends", `!!document.querySelector('#run-status [data-status="finished"]')`, 90*time.Second)
	b.waitFor("the final bottleneck", `document.getElementById("cap-bottleneck").dataset.kind !== ""`, 5*time.Second)

	// The page says what the API holds.
	var res struct {
		MaxRate    float64 `json:"max_rate"`
		KneeRate   float64 `json:"knee_rate"`
		Steps      []map[string]any
		Bottleneck struct{ Kind, Evidence string }
	}
	e.json("GET", "/api/v1/runs/"+id+"/summary", nil, http.StatusOK, &res)
	t.Logf("search: max %.1f/s, knee %.1f/s, %d steps, %s: %s", res.MaxRate, res.KneeRate, len(res.Steps), res.Bottleneck.Kind, res.Bottleneck.Evidence)
	// How close the search comes to 200/s is the capacity tests' matter
	// (a busy machine limits the generator: the search then says so);
	// here the page must say what the API says.
	if res.MaxRate <= 0 || res.MaxRate > 240 {
		t.Errorf("max rate %.1f/s for a target of 200/s", res.MaxRate)
	}
	if got := eval[float64](b, `+document.getElementById("cap-max").dataset.value`); got != res.MaxRate {
		t.Errorf("the max rate tile holds %v, the API %v", got, res.MaxRate)
	}
	if got := eval[float64](b, number("#cap-max .value")); math.Abs(got-res.MaxRate) > 0.06 {
		t.Errorf("the max rate tile reads %v, the API %v", got, res.MaxRate)
	}
	if got := eval[string](b, `document.getElementById("cap-bottleneck").dataset.kind`); got != res.Bottleneck.Kind {
		t.Errorf("bottleneck %q on the page, %q in the API", got, res.Bottleneck.Kind)
	}
	if got := eval[string](b, `document.getElementById("cap-evidence").textContent`); got != res.Bottleneck.Kind+": "+res.Bottleneck.Evidence {
		t.Errorf("evidence on the page %q, in the API %q", got, res.Bottleneck.Evidence)
	}
	if n := eval[int](b, `document.querySelectorAll("#cap-steps-table tbody tr").length`); n != len(res.Steps) {
		t.Errorf("%d step rows, %d steps in the API", n, len(res.Steps))
	}
	for i, s := range res.Steps {
		want := fmt.Sprint(s["ok"] == true)
		if got := eval[string](b, fmt.Sprintf(`document.querySelector('#cap-steps-table tr[data-step="%d"]').dataset.ok`, i)); got != want {
			t.Errorf("step %d: ok %s on the page, %s in the API", i, got, want)
		}
		if p, ok := s["probe_p99_ms"].(float64); ok {
			if got := eval[float64](b, number(fmt.Sprintf(`#cap-steps-table tr[data-step="%d"] td[data-col="probe"]`, i))); math.Abs(got-p) > 0.01*p+0.01 {
				t.Errorf("step %d: probe p99 %v on the page, %v in the API", i, got, p)
			}
		}
	}
	if _, ok := res.Steps[0]["probe_p99_ms"]; !ok {
		t.Error("the API has no probe latency on the first step although a probe was given")
	} else if eval[int](b, `document.querySelectorAll('#cap-steps-table td[data-col="probe"]').length`) != len(res.Steps) {
		t.Error("the probe column is missing")
	}
	// The monitor's peaks, folded under the steps.
	series := map[string]bool{}
	for _, s := range res.Steps {
		mons, _ := s["monitors"].(map[string]any)
		for mon, vals := range mons {
			for k := range vals.(map[string]any) {
				series[mon+" "+k] = true
			}
		}
	}
	// (A server whose searches carry no monitor figures per step shows
	// no table: the run's own monitor data is not per step.)
	if n := eval[int](b, `document.querySelectorAll("#cap-monitor-peaks").length`); len(series) == 0 && n != 0 {
		t.Error("a monitor peaks table without monitor figures in the steps")
	} else if len(series) == 0 {
		t.Log("the API's steps have no monitor figures: the peaks table is not shown")
	} else if n := eval[int](b, `document.querySelectorAll("#cap-monitor-peaks tbody tr").length`); n != min(len(series), 24) {
		t.Errorf("%d monitor peak rows, want %d of the API's %d series", n, min(len(series), 24), len(series))
	}
	// The curve: one point per rate tried, its last step's achieved rate in
	// the offered rate's unit, iterations/s (they differ from requests/s
	// when a window cuts an iteration), requests/s where no iteration was
	// recorded — the rule of the HTML report's curve too.
	last := map[float64]float64{}
	for _, s := range res.Steps {
		ips, _ := s["achieved_ips"].(float64)
		last[s["rate"].(float64)] = cmp.Or(ips, s["achieved_rps"].(float64))
	}
	rates := slices.Sorted(maps.Keys(last))
	var achieved []float64
	for _, r := range rates {
		achieved = append(achieved, last[r])
	}
	if got := eval[[][]float64](b, `document.getElementById("cap-chart-throughput").chart.data.slice(0, 2)`); !reflect.DeepEqual(got, [][]float64{rates, achieved}) {
		t.Errorf("the curve is %v, want rates %v achieving %v", got, rates, achieved)
	}
	marks := eval[string](b, `document.getElementById("cap-chart-throughput").dataset.marks`)
	if want := fmt.Sprintf("knee:%v,max:%v", res.KneeRate, res.MaxRate); res.KneeRate > 0 && marks != want {
		t.Errorf("the curve's marks are %q, want %q", marks, want)
	} else if !strings.Contains(marks, fmt.Sprintf("max:%v", res.MaxRate)) {
		t.Errorf("the curve's marks %q lack the max rate %v", marks, res.MaxRate)
	}
	// The reports: the search's result (JSON and HTML), the load test's.
	for link, want := range map[string]string{"report-capacity": "surge.capacity/v1", "report-json": "surge.summary/v1"} {
		if got := eval[string](b, `fetch(document.getElementById("`+link+`").href).then(r => r.json()).then(j => j.schema)`); got != want {
			t.Errorf("%s gives schema %q, want %s", link, got, want)
		}
	}
	if got := eval[string](b, `fetch(document.getElementById("report-capacity-html").href).then(r => r.status + " " + r.headers.get("Content-Type"))`); !strings.HasPrefix(got, "200 text/html") {
		t.Errorf("the result's HTML page: %s", got)
	}
	b.shot("capacity-finished")

	// Stopped from its page: the steps so far stay, and the max rate is
	// only a lower bound.
	var started struct{ ID string }
	e.json("POST", "/api/v1/capacity", map[string]any{"url": tb.URL() + "/work", "slo": []string{"p99<100ms"}, "start": 40, "max": 800,
		"step": "750ms", "name": "stopped search"}, http.StatusCreated, &started)
	b.do("open the second search", chromedp.Navigate(e.ts.URL+"/#/runs/"+started.ID), chromedp.WaitVisible(chromedp.ID("stop-btn")))
	b.waitFor("its first step", `document.querySelectorAll("#cap-steps-table tbody tr").length >= 1`, 10*time.Second)
	b.do("stop it", chromedp.Click(chromedp.ID("stop-btn")))
	b.waitFor("stopped", `!!document.querySelector('#run-status [data-status="stopped"]')`, 15*time.Second)
	var stopped struct {
		Steps      []map[string]any
		LowerBound bool `json:"lower_bound"`
	}
	e.json("GET", "/api/v1/runs/"+started.ID+"/summary", nil, http.StatusOK, &stopped)
	if n := eval[int](b, `document.querySelectorAll("#cap-steps-table tbody tr").length`); n != len(stopped.Steps) || n == 0 {
		t.Errorf("a stopped search shows %d steps, the API has %d", n, len(stopped.Steps))
	}
	if sub := eval[string](b, `document.querySelector("#cap-max .sub").textContent`); stopped.LowerBound && !strings.Contains(sub, "lower bound") {
		t.Errorf("a stopped search's max rate says %q, not a lower bound", sub)
	}
	b.shot("capacity-stopped")

	// History: marked as a search.
	b.do("the history", chromedp.Click(chromedp.ID("nav-history")), chromedp.WaitVisible(chromedp.ID("history-table")))
	if !eval[bool](b, `!!document.querySelector('#history-table tr[data-id="`+id+`"][data-kind="capacity"] .kind-capacity')`) {
		t.Error("the search is not marked as one in the history")
	}
	b.waitFor("its max rate in the history", `!!document.querySelector('#history-table tr[data-id="`+id+`"] [data-max]')`, 5*time.Second)
	if got := eval[float64](b, `+document.querySelector('#history-table tr[data-id="`+id+`"] [data-max]').dataset.max`); got != res.MaxRate {
		t.Errorf("the history says max %v, the API %v", got, res.MaxRate)
	}
	b.shot("capacity-history")

	// Two stored searches of the same target and objectives, the second
	// with a max rate 18 % lower (both clean, not lower bounds, whatever
	// the machine did to the search above): the compare page shows the
	// API's verdict and its sentence.
	ctx := context.Background()
	ra, err := e.st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := e.st.Capacity(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	seed := func(seedID, name string, scale float64) {
		t.Helper()
		var r map[string]any
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		r["max_rate"], r["knee_rate"], r["plateau_rps"] = 200*scale, 150*scale, 205*scale
		r["lower_bound"], r["confirmed"], r["start_missed"] = false, true, false
		delete(r, "probe_starved")
		r["bottleneck"] = map[string]any{"kind": "concurrency", "evidence": "throughput flat while latency grew", "concurrency": 2.0, "service_ms": 10.0}
		var steps []any
		for i, rate := range []float64{40, 80, 160, 320, 240, 200, 220, 200} {
			ok := rate <= 200
			steps = append(steps, map[string]any{"phase": []string{"grow", "grow", "grow", "grow", "bisect", "bisect", "bisect", "confirm"}[i],
				"rate": rate * scale, "achieved_rps": math.Min(rate, 205) * scale, "p50_ms": 10.0, "p99_ms": map[bool]float64{true: 20, false: 400}[ok],
				"error_rate": 0.0, "ok": ok, "generator_limited": false, "steady": true, "window_s": 0.5,
				"monitors": map[string]any{"app": map[string]any{
					"testbed_workers_busy":  map[string]any{"min": 0.0, "max": math.Min(rate/100, 2)},
					"host_cpu_busy_percent": map[string]any{"min": 1.0, "max": 6.0}}}})
		}
		r["steps"] = steps
		b, _ := json.Marshal(r)
		if err := e.st.Create(ctx, store.Run{ID: seedID, Name: name, Source: store.SourceServer, Model: "open",
			Kind: store.KindCapacity, Started: time.Now(), Plan: ra.Plan, Request: ra.Request}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.SaveCapacity(ctx, seedID, b, true); err != nil {
			t.Fatal(err)
		}
		if err := e.st.Finish(ctx, seedID, store.Finished, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	seed("cap-seed-a", "work capacity before", 1)
	seed("cap-seed-b", "work capacity after", 0.82)
	var cmp struct {
		Verdict, Reason string
		Metrics         []struct {
			Name     string
			DeltaPct *float64 `json:"delta_pct"`
		}
	}
	e.json("GET", "/api/v1/compare?a=cap-seed-a&b=cap-seed-b", nil, http.StatusOK, &cmp)
	t.Logf("compare: %s: %s", cmp.Verdict, cmp.Reason)
	b.do("compare the searches", chromedp.Navigate(e.ts.URL+"/#/compare?a=cap-seed-a&b=cap-seed-b"), chromedp.WaitVisible(chromedp.ID("verdict")))
	if got := eval[string](b, `document.getElementById("verdict").dataset.verdict`); got != cmp.Verdict || got != "worse" {
		t.Errorf("verdict %q on the page, %q in the API; want worse", got, cmp.Verdict)
	}
	if got := eval[string](b, `document.getElementById("verdict-reason").textContent`); got != cmp.Reason || !strings.Contains(got, "18") {
		t.Errorf("the verdict sentence reads %q, the API's %q", got, cmp.Reason)
	}
	for _, m := range cmp.Metrics {
		if m.Name == "max_rate" && m.DeltaPct != nil {
			want := "−" + strconv.FormatFloat(math.Round(math.Abs(*m.DeltaPct)*10)/10, 'f', -1, 64) + "%"
			if got := eval[string](b, `document.querySelector('#compare-table tr[data-metric="max_rate"] td[data-col="change"]').textContent`); got != want {
				t.Errorf("max-rate change reads %q, want %q", got, want)
			}
		}
	}
	b.waitFor("both curves", `+(document.getElementById("compare-chart-throughput").dataset.points || 0) >= 2`, 5*time.Second)
	b.shot("capacity-compare")

	// A stored search's page: its monitor peaks, step by step.
	b.do("the stored search", chromedp.Navigate(e.ts.URL+"/#/runs/cap-seed-a"), chromedp.WaitVisible(chromedp.ID("cap-steps-table")))
	if n := eval[int](b, `document.querySelectorAll("#cap-monitor-peaks tbody tr").length`); n != 2 {
		t.Errorf("%d monitor peak rows, want 2", n)
	}
	peaks := eval[[]string](b, `[...document.querySelectorAll('#cap-monitor-peaks tr[data-key="testbed_workers_busy"] td.num')].map(td => td.textContent)`)
	if want := []string{"0.40", "0.80", "1.6", "2.0", "2.0", "2.0", "2.0", "2.0"}; !reflect.DeepEqual(peaks, want) {
		t.Errorf("workers busy peaks read %q, want %q", peaks, want)
	}
	b.shot("capacity-stored")
	b.do("back to the comparison", chromedp.Navigate(e.ts.URL+"/#/compare?a=cap-seed-a&b=cap-seed-b"), chromedp.WaitVisible(chromedp.ID("verdict")))

	// Korean, and a phone-sized window.
	b.do("Korean", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "ko"; s.dispatchEvent(new Event("change")); })()`))
	b.waitFor("the compare page in Korean", `document.getElementById("verdict-headline") && document.getElementById("verdict-headline").textContent === "B가 A보다 덜 받습니다"`, 5*time.Second)
	b.do("the search in Korean", chromedp.Navigate(e.ts.URL+"/#/runs/"+id), chromedp.WaitVisible(chromedp.ID("cap-steps-table")))
	if got := eval[string](b, `document.querySelector("#cap-max .label").textContent`); got != "최대 속도" {
		t.Errorf("the max rate tile in Korean reads %q", got)
	}
	b.shot("capacity-ko")
	b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
	defer b.do("full size again", chromedp.EmulateViewport(1400, 1900))
	for _, pg := range []struct{ name, hash, ready string }{
		{"form", "#/capacity", "#capacity-form"},
		{"search", "#/runs/" + id, "#cap-steps-table"},
		{"compare", "#/compare?a=cap-seed-a&b=cap-seed-b", "#verdict"},
	} {
		b.do("open "+pg.name, chromedp.Navigate(e.ts.URL+"/#/login"), chromedp.Navigate(e.ts.URL+"/"+pg.hash), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
		time.Sleep(300 * time.Millisecond) // let the charts take their size
		b.noOverflow("capacity " + pg.name)
		if bad := eval[[]string](b, `[...document.querySelectorAll(".chart .uplot")].filter(u => u.getBoundingClientRect().right > u.closest(".card").getBoundingClientRect().right + 1).map(u => u.parentElement.id)`); len(bad) > 0 {
			t.Errorf("%s: charts wider than their card: %v", pg.name, bad)
		}
		b.shot("capacity-420-" + pg.name)
	}
	b.do("back to English", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "en"; s.dispatchEvent(new Event("change")); })()`))
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
}
