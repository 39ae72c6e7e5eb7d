package workload_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
	"github.com/surgeload/surge/internal/workload"
)

// runTimeout bounds every run in these tests; the runs themselves are
// bounded by an iteration budget and take well under a second.
const runTimeout = 20 * time.Second

// load parses a scenario whose target is url, with PASSWORD set to the
// testbed's password.
func load(t *testing.T, url, yaml string) scenario.Plan {
	t.Helper()
	src := strings.ReplaceAll(yaml, "TARGET", url)
	p, err := scenario.Parse("test.yaml", []byte(src), scenario.Options{
		Getenv: func(k string) string {
			if k == "PASSWORD" {
				return testbed.Password
			}
			return ""
		},
	})
	if err != nil {
		t.Fatalf("loading scenario:\n%v", err)
	}
	return p
}

type result struct {
	snap metrics.Snapshot
	err  error
}

// run runs p with the engine, as an agent does, and returns everything the
// recorder saw.
func run(t *testing.T, p scenario.Plan) result {
	t.Helper()
	prog, err := workload.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	client := surgehttp.NewClient(surgehttp.Options{})
	defer client.Close()
	start := time.Now()
	rec := metrics.NewRecorder(start, prog.Endpoints(), prog.Checks())
	e, err := engine.New(engine.Config{
		Model: p.Load.Model, Profile: p.Load.Profile(), Iterations: p.Load.Iterations,
		Timeout: p.Timeout, MaxDuration: runTimeout,
	}, prog.Workload(client, rec), rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	err = e.Run(ctx, start)
	if ctx.Err() != nil {
		t.Fatal("run did not finish in time")
	}
	return result{rec.Snapshot(time.Now()), err}
}

func (r result) endpoint(t *testing.T, name string) metrics.Endpoint {
	t.Helper()
	for _, e := range r.snap.Endpoints {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no endpoint %q in %v", name, r.snap.Endpoints)
	return metrics.Endpoint{}
}

func (r result) check(t *testing.T, name string) (passes, fails int64) {
	t.Helper()
	for _, c := range r.snap.Checks {
		if c.Name == name {
			return c.Passes, c.Fails
		}
	}
	var names []string
	for _, c := range r.snap.Checks {
		names = append(names, c.Name)
	}
	t.Fatalf("no check %q in %q", name, names)
	return 0, 0
}

func (r result) wantCheck(t *testing.T, name string, passes, fails int64) {
	t.Helper()
	p, f := r.check(t, name)
	if p != passes || f != fails {
		t.Errorf("check %q: %d passed, %d failed; want %d, %d", name, p, f, passes, fails)
	}
}

func users(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{name: user%02d}", i+1)
	}
	return b.String() + "]"
}

func TestLoginFlowEndToEnd(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 4, iterations: 40}
data:
  users: {rows: `+users(4)+`, mode: unique}
setup:
  - name: login
    post: /login
    json: {user: "{{users.name}}", password: "{{env.PASSWORD}}"}
    extract: {token: "json:access_token", request_id: "header:X-Request-Id", session: "cookie:session"}
    check: {status: 200}
flows:
  - name: browse
    steps:
      - name: list todos
        get: /todos?user_id={{vu.id}}
        headers: {Authorization: "Bearer {{token}}"}
        check: {status: 200, body_contains: items, json: {"items.#": 3}}
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	login, todos := r.endpoint(t, "login"), r.endpoint(t, "list todos")
	// 40 iterations ran. When the budget is used up the engine stops at
	// once, so a VU in the middle of its first iteration (setup done,
	// flow not yet) may not send its flow: at most one /todos per VU short.
	if r.snap.Iterations != 40 || todos.Requests < 36 || todos.Requests > 40 || todos.Errors() != 0 {
		t.Errorf("%d iterations; list todos: %d requests, %d errors; want 40 iterations, 36..40 requests, 0 errors",
			r.snap.Iterations, todos.Requests, todos.Errors())
	}
	// Setup runs once per VU that ran: every login is one VU, one user.
	logins := tb.Logins()
	if login.Requests < 1 || login.Requests > 4 || login.Errors() != 0 || int64(len(logins)) != login.Requests {
		t.Errorf("login: %d requests, %d errors, testbed saw %v", login.Requests, login.Errors(), logins)
	}
	for u, n := range logins {
		if n != 1 {
			t.Errorf("user %s logged in %d times, want once", u, n)
		}
	}
	if got := tb.CountPath("/todos"); got != todos.Requests {
		t.Errorf("testbed saw %d /todos, surge counted %d", got, todos.Requests)
	}
	if got := tb.CountPath("/login"); got != login.Requests {
		t.Errorf("testbed saw %d /login, surge counted %d", got, login.Requests)
	}
	r.wantCheck(t, "login: status 200", login.Requests, 0)
	r.wantCheck(t, "login: extract token", login.Requests, 0)
	r.wantCheck(t, "login: extract request_id", login.Requests, 0)
	r.wantCheck(t, "login: extract session", login.Requests, 0)
	r.wantCheck(t, "list todos: token is set", todos.Requests, 0)
	r.wantCheck(t, "list todos: status 200", todos.Requests, 0)
	r.wantCheck(t, `list todos: body contains "items"`, todos.Requests, 0)
	r.wantCheck(t, "list todos: json items.# == 3", todos.Requests, 0)
}

