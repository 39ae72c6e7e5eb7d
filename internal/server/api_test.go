package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func TestAuth(t *testing.T) {
	e := startServer(t, server.Options{})
	status, body := e.do("GET", "/api/v1/health", nil, "none")
	if status != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Errorf("health without auth: %d %s", status, body)
	}
	for _, tc := range []struct {
		name, method, path, auth string
		want                     int
	}{
		{"no auth", "GET", "/api/v1/runs", "none", 401},
		{"wrong secret", "GET", "/api/v1/runs", "Bearer nope", 401},
		{"not bearer", "GET", "/api/v1/runs", "Basic " + testSecret, 401},
		{"metrics need auth too", "GET", "/metrics", "none", 401},
		{"start without auth", "POST", "/api/v1/runs", "none", 401},
		{"right secret", "GET", "/api/v1/runs", "Bearer " + testSecret, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(tc.method, tc.path, nil, tc.auth)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, body)
			}
			if status == 401 {
				var eb struct{ Error string }
				if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
					t.Errorf("401 body %q: want a JSON error", body)
				}
			}
		})
	}

	// The browser logs in once and holds a session cookie.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	post := func(path, body string, csrf bool) int {
		req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if csrf {
			req.Header.Set("X-Surge-Request", "1")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(path string) int {
		resp, err := c.Get(e.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("/api/v1/login", `{"secret":"wrong"}`, false); got != 401 {
		t.Errorf("login with a wrong secret: %d, want 401", got)
	}
	if got := post("/api/v1/login", `{"secret":"`+testSecret+`"}`, false); got != 200 {
		t.Fatalf("login: %d, want 200", got)
	}
	u, _ := url.Parse(e.ts.URL)
	var session *http.Cookie
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "surge_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("login set no surge_session cookie")
	}
	if got := get("/api/v1/session"); got != 200 {
		t.Errorf("GET with the session cookie: %d, want 200", got)
	}
	// A state-changing request with only the cookie must carry the CSRF header.
	if got := post("/api/v1/runs", `{}`, false); got != 403 {
		t.Errorf("POST with the cookie but no X-Surge-Request: %d, want 403", got)
	}
	if got := post("/api/v1/runs", `{}`, true); got != 400 {
		t.Errorf("POST with the cookie and the header: %d, want 400 (empty request)", got)
	}
	if got := post("/api/v1/logout", ``, true); got != 200 {
		t.Errorf("logout: %d", got)
	}
	if got := get("/api/v1/session"); got != 401 {
		t.Errorf("after logout: %d, want 401", got)
	}
	// A forged cookie is refused.
	forged := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/session", nil)
	req.AddCookie(&http.Cookie{Name: "surge_session", Value: "99999999999.AAAA"})
	resp, err := forged.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("forged cookie: %d, want 401", resp.StatusCode)
	}
}

func TestStartRejectsBadInput(t *testing.T) {
	e := startServer(t, server.Options{})
	for _, tc := range []struct {
		name, body, field string
	}{
		{"empty", `{}`, "url"},
		{"malformed", `{"url":`, ""},
		{"unknown field", `{"url":"http://127.0.0.1:1/","rat":5}`, "rat"},
		{"wrong type", `{"url":"http://127.0.0.1:1/","rate":"fast"}`, "rate"},
		{"negative rate", `{"url":"http://127.0.0.1:1/","rate":-1}`, "rate"},
		{"rate and vus", `{"url":"http://127.0.0.1:1/","rate":5,"vus":2}`, "vus"},
		{"bad duration", `{"url":"http://127.0.0.1:1/","rate":5,"duration":"soon"}`, "duration"},
		{"bad stages", `{"url":"http://127.0.0.1:1/","rate":5,"stages":"10s"}`, "stages"},
		{"bad threshold", `{"url":"http://127.0.0.1:1/","rate":5,"thresholds":["p99<<1"]}`, "thresholds"},
		{"bad url", `{"url":"ftp://127.0.0.1/","rate":5}`, "url"},
		{"bad header", `{"url":"http://127.0.0.1:1/","rate":5,"headers":{"":"x"}}`, "headers"},
		{"url and scenario", `{"url":"http://127.0.0.1:1/","scenario":"name: x"}`, "scenario"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do("POST", "/api/v1/runs", tc.body)
			if status != 400 {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			var eb struct{ Error, Field string }
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" {
				t.Fatalf("body %s: want {\"error\": …}", body)
			}
			if eb.Field != tc.field {
				t.Errorf("field %q, want %q (error %q)", eb.Field, tc.field, eb.Error)
			}
			if tc.field != "" && !strings.Contains(eb.Error, tc.field) {
				t.Errorf("error %q does not name the field %q", eb.Error, tc.field)
			}
		})
	}
	if status, body := e.do("GET", "/api/v1/runs/nope", nil); status != 404 || !strings.Contains(string(body), `"error"`) {
		t.Errorf("unknown run: %d %s", status, body)
	}
	if status, body := e.do("GET", "/api/v1/nope", nil); status != 404 || !strings.Contains(string(body), `"error"`) {
		t.Errorf("unknown route: %d %s", status, body)
	}
}

