package scenario_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

// TestMergedAnchorInManySteps: the documented {<<: *auth, …} pattern costs
// the anchor's size once per use, so hundreds of steps may share it.
func TestMergedAnchorInManySteps(t *testing.T) {
	var b strings.Builder
	b.WriteString("target: http://127.0.0.1:8080\nvars: {token: t}\n")
	b.WriteString("x-auth: &auth\n  headers: {Authorization: \"Bearer {{token}}\", Accept: application/json}\n  check: {status: [200, 201], body_contains: [ok]}\n  timeout: 2s\n")
	b.WriteString("flows:\n  - name: many\n    steps:\n")
	const steps = 500
	for i := range steps {
		fmt.Fprintf(&b, "      - {<<: *auth, get: /items/%d}\n", i)
	}
	p, err := scenario.Parse("many.yaml", []byte(b.String()), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Flows[0].Steps); n != steps {
		t.Fatalf("%d steps, want %d", n, steps)
	}
	last := p.Flows[0].Steps[steps-1]
	if len(last.Headers) != 2 || last.Headers[0].Value != "Bearer {{token}}" || last.URL != "/items/499" || len(last.Check.Status) != 2 {
		t.Errorf("last step %+v", last)
	}
}

// TestAliasBombStillRefused: an alias of an alias of … (billion laughs)
// still counts every value it expands to, including through merge keys.
func TestAliasBombStillRefused(t *testing.T) {
	cases := map[string]string{
		"lists": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
			"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
			"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
			"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n" +
			"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
			"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
		"merge keys": "a: &a {a0: [x, x, x, x, x, x, x, x, x, x], a1: [x, x, x, x, x, x, x, x, x, x]}\n" +
			"b: &b {b0: *a, b1: *a, b2: *a, b3: *a, b4: *a, b5: *a, b6: *a, b7: *a, b8: *a, b9: *a}\n" +
			"c: &c {c0: *b, c1: *b, c2: *b, c3: *b, c4: *b, c5: *b, c6: *b, c7: *b, c8: *b, c9: *b}\n" +
			"d: &d {<<: *c, d0: *c, d1: *c, d2: *c, d3: *c, d4: *c, d5: *c, d6: *c, d7: *c, d8: *c}\n" +
			"e: &e {<<: *d, e0: *d, e1: *d, e2: *d, e3: *d, e4: *d, e5: *d, e6: *d, e7: *d, e8: *d}\n" +
			"f: &f {<<: *e, f0: *e, f1: *e, f2: *e, f3: *e, f4: *e, f5: *e, f6: *e, f7: *e, f8: *e}\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := scenario.Parse("laughs.yaml", []byte(src), scenario.Options{})
			if !errors.Is(err, scenario.ErrInvalid) || !strings.Contains(err.Error(), "document too large") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// TestLoadCeilings: Validate refuses counts and rates above the engine's
// ceilings and numbers that are not numbers, naming the field in Path (the
// server's 400 names it) and in the message (the CLI prints it).
func TestLoadCeilings(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name     string
		load     scenario.Load
		path     string
		wantText string
	}{
		{"vus", scenario.Load{Model: engine.Closed, VUs: 10_000_000}, "load.vus", "load.vus 10000000 is more than the maximum of 100000 virtual users"},
		{"max vus", scenario.Load{Model: engine.Open, Rate: 10, MaxVUs: engine.MaxVUs + 1}, "load.max_vus", "load.max_vus 100001 is more than the maximum of 100000 virtual users"},
		{"rate", scenario.Load{Model: engine.Open, Rate: 2e6}, "load.rate", "load.rate 2000000 is more than the maximum of 1000000 iterations/s"},
		{"rate NaN", scenario.Load{Model: engine.Open, Rate: nan}, "load.rate", "load.rate must be a number, got NaN"},
		{"rate Inf", scenario.Load{Model: engine.Open, Rate: inf}, "load.rate", "load.rate must be a number, got +Inf"},
		{"closed stage target", scenario.Load{Model: engine.Closed, Stages: []engine.Stage{{Duration: time.Second, Target: 5}, {Duration: time.Second, Target: 5}, {Duration: time.Second, Target: 1e7}}},
			"load.stages[2].target", "load.stages[2].target 10000000 is more than the maximum of 100000 virtual users"},
		{"open stage target", scenario.Load{Model: engine.Open, Stages: []engine.Stage{{Duration: time.Second, Target: 1e7}}},
			"load.stages[0].target", "load.stages[0].target 10000000 is more than the maximum of 1000000 iterations/s"},
		{"stage target NaN", scenario.Load{Model: engine.Open, Rate: 1, Stages: []engine.Stage{{Duration: time.Second, Target: nan}}}, "load.stages[0].target", "load.stages[0].target must be a number, got NaN"},
		{"stage target Inf", scenario.Load{Model: engine.Closed, VUs: 1, Stages: []engine.Stage{{Duration: time.Second, Target: inf}}}, "load.stages[0].target", "load.stages[0].target must be a number, got +Inf"},
		{"stage duration zero", scenario.Load{Model: engine.Closed, VUs: 1, Stages: []engine.Stage{{Duration: 0, Target: 1}}}, "load.stages[0].duration", "stage 1: want a positive duration, got 0s"},
		{"stages overflow", scenario.Load{Model: engine.Closed, VUs: 1, Stages: []engine.Stage{{Duration: math.MaxInt64 / 2, Target: 1}, {Duration: math.MaxInt64 / 2, Target: 1}, {Duration: math.MaxInt64 / 2, Target: 1}}}, "load.stages[2].duration", "stage 3: the stages last longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := scenario.Plan{Target: "http://127.0.0.1:8080", Load: c.load, Flows: []scenario.Flow{{Steps: []scenario.Step{{URL: "/"}}}}}
			err := p.Validate()
			if !errors.Is(err, scenario.ErrInvalid) {
				t.Fatalf("got %v, want an invalid plan", err)
			}
			var probs scenario.Problems
			errors.As(err, &probs)
			for _, e := range probs {
				var pe *scenario.Error
				if errors.As(e, &pe) && pe.Path == c.path && strings.Contains(pe.Msg, c.wantText) {
					return
				}
			}
			t.Errorf("got %v, want %q at %s", err, c.wantText, c.path)
		})
	}
	// At the ceilings is fine.
	for _, l := range []scenario.Load{
		{Model: engine.Closed, VUs: engine.MaxVUs},
		{Model: engine.Open, Rate: engine.MaxRate, MaxVUs: engine.MaxVUs},
		{Model: engine.Open, Stages: []engine.Stage{{Duration: time.Second, Target: engine.MaxRate}}},
	} {
		p := scenario.Plan{Target: "http://127.0.0.1:8080", Load: l, Flows: []scenario.Flow{{Steps: []scenario.Step{{URL: "/"}}}}}
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
}

// TestCeilingsThroughOverrides: flags reach Validate through Overrides, so
// --vus 10000000 is refused with the file's or the flag's words.
func TestCeilingsThroughOverrides(t *testing.T) {
	vus, rate := 10_000_000, math.NaN()
	_, err := scenario.LoadFile("testdata/valid/shop.yaml", scenario.Options{Getenv: testEnv, Overrides: scenario.Overrides{VUs: &vus}})
	if err == nil || !strings.Contains(err.Error(), "load.vus 10000000 is more than the maximum of 100000 virtual users") {
		t.Errorf("file + --vus: %v", err)
	}
	_, err = scenario.Quick(scenario.QuickRequest{URL: "http://127.0.0.1:8080/"}, scenario.Overrides{VUs: &vus})
	if err == nil || err.Error() != "load.vus 10000000 is more than the maximum of 100000 virtual users" {
		t.Errorf("quick --vus: %v", err)
	}
	_, err = scenario.Quick(scenario.QuickRequest{URL: "http://127.0.0.1:8080/"}, scenario.Overrides{Rate: &rate})
	if err == nil || err.Error() != "load.rate must be a number, got NaN" {
		t.Errorf("quick --rate NaN: %v", err)
	}
}

// TestTemplateAmplification: a request whose templates can fill in to more
// than the limits is refused at load time, naming the field.
func TestTemplateAmplification(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	rs := "{{randString 4096}}"
	cases := []struct {
		name string
		step scenario.Step
		data []scenario.DataSource
		env  map[string]string
		path string // "" when the step is fine
	}{
		{name: "randString bomb body", step: scenario.Step{Method: "POST", URL: "/", Body: strings.Repeat(rs, 50_000)}, path: "flows[0].steps[1].body"},
		{name: "randString at the limit", step: scenario.Step{Method: "POST", URL: "/", Body: strings.Repeat(rs, 4096)}},
		{name: "json strings escape", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`{"a":"` + strings.Repeat("{{token}}", 400) + `"}`)}, path: "flows[0].steps[1].json"},
		{name: "form", step: scenario.Step{Method: "POST", URL: "/", Form: []scenario.Param{{Name: "a", Value: strings.Repeat("{{token}}", 800)}}}, path: "flows[0].steps[1].form"},
		{name: "url", step: scenario.Step{URL: "/" + strings.Repeat(rs, 40)}, path: "flows[0].steps[1].url"},
		{name: "query", step: scenario.Step{URL: "/", Query: []scenario.Param{{Name: "q", Value: strings.Repeat("{{token}}", 6)}}}, path: "flows[0].steps[1].url"},
		{name: "extracted values in a URL", step: scenario.Step{URL: "/users/{{token}}", Query: []scenario.Param{{Name: "a", Value: "{{token}}"}, {Name: "b", Value: "{{token}}"}, {Name: "c", Value: "{{token}}"}}}},
		{name: "bearer token", step: scenario.Step{URL: "/", Headers: []scenario.Header{{Name: "Authorization", Value: "Bearer {{token}}"}}}},
		{name: "header value", step: scenario.Step{URL: "/", Headers: []scenario.Header{{Name: "X-A", Value: strings.Repeat(rs, 17)}}}, path: "flows[0].steps[1].headers[0]"},
		{name: "headers together", step: scenario.Step{URL: "/", Headers: manyHeaders(20, strings.Repeat(rs, 15))}, path: "flows[0].steps[1].headers"},
		{name: "data cells at their longest", step: scenario.Step{Method: "POST", URL: "/", Body: strings.Repeat("{{d.v}}", 17)},
			data: []scenario.DataSource{{Name: "d", Columns: []string{"v"}, Rows: [][]string{{"short"}, {big}}}}, path: "flows[0].steps[1].body"},
		{name: "data cells within", step: scenario.Step{Method: "POST", URL: "/", Body: strings.Repeat("{{d.v}}", 15)},
			data: []scenario.DataSource{{Name: "d", Columns: []string{"v"}, Rows: [][]string{{"short"}, {big}}}}},
		{name: "env values", step: scenario.Step{Method: "POST", URL: "/", Body: strings.Repeat("{{env.BIG}}", 17)}, env: map[string]string{"BIG": big}, path: "flows[0].steps[1].body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			login := scenario.Step{Method: "POST", URL: "/login", Extract: []scenario.Extract{{Var: "token", From: "json", Expr: "token"}}}
			p := scenario.Plan{Target: "http://127.0.0.1:8080", Data: c.data, Env: c.env,
				Flows: []scenario.Flow{{Steps: []scenario.Step{login, c.step}}}}
			err := p.Validate()
			if c.path == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var probs scenario.Problems
			if !errors.As(err, &probs) || len(probs) != 1 {
				t.Fatalf("got %v, want one problem", err)
			}
			var pe *scenario.Error
			if !errors.As(probs[0], &pe) || pe.Path != c.path || !strings.Contains(pe.Msg, "once") || !strings.Contains(pe.Msg, "more than the limit of") {
				t.Errorf("got %v at %q, want a size problem at %s", probs[0], pe.Path, c.path)
			}
		})
	}
}