func TestFailedExtractionLeavesVariableMissing(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 10}
flows:
  - steps:
      - name: login
        post: /login
        json: {user: mallory, password: wrong}
        extract: {token: "json:access_token"}
      - name: me
        get: /me
        headers: {Authorization: "Bearer {{token}}"}
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	login := r.endpoint(t, "login")
	if login.Requests != 10 || login.Classes[metrics.Status4xx] != 10 {
		t.Errorf("login: %d requests, classes %v; want 10 status_4xx", login.Requests, login.Classes)
	}
	r.wantCheck(t, "login: extract token", 0, 10)
	// /me is never sent: its token is missing, which its own check says.
	r.wantCheck(t, "me: token is set", 0, 10)
	if me := r.endpoint(t, "me"); me.Requests != 0 {
		t.Errorf("me: %d requests sent without a token", me.Requests)
	}
	if tb.CountPath("/me") != 0 || tb.Count() != 10 {
		t.Errorf("testbed saw %d /me and %d requests in all; want 0 and 10", tb.CountPath("/me"), tb.Count())
	}
}

func TestChecksDecideErrors(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 5}
flows:
  - steps:
      - {name: accepted 404, get: /status/404, check: {status: 404}}
      - {name: wrong status, get: /status/200, check: {status: [201, 3xx]}}
      - {name: soft, get: /status/500, soft_checks: true, check: {status: 200}}
      - {name: soft pass, get: /hello, soft_checks: true, check: {body_contains: nope}}
      - {name: body, get: /hello, check: {body_contains: [testbed, nope], body_matches: "hel+o"}}
      - {name: slow, get: "/delay?ms=30", check: {max_latency: 5ms}}
      - {name: header, get: /api/items, check: {header: {Content-Type: json}, json: {"items.1": 2}}}
      - {name: unchecked 404, get: /status/404}
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	cases := []struct {
		endpoint string
		class    metrics.Class
	}{
		{"accepted 404", metrics.OK},
		{"wrong status", metrics.CheckFailed},
		{"soft", metrics.Status5xx},
		{"soft pass", metrics.OK},
		{"body", metrics.CheckFailed},
		{"slow", metrics.CheckFailed},
		{"header", metrics.OK},
		{"unchecked 404", metrics.Status4xx},
	}
	for _, c := range cases {
		e := r.endpoint(t, c.endpoint)
		if e.Requests != 5 || e.Classes[c.class] != 5 {
			t.Errorf("%s: %d requests, classes %v; want 5 of class %s", c.endpoint, e.Requests, e.Classes, c.class)
		}
	}
	r.wantCheck(t, "accepted 404: status 404", 5, 0)
	r.wantCheck(t, "wrong status: status 201|3xx", 0, 5)
	r.wantCheck(t, "soft: status 200", 0, 5)
	r.wantCheck(t, `soft pass: body contains "nope"`, 0, 5)
	r.wantCheck(t, `body: body contains "testbed"`, 5, 0)
	r.wantCheck(t, `body: body contains "nope"`, 0, 5)
	r.wantCheck(t, "body: body matches /hel+o/", 5, 0)
	r.wantCheck(t, "slow: latency <= 5ms", 0, 5)
	r.wantCheck(t, `header: header Content-Type contains "json"`, 5, 0)
	r.wantCheck(t, "header: json items.1 == 2", 5, 0)
	if n := r.snap.Messages["check_failed: wrong status: status 201|3xx (got 200)"]; n != 5 {
		t.Errorf("messages %v: want the failed check named, with the status", r.snap.Messages)
	}
	if got, want := tb.Count(), int64(40); got != want {
		t.Errorf("testbed saw %d requests, want %d", got, want)
	}
}

