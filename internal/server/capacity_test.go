package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// capacityInterval is the snapshot interval of the servers these tests
// start: with it, a step of 1.2 s settles 400 ms and judges 8 intervals,
// the warm-up is 3 intervals, and a search of two steps and its
// confirmation takes about 4.5 s. The targets' 20 ms of work keep a busy
// machine's jitter of a few ms from looking like a queue.
const capacityInterval = 100 * time.Millisecond

func startCapacityServer(t *testing.T) *env {
	t.Helper()
	return startServer(t, server.Options{Interval: capacityInterval, NoUI: true})
}

// served is GET …/summary of a capacity run: surge.capacity/v1 and the
// run's status.
type served struct {
	capacity.Result
	Status string `json:"status"`
}

func (e *env) capacity(id string) served {
	e.t.Helper()
	var s served
	e.json("GET", "/api/v1/runs/"+id+"/summary", nil, http.StatusOK, &s)
	return s
}

// highestPassing is the highest rate of the steps that passed, as
// generated: a stopped or unfinished search's max rate.
func highestPassing(steps []capacity.Step) float64 {
	m := 0.0
	for _, s := range steps {
		if s.OK && !s.GeneratorLimited && s.Rate > m {
			m = s.Rate
		}
	}
	return m
}

func (e *env) startCapacity(body map[string]any) string {
	e.t.Helper()
	var created struct{ ID string }
	e.json("POST", "/api/v1/capacity", body, http.StatusCreated, &created)
	if created.ID == "" {
		e.t.Fatal("no id")
	}
	return created.ID
}

