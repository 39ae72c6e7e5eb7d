package scenario_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

// A whole number may be written as a float up to 2^53, where floats
// still hold every integer; from 2^53 on it is refused as not exact.
func TestWholeNumbersWrittenAsFloats(t *testing.T) {
	for _, c := range []struct{ vus, want string }{
		{"5.0", ""},
		{"9007199254740991.0", "load.vus 9007199254740991 is more than the maximum of 100000 virtual users"},
		{"9007199254740992.0", "`vus` must be a whole number, got"},
		{"2.5", "`vus` must be a whole number, got"},
	} {
		p, err := parseScenario(t, "n.yaml", "load: {model: closed, vus: "+c.vus+", duration: 1s}"+minimalFlows)
		switch {
		case c.want == "" && (err != nil || p.Load.VUs != 5):
			t.Errorf("vus %s: %d VUs, %v; want 5", c.vus, p.Load.VUs, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("vus %s: got %v, want %q", c.vus, err, c.want)
		}
	}
}

// At most 16 monitors: 16 are allowed, 17 are refused naming the field.
func TestMonitorCountIsInclusive(t *testing.T) {
	for _, n := range []int{scenario.MaxMonitors, scenario.MaxMonitors + 1} {
		p := scenario.Plan{Target: "http://127.0.0.1:8080", Flows: []scenario.Flow{{Steps: []scenario.Step{{Method: "GET", URL: "/"}}}}}
		for i := range n {
			p.Monitors = append(p.Monitors, scenario.Monitor{Name: fmt.Sprintf("m%d", i), URL: fmt.Sprintf("http://127.0.0.1:%d/metrics", 9100+i)})
		}
		err := p.Validate()
		if n == scenario.MaxMonitors && err != nil {
			t.Errorf("%d monitors: %v", n, err)
		}
		if n > scenario.MaxMonitors && (err == nil || !strings.Contains(err.Error(), "17 monitors: at most 16")) {
			t.Errorf("%d monitors: got %v, want them refused", n, err)
		}
	}
}

// A load bounded by nothing gets the default duration; one bounded by an
// iteration budget alone runs until the budget is spent, with no duration.
func TestDefaultDurationOnlyWithoutABound(t *testing.T) {
	for _, c := range []struct {
		load scenario.Load
		want time.Duration
	}{
		{scenario.Load{Model: engine.Closed, VUs: 1}, scenario.DefaultDuration},
		{scenario.Load{Model: engine.Closed, VUs: 1, Iterations: 10}, 0},
		{scenario.Load{Model: engine.Closed, VUs: 1, Duration: 3 * time.Second}, 3 * time.Second},
		{scenario.Load{Model: engine.Closed, VUs: 1, Stages: []engine.Stage{{Duration: time.Second, Target: 2}}}, 0},
	} {
		p := scenario.Plan{Target: "http://127.0.0.1:8080", Load: c.load, Flows: []scenario.Flow{{Steps: []scenario.Step{{Method: "GET", URL: "/"}}}}}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if p.Load.Duration != c.want {
			t.Errorf("load %+v: duration %v, want %v", c.load, p.Load.Duration, c.want)
		}
	}
}

// An endpoint is named after its URL's path: without query, fragment,
// scheme or host; a URL of nothing but a query is the root.
func TestDefaultName(t *testing.T) {
	for in, want := range map[string]string{
		"/todos?user_id=17":           "/todos",
		"/todos#top":                  "/todos",
		"?page=2":                     "/",
		"#frag":                       "/",
		"":                            "/",
		"http://127.0.0.1:8080/a/b?x": "/a/b",
		"http://127.0.0.1:8080":       "/",
		"http:///items":               "/items",
		"{{base}}://x/y":              "{{base}}://x/y",
		"/users/{{id}}":               "/users/{{id}}",
	} {
		if got := scenario.DefaultName(in); got != want {
			t.Errorf("DefaultName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every template of a step is checked, and a problem names its field:
// the body, and a JSON body's strings by their path.
func TestTemplateProblemsNameTheirField(t *testing.T) {
	for _, c := range []struct {
		step scenario.Step
		path string
	}{
		{scenario.Step{Method: "POST", URL: "/", Body: "hello {{nope}}"}, "flows[0].steps[0].body"},
		{scenario.Step{Method: "POST", URL: "/", JSON: []byte(`{"a": ["ok", "x", "{{nope}}"]}`)}, "flows[0].steps[0].json.a[2]"},
		{scenario.Step{Method: "POST", URL: "/", JSON: []byte(`[{"b": 1}, {"c": "{{nope}}"}]`)}, "flows[0].steps[0].json[1].c"},
	} {
		p := scenario.Plan{Target: "http://127.0.0.1:8080", Flows: []scenario.Flow{{Steps: []scenario.Step{c.step}}}}
		err := p.Validate()
		var probs scenario.Problems
		var pe *scenario.Error
		if !errors.As(err, &probs) || len(probs) != 1 || !errors.As(probs[0], &pe) || pe.Path != c.path || !strings.Contains(pe.Msg, "nope") {
			t.Errorf("step %+v: got %v (path %q), want one problem at %s", c.step, err, pathOf(err), c.path)
		}
	}
}

func pathOf(err error) string {
	var pe *scenario.Error
	if errors.As(err, &pe) {
		return pe.Path
	}
	return ""
}

// A think range must start above zero; a range starting at 0 is refused
// like a think of 0.
func TestThinkRangeStartsAboveZero(t *testing.T) {
	for _, c := range []struct {
		think, max time.Duration
		ok         bool
	}{{time.Second, 2 * time.Second, true}, {0, 2 * time.Second, false}, {-time.Second, time.Second, false}} {
		p := scenario.Plan{Target: "http://127.0.0.1:8080", Flows: []scenario.Flow{{Steps: []scenario.Step{
			{Method: "GET", URL: "/"}, {Think: c.think, ThinkMax: c.max}}}}}
		err := p.Validate()
		if c.ok != (err == nil) || (!c.ok && pathOf(err) != "flows[0].steps[1].think") {
			t.Errorf("think %v–%v: got %v, want ok %v", c.think, c.max, err, c.ok)
		}
	}
}

// Only a header extraction needs a header name: a JSON path with a space
// or a cookie name is not one.
func TestExtractExpressionsOfEachSource(t *testing.T) {
	for _, c := range []struct {
		e  scenario.Extract
		ok bool
	}{
		{scenario.Extract{Var: "id", From: scenario.FromJSON, Expr: "profile.display name"}, true},
		{scenario.Extract{Var: "loc", From: scenario.FromHeader, Expr: "Location"}, true},
		{scenario.Extract{Var: "loc", From: scenario.FromHeader, Expr: "Bad Header"}, false},
	} {
		p := scenario.Plan{Target: "http://127.0.0.1:8080", Flows: []scenario.Flow{{Steps: []scenario.Step{
			{Method: "GET", URL: "/", Extract: []scenario.Extract{c.e}}}}}}
		err := p.Validate()
		if c.ok != (err == nil) {
			t.Errorf("extract %+v: got %v, want ok %v", c.e, err, c.ok)
		}
	}
}