func TestWeightsAreHonoured(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	const n = 1200
	p := load(t, tb.URL(), fmt.Sprintf(`
target: TARGET
load: {vus: 4, iterations: %d}
flows:
  - {name: browse, weight: 3, steps: [{get: /hello}]}
  - {name: buy, weight: 1, steps: [{get: /}]}
`, n))
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	browse, buy := tb.CountPath("/hello"), tb.CountPath("/")
	if browse+buy != n {
		t.Fatalf("%d + %d iterations, want %d", browse, buy, n)
	}
	// 3:1 means 75 %; the binomial standard deviation over 1200 draws is
	// 1.25 %, so 5 % is a 4-sigma tolerance.
	if frac := float64(browse) / n; frac < 0.70 || frac > 0.80 {
		t.Errorf("browse ran in %.1f%% of iterations, want 75%% ± 5%%", 100*frac)
	}
	if e := r.endpoint(t, "/hello"); e.Requests != browse {
		t.Errorf("surge counted %d /hello, the testbed %d", e.Requests, browse)
	}
}

func TestUniqueRowsAreNeverReused(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 5, iterations: 200}
data:
  users: {rows: `+users(30)+`, mode: unique}
flows:
  - steps:
      - post: /login
        json: {user: "{{users.name}}", password: secret}
        check: {status: 200}
`)
	if p.Data[0].Per != scenario.PerIteration {
		t.Fatalf("a source only flows read is per iteration, got %q", p.Data[0].Per)
	}
	r := run(t, p)
	if r.err != nil {
		t.Fatalf("running out of rows must end the run cleanly, got %v", r.err)
	}
	logins := tb.Logins()
	if len(logins) != 30 {
		t.Errorf("%d users logged in, want all 30", len(logins))
	}
	for u, n := range logins {
		if n != 1 {
			t.Errorf("row %s used %d times", u, n)
		}
	}
	if e := r.endpoint(t, "/login"); e.Requests != 30 || e.Errors() != 0 {
		t.Errorf("login: %d requests, %d errors", e.Requests, e.Errors())
	}
}

func TestUniqueRowsRecycle(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 3, iterations: 25}
data:
  users: {rows: `+users(10)+`, mode: unique, on_exhausted: recycle}
flows:
  - steps: [{post: /login, json: {user: "{{users.name}}", password: secret}}]
`)
	if r := run(t, p); r.err != nil {
		t.Fatal(r.err)
	}
	total := int64(0)
	for u, n := range tb.Logins() {
		if n < 2 || n > 3 {
			t.Errorf("row %s used %d times; recycling 10 rows over 25 iterations uses each 2 or 3 times", u, n)
		}
		total += n
	}
	if total != 25 {
		t.Errorf("%d logins, want 25", total)
	}
}

func TestPerVURowsAndVariablesSurviveIterations(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	// Three users for five VUs: two VUs find no row and stop; the others
	// log in once and keep their token for every iteration.
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 5, iterations: 30}
data:
  users: {rows: `+users(3)+`, mode: unique}
setup:
  - {name: login, post: /login, form: {user: "{{users.name}}", password: secret}, extract: {token: "json:access_token"}}
flows:
  - steps:
      - {name: me, get: /me, headers: {Authorization: "Bearer {{token}}"}, check: {status: 200}}