// A search through the API is a run of kind capacity: its steps stream
// live, it holds the server's one run slot, takes no PATCH, and ends with
// its surge.capacity/v1 result as its summary — while the run's own load
// summary counts every request the target saw, once.
func TestCapacitySearchThroughTheAPI(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	e := startCapacityServer(t)
	id := e.startCapacity(map[string]any{"url": tb.URL() + "/work", "slo": []string{"p99<200ms", "errors<1%"},
		"start": 100, "max": 200, "step": "1200ms", "name": "work capacity", "monitors": []string{"tb=" + tb.URL() + "/metrics"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := e.stream(ctx, "/api/v1/runs/"+id+"/events")

	// While it runs: listed as a capacity run, no control, the slot taken.
	var list struct{ Runs []map[string]any }
	e.json("GET", "/api/v1/runs", nil, http.StatusOK, &list)
	if len(list.Runs) != 1 || list.Runs[0]["kind"] != "capacity" || list.Runs[0]["model"] != "open" {
		t.Errorf("listed: %v", list.Runs)
	}
	if r := e.run(id); r.Control != "" || r.Name != "work capacity" {
		t.Errorf("detail: control %q, name %q", r.Control, r.Name)
	}
	if code, body := e.do("PATCH", "/api/v1/runs/"+id, map[string]any{"rate": 100}); code != http.StatusConflict || !strings.Contains(string(body), "capacity search") {
		t.Errorf("PATCH a search: %d %s", code, body)
	}
	if code, body := e.do("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/hello", "rate": 10, "duration": "1s"}); code != http.StatusConflict {
		t.Errorf("a run while a search runs: %d %s", code, body)
	}
	if code, body := e.do("POST", "/api/v1/capacity", map[string]any{"url": tb.URL() + "/hello", "slo": []string{"p99<1s"}}); code != http.StatusConflict {
		t.Errorf("a second search: %d %s", code, body)
	}

	state := next(t, events, 10*time.Second, "state")
	var st struct {
		Run      map[string]any `json:"run"`
		Capacity served         `json:"capacity"`
	}
	if err := json.Unmarshal(state.data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Run["kind"] != "capacity" || st.Capacity.Schema != capacity.Schema || st.Capacity.Status != "running" {
		t.Errorf("state: kind %v, capacity schema %q status %q", st.Run["kind"], st.Capacity.Schema, st.Capacity.Status)
	}
	steps := append([]capacity.Step(nil), st.Capacity.Steps...)
	var end struct {
		Run      map[string]any `json:"run"`
		Summary  report.Summary `json:"summary"`
		Capacity served         `json:"capacity"`
	}
	intervals := 0
	for done := false; !done; {
		ev := next(t, events, 30*time.Second, "step", "end", "interval")
		switch ev.name {
		case "interval":
			intervals++
		case "step":
			var se struct {
				Index    int           `json:"index"`
				Step     capacity.Step `json:"step"`
				LeftS    float64       `json:"left_s"`
				Capacity served        `json:"capacity"`
			}
			if err := json.Unmarshal(ev.data, &se); err != nil {
				t.Fatal(err)
			}
			if se.Index < len(steps) {
				continue // in the state already
			}
			if se.Index != len(steps) || len(se.Capacity.Steps) != se.Index+1 || se.Capacity.Status != "running" {
				t.Errorf("step event %d after %d steps; its result has %d steps, status %q", se.Index, len(steps), len(se.Capacity.Steps), se.Capacity.Status)
			}
			steps = append(steps, se.Step)
		case "end":
			if err := json.Unmarshal(ev.data, &end); err != nil {
				t.Fatal(err)
			}
			done = true
		}
	}
	if intervals == 0 {
		t.Error("no interval events")
	}
	res := e.capacity(id)
	if res.Status != "finished" || end.Capacity.Status != "finished" || end.Run["status"] != "finished" {
		t.Errorf("ended: summary status %q, end event %q / %v", res.Status, end.Capacity.Status, end.Run["status"])
	}
	// 100/s and 200/s pass (the maximum), then 200/s is confirmed. (A step
	// that a busy machine's generator spoiled is held again: such steps
	// are left out.)
	var rates []string
	for _, s := range res.Steps {
		t.Log(capacity.StepLine(s))
		if !s.OK && s.GeneratorLimited {
			continue
		}
		rates = append(rates, fmt.Sprintf("%s %g %v", s.Phase, s.Rate, s.OK))
	}
	if got := strings.Join(rates, ", "); got != "grow 100 true, grow 200 true, confirm 200 true" {
		t.Errorf("steps: %s", got)
	}
	if len(steps) != len(res.Steps) {
		t.Errorf("%d steps streamed, %d in the result", len(steps), len(res.Steps))
	}
	if res.MaxRate != 200 || !res.Confirmed || !res.LowerBound || res.Bottleneck.Kind != capacity.KindUnknown ||
		!strings.Contains(res.Bottleneck.Evidence, "raise --max") || res.Target != tb.URL()+"/work" ||
		strings.Join(res.SLO, ",") != "p99<200ms,errors<1%" {
		t.Errorf("result: %+v", res.Result)
	}
	if end.Capacity.MaxRate != res.MaxRate || len(end.Capacity.Steps) != len(res.Steps) {
		t.Errorf("the end event's result differs: max %v, %d steps", end.Capacity.MaxRate, len(end.Capacity.Steps))
	}
	var listed struct {
		Runs []struct {
			Kind     string `json:"kind"`
			Capacity *struct {
				MaxRate    float64 `json:"max_rate"`
				LowerBound bool    `json:"lower_bound"`
				Bottleneck string  `json:"bottleneck"`
				Steps      int     `json:"steps"`
			} `json:"capacity"`
		}
	}
	e.json("GET", "/api/v1/runs", nil, http.StatusOK, &listed)
	if c := listed.Runs[0].Capacity; c == nil || c.MaxRate != 200 || !c.LowerBound || c.Bottleneck != "unknown" || c.Steps != len(res.Steps) {
		t.Errorf("listed headline: %+v", c)
	}
	// The run's own load summary counts every request once.
	var load report.Summary
	e.json("GET", "/api/v1/runs/"+id+"/summary?of=load", nil, http.StatusOK, &load)
	if load.Schema != report.Schema || load.Totals.Requests == 0 || load.Totals.Requests != tb.CountPath("/work") {
		t.Errorf("load summary: schema %q, %d requests; the target saw %d", load.Schema, load.Totals.Requests, tb.CountPath("/work"))
	}
	// The request's monitor was scraped by the server during the search.
	if len(load.Monitors) != 1 || load.Monitors[0].Name != "tb" || load.Monitors[0].Scrapes == 0 {
		t.Errorf("monitors of the search's run: %+v", load.Monitors)
	}
	// Its reports: the result as JSON and its page; the load test's CSV.
	for _, tc := range []struct{ query, ctype, has string }{
		{"", "application/json", `"schema": "surge.capacity/v1"`},
		{"?format=html", "text/html", "surge.capacity/v1"},
		{"?format=csv", "text/csv", "elapsed"},
		{"?format=json&of=load", "application/json", `"schema": "surge.summary/v1"`},
	} {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/runs/"+id+"/report"+tc.query, nil)
		req.Header.Set("Authorization", "Bearer "+testSecret)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(b.String(), tc.has) {
			t.Errorf("report%s: %d %s, %d bytes without %q", tc.query, resp.StatusCode, resp.Header.Get("Content-Type"), b.Len(), tc.has)
		}
	}
	// The slot is free again.
	if code, body := e.do("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/hello", "rate": 5, "duration": "300ms"}); code != http.StatusCreated {
		t.Errorf("a run after the search: %d %s", code, body)
	}
}

// Bad input is a 400 naming the field, before anything is sent.
func TestCapacityRefusesBadInput(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startCapacityServer(t)
	u := tb.URL() + "/hello"
	for _, tc := range []struct {
		name  string
		body  string
		field string
		msg   string
	}{
		{"no objective", `{"url":"` + u + `"}`, "slo", "give at least one objective"},
		{"a bad objective, with its position", `{"url":"` + u + `","slo":["p99<250ms","p99<<3ms"]}`, "slo", `slo[1]: `},
		{"a monitor objective", `{"url":"` + u + `","slo":["monitor[api].cpu<90%"]}`, "slo", "evidence, not an objective"},
		{"a negative start", `{"url":"` + u + `","slo":["p99<1s"],"start":-5}`, "start", "start: want a rate > 0, got -5"},
		{"a zero max", `{"url":"` + u + `","slo":["p99<1s"],"max":0}`, "max", "max: want a rate > 0"},
		{"max below start", `{"url":"` + u + `","slo":["p99<1s"],"start":50,"max":20}`, "max", "max: want a rate ≥ start (50), got 20"},
		{"a rate past the ceiling", `{"url":"` + u + `","slo":["p99<1s"],"max":1e12}`, "max", "more than the"},
		{"precision 1", `{"url":"` + u + `","slo":["p99<1s"],"precision":1}`, "precision", "want a fraction in (0, 1)"},
		{"a step too short", `{"url":"` + u + `","slo":["p99<1s"],"step":"100ms"}`, "step", "want at least 300ms"},
		{"a step that is no duration", `{"url":"` + u + `","slo":["p99<1s"],"step":"6"}`, "step", `got "6"`},
		{"an unknown field", `{"url":"` + u + `","slo":["p99<1s"],"rate":100}`, "rate", `unknown field "rate"`},
		{"a misspelt field", `{"url":"` + u + `","slos":["p99<1s"]}`, "slos", `unknown field "slos"`},
		{"a wrong type", `{"url":"` + u + `","slo":["p99<1s"],"start":"fast"}`, "start", "want a number"},
		{"no target", `{"slo":["p99<1s"]}`, "url", "nothing to test"},
		{"url and scenario", `{"url":"` + u + `","scenario":"name: x","slo":["p99<1s"]}`, "scenario", "not both"},
		{"a bad URL", `{"url":"ftp://x","slo":["p99<1s"]}`, "url", ""},
		{"a bad monitor", `{"url":"` + u + `","slo":["p99<1s"],"monitors":["=http://x"]}`, "monitors", "monitors[0]: "},
		{"negative max_vus", `{"url":"` + u + `","slo":["p99<1s"],"max_vus":-1}`, "max_vus", "want a number ≥ 0"},
		{"zero agents", `{"url":"` + u + `","slo":["p99<1s"],"agents":0}`, "agents", "want 1 to"},
		{"a bad probe", `{"url":"` + u + `","slo":["p99<1s"],"probe":"127.0.0.1:8080/health"}`, "probe", "probe: want an http:// or https:// URL"},
		{"an endpoint the plan lacks", `{"url":"` + u + `","slo":["p99<1s","endpoint[login].p99<1s"]}`, "slo", "slo[1]: \"endpoint[login].p99<1s\": no step is named `login`"},
		{"a flow the scenario lacks, with a hint", `{"scenario":"name: x\ntarget: ` + tb.URL() + `\nflows:\n  - name: order\n    steps:\n      - {name: o, get: /hello}\n","slo":["flow[ordr].p99<1s"]}`, "slo", "did you mean `order`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do("POST", "/api/v1/capacity", tc.body)
			var eb struct {
				Error string `json:"error"`
				Field string `json:"field"`
			}
			_ = json.Unmarshal(body, &eb)
			t.Logf("%d %s", code, body)
			if code != http.StatusBadRequest || eb.Field != tc.field || !strings.Contains(eb.Error, tc.msg) {
				t.Errorf("%d field %q: %s; want 400 naming %q with %q", code, eb.Field, eb.Error, tc.field, tc.msg)
			}
		})
	}
	if n := tb.Count(); n != 0 {
		t.Errorf("refused searches sent %d requests", n)
	}
	var list struct{ Runs []any }
	e.json("GET", "/api/v1/runs", nil, http.StatusOK, &list)
	if len(list.Runs) != 0 {
		t.Errorf("refused searches left %d runs", len(list.Runs))
	}
}

// A search of a scenario file runs it in the open model (its load: is not
// used), and POST …/stop ends it with the steps so far, analysed.
func TestCapacityStopKeepsTheStepsSoFar(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	e := startCapacityServer(t)
	yaml := "name: stop me\ntarget: " + tb.URL() + "\n" +
		"load: {model: closed, vus: 3, stages: [{duration: 5s, target: 5}], max_vus: 7}\n" +
		"thresholds: [\"p99<1ms\"]\n" +
		"flows:\n  - name: work\n    steps:\n      - {name: w, get: /work}\n"
	id := e.startCapacity(map[string]any{"scenario": yaml, "slo": []string{"p99<500ms"}, "start": 50, "max": 5000, "step": "1200ms"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := e.stream(ctx, "/api/v1/runs/"+id+"/events")
	next(t, events, 20*time.Second, "step")
	var stopped runInfo
	e.json("POST", "/api/v1/runs/"+id+"/stop", nil, http.StatusOK, &stopped)
	if stopped.Status != "stopped" {
		t.Errorf("after stop: %q (%s)", stopped.Status, stopped.Error)
	}
	res := e.capacity(id)
	if res.Status != "stopped" || len(res.Steps) == 0 || res.Target != tb.URL()+"/work" {
		t.Fatalf("stopped search: status %q, %d steps, target %q", res.Status, len(res.Steps), res.Target)
	}
	// Analysed: every step passed, so the search says what it saw, not
	// that it is in progress.
	if strings.Contains(res.Bottleneck.Evidence, "in progress") || res.MaxRate != highestPassing(res.Steps) || !res.LowerBound {
		t.Errorf("stopped result: max %v, lower bound %v, %s: %s", res.MaxRate, res.LowerBound, res.Bottleneck.Kind, res.Bottleneck.Evidence)
	}
	// The run was the open model with the search's own VU cap, and the
	// file's thresholds were not judged.
	var load report.Summary
	e.json("GET", "/api/v1/runs/"+id+"/summary?of=load", nil, http.StatusOK, &load)
	if load.Run.Model != "open" || len(load.Thresholds) != 0 || load.Totals.Requests != tb.CountPath("/work") {
		t.Errorf("load: model %q, %d thresholds, %d requests of %d", load.Run.Model, len(load.Thresholds), load.Totals.Requests, tb.CountPath("/work"))
	}
	var detail struct {
		Plan struct {
			Load map[string]any `json:"load"`
		} `json:"plan"`
	}
	e.json("GET", "/api/v1/runs/"+id, nil, http.StatusOK, &detail)
	if l := detail.Plan.Load; l["model"] != "open" || l["max_vus"] != float64(engine.DefaultMaxVUs(5000, engine.DefaultTimeout)) || l["rate"] != float64(50) {
		t.Errorf("the search's run load: %v", l)
	}
	for _, q := range []string{"?from=1", "?of=nope"} {
		if code, body := e.do("GET", "/api/v1/runs/"+id+"/summary"+q, nil); code != http.StatusBadRequest {
			t.Errorf("summary%s: %d %s", q, code, body)
		}
	}
}

// A search whose server dies keeps, at the next start, the steps it had
// finished, and is interrupted; a finished search's result survives the
// restart unchanged.
func TestCapacitySurvivesARestart(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Store: st, Secret: testSecret, Interval: capacityInterval, NoUI: true})
	ts := httptestServer(t, srv)
	e := &env{t: t, srv: srv, st: st, ts: ts, dir: dir, client: &http.Client{Timeout: 40 * time.Second}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Close(ctx) // its store is gone: the end of its run cannot be written
	})
	done := e.startCapacity(map[string]any{"url": tb.URL() + "/work", "slo": []string{"p99<500ms"}, "start": 100, "max": 100, "step": "1200ms"})
	e.waitEnded(done, 30*time.Second)
	before := e.capacity(done)

	id := e.startCapacity(map[string]any{"url": tb.URL() + "/work", "slo": []string{"p99<500ms"}, "start": 50, "max": 5000, "step": "1200ms"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := e.stream(ctx, "/api/v1/runs/"+id+"/events")
	next(t, events, 20*time.Second, "step")
	next(t, events, 20*time.Second, "step")
	// The process dies: its store is gone mid-search, as it would be with
	// the process.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	srv2 := server.New(server.Options{Store: st2, Secret: testSecret, Interval: capacityInterval, NoUI: true})
	e2 := &env{t: t, srv: srv2, st: st2, ts: httptestServer(t, srv2), dir: dir, client: e.client}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv2.Close(ctx)
	})
	res := e2.capacity(id)
	if r := e2.run(id); r.Status != "interrupted" || res.Status != "interrupted" {
		t.Errorf("after the restart: run %q, result %q", r.Status, res.Status)
	}
	if len(res.Steps) < 2 || !strings.Contains(res.Bottleneck.Evidence, fmt.Sprintf("interrupted after %d steps", len(res.Steps))) ||
		res.MaxRate != highestPassing(res.Steps) || res.Schema != capacity.Schema || strings.Join(res.SLO, ",") != "p99<500ms" {
		t.Errorf("interrupted result: %d steps, max %v, %q: %+v", len(res.Steps), res.MaxRate, res.Bottleneck.Evidence, res.Result)
	}
	after := e2.capacity(done)
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	if string(a) != string(b) {
		t.Errorf("the finished search changed over the restart:\n%s\n%s", b, a)
	}
	var list struct{ Runs []map[string]any }
	e2.json("GET", "/api/v1/runs", nil, http.StatusOK, &list)
	for _, r := range list.Runs {
		if r["kind"] != "capacity" {
			t.Errorf("listed after the restart: %v", r)
		}
	}
}