func manyHeaders(n int, value string) []scenario.Header {
	var hs []scenario.Header
	for i := range n {
		hs = append(hs, scenario.Header{Name: fmt.Sprintf("X-%d", i), Value: value})
	}
	return hs
}

// TestDeepishFilesStillLoad: real files with deep JSON bodies, in flow and
// block style, pass the nesting check.
func TestDeepishFilesStillLoad(t *testing.T) {
	var b strings.Builder
	b.WriteString("target: http://127.0.0.1:8080\nflows:\n  - name: deep\n    steps:\n")
	b.WriteString("      - post: /flow\n        json: " + strings.Repeat(`{"a": [`, 25) + `"{{vu.id}}"` + strings.Repeat("]}", 25) + "\n")
	b.WriteString("      - post: /block\n        json:\n")
	for i := range 25 {
		fmt.Fprintf(&b, "%s- k%d: # a level\n", strings.Repeat("  ", 5+i), i)
	}
	fmt.Fprintf(&b, "%s    leaf: \"[[[ {a: {b: not brackets\"\n", strings.Repeat("  ", 30))
	p, err := scenario.Parse("deep.yaml", []byte(b.String()), scenario.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if !strings.Contains(string(p.Flows[0].Steps[1].JSON), "[[[ {a: {b: not brackets") {
		t.Errorf("block json %s", p.Flows[0].Steps[1].JSON)
	}
}