`)
	if p.Data[0].Per != scenario.PerVU {
		t.Fatalf("a source setup reads is per VU, got %q", p.Data[0].Per)
	}
	r := run(t, p)
	// VUs 4 and 5 find no row and end (ErrDataExhausted wraps
	// engine.ErrVUDone); the run itself ends cleanly.
	if r.err != nil {
		t.Fatalf("run ended with %v", r.err)
	}
	logins := tb.Logins()
	if len(logins) > 3 {
		t.Errorf("logins %v: more users than rows", logins)
	}
	for u, n := range logins {
		if n != 1 {
			t.Errorf("user %s logged in %d times: setup must run once per VU", u, n)
		}
	}
	me := r.endpoint(t, "me")
	if me.Errors() != 0 || me.Requests == 0 || me.Requests != tb.CountPath("/me") {
		t.Errorf("me: %d requests (testbed %d), %d errors", me.Requests, tb.CountPath("/me"), me.Errors())
	}
}

func TestFlowVariablesCarryOver(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	// The token starts as "none" and is replaced by each iteration's login,
	// so /me fails only in the VU's first iteration.
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 5}
vars: {token: none}
flows:
  - steps:
      - {name: me, get: /me, headers: {Authorization: "Bearer {{token}}"}, soft_checks: true, check: {status: 200}}
      - {name: login, post: /login, json: {user: carol, password: secret}, extract: {token: "json:access_token"}}
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.wantCheck(t, "me: status 200", 4, 1)
	r.wantCheck(t, "me: token is set", 5, 0)
	if me := r.endpoint(t, "me"); me.Classes[metrics.Status4xx] != 1 || me.Classes[metrics.OK] != 4 {
		t.Errorf("me classes %v: want 1 status_4xx (soft check), 4 ok", me.Classes)
	}
}

func TestSessionCookie(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 2, iterations: 6}
setup:
  - {name: login, post: /login, json: {user: dave, password: secret}, check: {status: 200}}
flows:
  - steps: [{name: me, get: /me, check: {status: 200, json: {user: dave}}}]
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	me := tb.CountPath("/me")
	if me < 4 || me > 6 {
		t.Errorf("testbed saw %d /me, want 4..6 (a VU may be stopped between setup and flow)", me)
	}
	r.wantCheck(t, "me: status 200", me, 0)
	r.wantCheck(t, `me: json user == "dave"`, me, 0)
}

func TestSetupRetriesUntilItSucceeds(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	tb.SetStock("bagel", 0)
	// Setup buys a bagel, which is sold out: the VU never gets past its
	// first setup step, and its flow never runs.
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 4}
setup:
  - {name: buy, post: /sales, json: {item: bagel}, check: {status: 201}}
  - {name: after, get: /products}
flows:
  - steps: [{get: /hello}]
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.wantCheck(t, "buy: status 201", 0, 4)
	if tb.CountPath("/hello") != 0 || tb.CountPath("/products") != 0 || tb.CountPath("/sales") != 4 {
		t.Errorf("testbed saw %d /hello, %d /products and %d /sales; want 0, 0 and 4", tb.CountPath("/hello"), tb.CountPath("/products"), tb.CountPath("/sales"))
	}
	// Once the bagels are back, setup completes and the flow runs.
	tb.SetStock("bagel", 10)
	if r := run(t, p); r.err != nil || tb.CountPath("/hello") == 0 || tb.CountPath("/products") != 1 {
		t.Errorf("after restocking: %v; /hello %d, /products %d", r.err, tb.CountPath("/hello"), tb.CountPath("/products"))
	}
}

func TestOpenModelWithSetup(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {model: open, rate: 400, iterations: 60}
setup:
  - {name: login, post: /login, json: {user: "u{{vu.id}}", password: secret}, extract: {token: "json:access_token"}}
flows:
  - steps: [{name: todos, get: /todos, headers: {Authorization: "Bearer {{token}}"}, check: {status: 200}}]
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	todos, login := r.endpoint(t, "todos"), r.endpoint(t, "login")
	if todos.Requests != 60 || todos.Errors() != 0 {
		t.Errorf("todos: %d requests, %d errors; want 60, 0", todos.Requests, todos.Errors())
	}
	if login.Requests != int64(len(tb.Logins())) {
		t.Errorf("%d logins for %d users: one per VU", login.Requests, len(tb.Logins()))
	}
}

// echo answers with what it received, for checking how requests are built.
type echo struct {
	mu   sync.Mutex
	reqs []echoed
}

type echoed struct {
	Method, URL, Body string
	Header            http.Header
}

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.reqs = append(e.reqs, echoed{r.Method, r.URL.String(), string(b), r.Header.Clone()})
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id": 42, "name": "x \"y\"", "obj": {"a": [1, 2]}}`)
}