// One run through the whole API: start against the testbed, watch it live,
// change its rate, see /metrics, refuse a second run, stop it, read it back.
func TestRunLifecycle(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{
		"url": tb.URL() + "/api/items", "rate": 40, "duration": "20s", "thresholds": []string{"p99<5s"},
	}, http.StatusCreated, &created)
	id := created.ID

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := e.stream(ctx, "/api/v1/runs/"+id+"/events")
	var st struct {
		Run     runInfo
		Summary report.Summary
	}
	ev := next(t, events, 5*time.Second, "state")
	if err := json.Unmarshal(ev.data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Run.ID != id || st.Run.Status != "running" || st.Run.Control != "rate" {
		t.Errorf("state: %+v", st.Run)
	}
	var iv server.Interval
	ev = next(t, events, 5*time.Second, "interval")
	if err := json.Unmarshal(ev.data, &iv); err != nil {
		t.Fatal(err)
	}
	if iv.Point.Requests == 0 || iv.Summary.Totals.Requests == 0 || len(iv.Summary.Endpoints) != 1 {
		t.Errorf("first interval: %+v", iv)
	}

	// Only one run at a time.
	if status, body := e.do("POST", "/api/v1/runs", map[string]any{"url": tb.URL(), "rate": 1}); status != 409 {
		t.Errorf("second run: %d, want 409: %s", status, body)
	}
	// The load changes live, in the run's own unit.
	if status, body := e.do("PATCH", "/api/v1/runs/"+id, map[string]any{"vus": 3}); status != 400 || !strings.Contains(string(body), "vus") {
		t.Errorf("PATCH vus on an open-model run: %d %s", status, body)
	}
	var adjusted runInfo
	e.json("PATCH", "/api/v1/runs/"+id, map[string]any{"rate": 80}, http.StatusOK, &adjusted)
	if n := len(adjusted.Events); n != 1 || adjusted.Events[0].Kind != "adjust" {
		t.Errorf("events after PATCH: %+v", adjusted.Events)
	}
	next(t, events, 5*time.Second, "adjust")

	status, metrics := e.do("GET", "/metrics", nil)
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		"# TYPE surge_requests_total counter",
		`surge_requests_total{run="` + id + `",endpoint="/api/items",method="GET"} `,
		`surge_request_duration_seconds{run="` + id + `",endpoint="/api/items",method="GET",quantile="0.99"} `,
		`surge_request_errors_total{run="` + id + `",endpoint="/api/items",method="GET",class="status_5xx"} 0`,
		"surge_runs_running 1",
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}

	var stopped runInfo
	e.json("POST", "/api/v1/runs/"+id+"/stop", nil, http.StatusOK, &stopped)
	if stopped.Status != "stopped" || stopped.Ended == "" || !strings.Contains(stopped.Error, "stopped") {
		t.Errorf("after stop: %+v", stopped)
	}
	end := next(t, events, 5*time.Second, "end")
	if err := json.Unmarshal(end.data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Summary.Run.Status != "stopped" {
		t.Errorf("end event: status %q", st.Summary.Run.Status)
	}

	// Every request sent was received, each counted once.
	sum := e.summary(id)
	if got, sent := tb.CountPath("/api/items"), sum.Totals.Requests; got != sent || sent == 0 {
		t.Errorf("summary counts %d requests, the target received %d", sent, got)
	}
	if sum.Schema != report.Schema || sum.Run.ID != id || sum.Run.Status != "stopped" || len(sum.Timeline) == 0 || len(sum.Thresholds) != 1 {
		t.Errorf("summary: schema %q id %q status %q, %d points, %d thresholds", sum.Schema, sum.Run.ID, sum.Run.Status, len(sum.Timeline), len(sum.Thresholds))
	}
	var tl struct{ Points []report.Point }
	e.json("GET", "/api/v1/runs/"+id+"/timeline", nil, http.StatusOK, &tl)
	if len(tl.Points) != len(sum.Timeline) {
		t.Errorf("timeline has %d points, the summary %d", len(tl.Points), len(sum.Timeline))
	}
	for _, f := range []struct{ format, want string }{
		{"json", `"schema": "surge.summary/v1"`}, {"csv", "time,elapsed_s,requests"}, {"html", "<html"},
	} {
		status, body := e.do("GET", "/api/v1/runs/"+id+"/report?format="+f.format, nil)
		if status != 200 || !strings.Contains(string(body), f.want) {
			t.Errorf("report %s: %d, want %q in %.200s", f.format, status, f.want, body)
		}
	}
	if status, _ := e.do("GET", "/api/v1/runs/"+id+"/report?format=pdf", nil); status != 400 {
		t.Errorf("report format pdf: %d, want 400", status)
	}
	if status, _ := e.do("POST", "/api/v1/runs/"+id+"/stop", nil); status != 409 {
		t.Errorf("stopping a stopped run: %d, want 409", status)
	}
	var list struct{ Runs []runInfo }
	e.json("GET", "/api/v1/runs", nil, http.StatusOK, &list)
	if len(list.Runs) != 1 || list.Runs[0].ID != id || list.Runs[0].Status != "stopped" || list.Runs[0].Model != "open" {
		t.Errorf("runs: %+v", list.Runs)
	}
	status, metrics = e.do("GET", "/metrics", nil)
	if status != 200 || !strings.Contains(string(metrics), "surge_runs_running 0") {
		t.Errorf("/metrics after the run: %s", metrics)
	}
}