// GET /api/v1/compare on two capacity searches judges their max rates
// within the searches' precision; a search and a load test are
// incomparable; two load tests are compared as before.
func TestCapacityCompare(t *testing.T) {
	t.Parallel()
	e := startCapacityServer(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	plan := json.RawMessage(`{"name":"w","target":"","flows":[{"name":"default","weight":1,"steps":[{"name":"GET /work","method":"GET","url":"http://127.0.0.1:1/work"}]}],"load":{"model":"open","rate":10,"duration":"20m"}}`)
	add := func(id, kind string, i int, result string) {
		r := store.Run{ID: id, Name: id, Source: store.SourceServer, Model: "open", Started: t0.Add(time.Duration(i) * time.Minute), Plan: plan, Kind: kind}
		if err := e.st.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if result != "" {
			if err := e.st.SaveCapacity(ctx, id, json.RawMessage(result), true); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.st.Finish(ctx, id, store.Finished, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	result := func(maxRate float64, slo string) string {
		return fmt.Sprintf(`{"schema":"surge.capacity/v1","target":"http://127.0.0.1:1/work","slo":[%q],"max_rate":%v,"confirmed":true,"knee_rate":%v,"plateau_rps":%v,"precision":0.05,"steps":[{"phase":"grow","rate":10,"ok":true}],"bottleneck":{"kind":"concurrency","evidence":"…"}}`,
			slo, maxRate, maxRate/2, maxRate)
	}
	add("before", store.KindCapacity, 0, result(200, "p99<250ms"))
	add("after", store.KindCapacity, 1, result(164, "p99<250ms"))
	add("close", store.KindCapacity, 2, result(196, "p99<250ms"))
	add("looser", store.KindCapacity, 3, result(300, "p99<1s"))
	add("load", store.KindLoad, 4, "")
	for _, tc := range []struct {
		a, b, verdict, reason string
	}{
		{"before", "after", "worse", "max rate fell 18 %: regression"},
		{"after", "before", "better", "max rate rose 22 %: improvement"},
		{"before", "close", "same", "within the searches' precision (5 %)"},
		{"before", "looser", "incomparable", "the objectives differ"},
		{"before", "load", "incomparable", "run A is a capacity search and the other a load test"},
	} {
		var c struct {
			A       map[string]any `json:"a"`
			Kind    string         `json:"kind"`
			Verdict string         `json:"verdict"`
			Reason  string         `json:"reason"`
			Metrics []struct {
				Name     string   `json:"name"`
				DeltaPct *float64 `json:"delta_pct"`
			} `json:"metrics"`
		}
		e.json("GET", "/api/v1/compare?a="+tc.a+"&b="+tc.b, nil, http.StatusOK, &c)
		if c.Kind != "capacity" || c.Verdict != tc.verdict || !strings.Contains(c.Reason, tc.reason) || c.A["id"] != tc.a {
			t.Errorf("%s vs %s: %q %q (%s); want %q containing %q", tc.a, tc.b, c.Kind, c.Verdict, c.Reason, tc.verdict, tc.reason)
		}
		if tc.b == "after" && (len(c.Metrics) != 1 || c.Metrics[0].Name != "max_rate" || c.Metrics[0].DeltaPct == nil || *c.Metrics[0].DeltaPct != -18) {
			t.Errorf("metrics: %+v", c.Metrics)
		}
	}
	// Two load tests still get the load comparison.
	add("load2", store.KindLoad, 5, "")
	var c map[string]any
	e.json("GET", "/api/v1/compare?a=load&b=load2", nil, http.StatusOK, &c)
	if _, ok := c["kind"]; ok || c["verdict"] == nil {
		t.Errorf("load vs load: %v", c)
	}
	if code, body := e.do("GET", "/api/v1/compare?a=before&b=nope", nil); code != http.StatusNotFound {
		t.Errorf("compare with no such run: %d %s", code, body)
	}
	if code, body := e.do("GET", "/api/v1/compare?a=before", nil); code != http.StatusBadRequest || !strings.Contains(string(body), `"field":"b"`) {
		t.Errorf("compare without b: %d %s", code, body)
	}
}

// The server's search finds what a local one finds: 2 workers of 20 ms
// take 2/20ms = 100/s, a pool of 2 by Little's law. (Tried twice: a busy
// 2-core machine's stall near capacity can cut one search short.)
func TestCapacityFindsAWorkerPoolOnTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("a search with bisection takes ~30s")
	}
	t.Parallel()
	e := startServer(t, server.Options{Interval: 250 * time.Millisecond, NoUI: true})
	var problems []string
	for attempt := 1; attempt <= 2; attempt++ {
		tb := testutil.StartTarget(t, testbed.Options{Workers: 2, WorkTime: 20 * time.Millisecond})
		id := e.startCapacity(map[string]any{"url": tb.URL() + "/work", "slo": []string{"p99<1s", "errors<1%"},
			"start": 30, "max": 600, "step": "2250ms"})
		if r := e.waitEnded(id, 2*time.Minute); r.Status != "finished" {
			t.Fatalf("the search ended %s: %s", r.Status, r.Error)
		}
		res := e.capacity(id)
		for _, s := range res.Steps {
			t.Logf("%s", capacity.StepLine(s))
		}
		t.Logf("max rate %.1f, knee %.1f, %s: %s", res.MaxRate, res.KneeRate, res.Bottleneck.Kind, res.Bottleneck.Evidence)
		problems = nil
		if res.MaxRate < 90 || res.MaxRate > 110 {
			problems = append(problems, fmt.Sprintf("max rate %.1f; want 100 ± 10%%", res.MaxRate))
		}
		if b := res.Bottleneck; b.Kind != capacity.KindConcurrency || b.Concurrency == nil || *b.Concurrency < 1 || *b.Concurrency > 3 {
			problems = append(problems, fmt.Sprintf("bottleneck %s (concurrency %v); want concurrency ~2", b.Kind, b.Concurrency))
		}
		if len(problems) == 0 {
			return
		}
		t.Logf("attempt %d: %s", attempt, strings.Join(problems, "; "))
	}
	t.Error(strings.Join(problems, "; "))
}

// A search stopped before its first step (in its warm-up) ends stopped
// with no step, and the server goes on.
func TestCapacityStopDuringTheWarmUp(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	e := startServer(t, server.Options{Interval: time.Second, NoUI: true}) // a 3 s warm-up
	id := e.startCapacity(map[string]any{"url": tb.URL() + "/work", "slo": []string{"p99<500ms"}, "start": 10, "max": 20})
	var stopped runInfo
	e.json("POST", "/api/v1/runs/"+id+"/stop", nil, http.StatusOK, &stopped)
	res := e.capacity(id)
	if stopped.Status != "stopped" || res.Status != "stopped" || len(res.Steps) != 0 || res.MaxRate != 0 {
		t.Errorf("stopped in its warm-up: run %q (%s), result %q with %d steps, max %v: %s", stopped.Status, stopped.Error, res.Status, len(res.Steps), res.MaxRate, res.Bottleneck.Evidence)
	}
	if code, body := e.do("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/hello", "rate": 5, "duration": "300ms"}); code != http.StatusCreated {
		t.Errorf("a run after the stopped search: %d %s", code, body)
	}
}