func TestRequestsAreRenderedFromTemplates(t *testing.T) {
	e := &echo{}
	srv := httptest.NewServer(e)
	defer srv.Close()
	p := load(t, srv.URL, `
target: TARGET
defaults:
  headers: {X-Default: d, X-Step: overridden, Authorization: "Bearer {{token}}"}
load: {vus: 1, iterations: 2}
vars: {greeting: "hi & bye"}
data:
  items: {rows: [{sku: 7, label: "a \"quoted\" label"}]}
flows:
  - steps:
      - name: first
        post: /things/{{items.sku}}?v=1
        query: {q: "{{greeting}}", page: [1, 2]}
        headers: {X-Step: "vu {{vu.id}} iteration {{iteration}}"}
        json: {sku: "{{items.sku}}", label: "{{items.label}}", text: "sku {{items.sku}}", greeting: "{{greeting}}", nested: [{k: "{{vu.id}}"}], n: 1.5, ok: true, none: null}
        extract: {id: "json:id", name: "json:name", obj: "json:obj", re: "regex:\"name\": \"([^\"\\\\]*)"}
      - name: second
        put: /second
        form: {id: "{{id}}", name: "{{name}}", "a b": "{{obj}}"}
      - name: third
        post: /third
        headers: {Content-Type: application/vnd.custom+json}
        json: {id: "{{id}}", name: "{{name}}", obj: "{{obj}}", re: "{{re}}"}
      - name: fourth
        patch: /fourth
        body: "raw {{id}}"
        extract: {token: "json:id"}
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.reqs) != 8 {
		t.Fatalf("%d requests, want 8", len(e.reqs))
	}
	first, second, third, fourth := e.reqs[0], e.reqs[1], e.reqs[2], e.reqs[3]
	if first.Method != "POST" || first.URL != "/things/7?v=1&q=hi+%26+bye&page=1&page=2" {
		t.Errorf("first: %s %s", first.Method, first.URL)
	}
	if first.Header.Get("X-Step") != "vu 1 iteration 0" || first.Header.Get("X-Default") != "d" {
		t.Errorf("first headers: %v", first.Header)
	}
	if first.Header.Get("Authorization") != "" {
		t.Errorf("a default header whose variable is unset must be left out, got %q", first.Header.Get("Authorization"))
	}
	if first.Header.Get("Content-Type") != "application/json" {
		t.Errorf("json body content type %q", first.Header.Get("Content-Type"))
	}
	wantJSON := `{"sku":7,"label":"a \"quoted\" label","text":"sku 7","greeting":"hi & bye","nested":[{"k":1}],"n":1.5,"ok":true,"none":null}`
	if first.Body != wantJSON {
		t.Errorf("json body\n got %s\nwant %s", first.Body, wantJSON)
	}
	if second.Method != "PUT" || second.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		second.Body != "id=42&name=x+%22y%22&a+b=%7B%22a%22%3A+%5B1%2C+2%5D%7D" {
		t.Errorf("form: %s %q %q", second.Method, second.Header.Get("Content-Type"), second.Body)
	}
	if second.Header.Get("Authorization") != "" {
		t.Errorf("no token was ever extracted: %q", second.Header.Get("Authorization"))
	}
	wantThird := `{"id":42,"name":"x \"y\"","obj":{"a": [1, 2]},"re":"x "}`
	if third.Body != wantThird || third.Header.Get("Content-Type") != "application/vnd.custom+json" {
		t.Errorf("third\n got %s (%s)\nwant %s", third.Body, third.Header.Get("Content-Type"), wantThird)
	}
	if fourth.Method != "PATCH" || fourth.Body != "raw 42" {
		t.Errorf("fourth: %s %q", fourth.Method, fourth.Body)
	}
	if e.reqs[4].Header.Get("X-Step") != "vu 1 iteration 1" || e.reqs[4].Header.Get("Authorization") != "Bearer 42" {
		t.Errorf("second iteration: X-Step %q, Authorization %q (the token extracted in the first)",
			e.reqs[4].Header.Get("X-Step"), e.reqs[4].Header.Get("Authorization"))
	}
	// One endpoint per step, named after the path template.
	var names []string
	for _, ep := range r.snap.Endpoints {
		names = append(names, ep.Method+" "+ep.Name)
	}
	if strings.Join(names, ", ") != "POST first, PUT second, POST third, PATCH fourth" {
		t.Errorf("endpoints %v", names)
	}
}

func TestEndpointsGroupByPathTemplate(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	p := load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 10}
flows:
  - steps: [{get: "/status/{{randInt 200 201}}?n={{iteration}}"}, {get: "/hello?vu={{vu.id}}"}]
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.snap.Endpoints) != 2 {
		t.Fatalf("endpoints %v", r.snap.Endpoints)
	}
	if e := r.endpoint(t, "/status/{{randInt 200 201}}"); e.Requests != 10 {
		t.Errorf("%d requests", e.Requests)
	}
	if e := r.endpoint(t, "/hello"); e.Requests != 10 {
		t.Errorf("%d requests", e.Requests)
	}
}