// A closed-model run that runs its course ends "finished", with exact totals.
func TestRunFinishes(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/api/items", "vus": 2, "requests": 30}, http.StatusCreated, &created)
	r := e.waitEnded(created.ID, 20*time.Second)
	if r.Status != "finished" || r.Model != "closed" || r.Source != "server" {
		t.Errorf("run: %+v", r)
	}
	sum := e.summary(created.ID)
	if sum.Totals.Requests != 30 || tb.Count() != 30 {
		t.Errorf("requests: summary %d, target %d, want 30", sum.Totals.Requests, tb.Count())
	}
	if status, _ := e.do("PATCH", "/api/v1/runs/"+created.ID, map[string]any{"vus": 3}); status != 409 {
		t.Errorf("PATCH of an ended run: %d, want 409", status)
	}
	if status, _ := e.do("DELETE", "/api/v1/runs/"+created.ID, nil); status != 204 {
		t.Errorf("DELETE: %d", status)
	}
	if status, _ := e.do("GET", "/api/v1/runs/"+created.ID, nil); status != 404 {
		t.Errorf("GET after DELETE: %d, want 404", status)
	}
}

// A run left running by a server that died is listed as interrupted, with
// the data it had, once a server opens the store again.
func TestInterruptedRunAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := store.Run{ID: "r1", Name: "crashed", Source: store.SourceServer, Model: "open", Started: time.Now().Add(-time.Minute), Plan: json.RawMessage(`{}`)}
	if err := st.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	sum := &report.Summary{Schema: report.Schema, Totals: report.Totals{Requests: 42}}
	if err := st.Append(ctx, "r1", 0, report.Point{Elapsed: 1, Requests: 42}, sum); err != nil {
		t.Fatal(err)
	}
	st.Close() // no Finish: the process "died"

	st, err = store.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := server.New(server.Options{Store: st, Secret: testSecret, NoUI: true})
	defer srv.Close(ctx)
	e := &env{t: t, srv: srv, st: st, ts: httptestServer(t, srv), client: http.DefaultClient}
	r := e.run("r1")
	got := e.summary("r1")
	if r.Status != "interrupted" || got.Totals.Requests != 42 || len(got.Timeline) != 1 || got.Run.Status != "interrupted" {
		t.Errorf("after restart: run %+v, summary requests %d, %d points", r, got.Totals.Requests, len(got.Timeline))
	}
}

func TestScenarioFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/shop.yaml", "name: shop\n")
	writeFile(t, dir+"/notes.txt", "not a scenario")
	e := startServer(t, server.Options{ScenarioDir: dir})
	var list struct {
		Scenarios []struct{ Name string }
	}
	e.json("GET", "/api/v1/scenarios", nil, http.StatusOK, &list)
	if len(list.Scenarios) != 1 || list.Scenarios[0].Name != "shop.yaml" {
		t.Errorf("scenarios: %+v", list.Scenarios)
	}
	var f struct{ Name, Text string }
	e.json("GET", "/api/v1/scenarios/shop.yaml", nil, http.StatusOK, &f)
	if f.Text != "name: shop\n" {
		t.Errorf("scenario text %q", f.Text)
	}
	for _, name := range []string{"notes.txt", "..%2Fsecret.yaml", "missing.yaml"} {
		if status, _ := e.do("GET", "/api/v1/scenarios/"+name, nil); status != 404 {
			t.Errorf("GET scenario %s: %d, want 404", name, status)
		}
	}
}

func TestUIIsServed(t *testing.T) {
	e := startServer(t, server.Options{})
	status, body := e.do("GET", "/", nil, "none")
	if status != 200 || !strings.Contains(string(body), `<main id="app">`) {
		t.Errorf("GET /: %d %.200s", status, body)
	}
	status, body = e.do("GET", "/vendor/uplot/uPlot.iife.min.js", nil, "none")
	if status != 200 || !strings.Contains(string(body), "uPlot") {
		t.Errorf("uPlot: %d", status)
	}
}

// A scenario file's text starts a run too; load fields override the file's,
// and the file may read data only from the scenarios folder.
func TestStartFromScenario(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	dir := t.TempDir()
	writeFile(t, dir+"/users.csv", "name\nada\nbob\n")
	e := startServer(t, server.Options{ScenarioDir: dir})
	yaml := "name: shop\ntarget: " + tb.URL() + "\nload: {model: closed, vus: 2, duration: 1m}\n" +
		"data:\n  users: {csv: users.csv}\n" +
		"flows:\n  - name: browse\n    steps:\n      - get: /api/items?user={{users.name}}\n        check: {status: 200}\n"
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"scenario": yaml, "requests": 20}, http.StatusCreated, &created)
	r := e.waitEnded(created.ID, 20*time.Second)
	if r.Status != "finished" || r.Name != "shop" || r.Model != "closed" {
		t.Errorf("run: %+v", r)
	}
	if sum := e.summary(created.ID); sum.Totals.Requests != 20 || tb.Count() != 20 {
		t.Errorf("requests: summary %d, target %d, want 20", sum.Totals.Requests, tb.Count())
	}
	// The stored plan names the data source but does not keep its rows.
	if strings.Contains(string(r.Plan), "ada") || !strings.Contains(string(r.Plan), `"row_count":2`) {
		t.Errorf("stored plan: %s", r.Plan)
	}

	for _, tc := range []struct{ name, yaml, want string }{
		{"syntax", "name: [\n", "scenario.yaml:"},
		{"unknown key", "name: x\ntarget: " + tb.URL() + "\nfloes: []\n", "floes"},
		{"file outside the folder", strings.Replace(yaml, "users.csv", "../../etc/passwd", 1), "users"},
		{"environment", strings.Replace(yaml, "{{users.name}}", "{{env.SURGE_SECRET}}", 1), "SURGE_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do("POST", "/api/v1/runs", map[string]any{"scenario": tc.yaml})
			var eb struct{ Error, Field string }
			_ = json.Unmarshal(body, &eb)
			if status != 400 || eb.Field != "scenario" || !strings.Contains(eb.Error, tc.want) {
				t.Errorf("%d %s: want a 400 on field scenario mentioning %q", status, body, tc.want)
			}
		})
	}
}
