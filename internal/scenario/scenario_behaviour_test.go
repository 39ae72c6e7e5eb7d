package scenario_test

import (
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

func parseScenario(t *testing.T, name, src string) (scenario.Plan, error) {
	t.Helper()
	return scenario.Parse(name, []byte(src), scenario.Options{Getenv: func(string) string { return "" }})
}

const minimalFlows = `
target: http://127.0.0.1:8080
flows:
  - name: f
    steps:
      - get: /x
`

// A scenario without a name is named after its file; one with a name
// keeps it.
func TestScenarioName(t *testing.T) {
	p, err := parseScenario(t, "dir/shop.yaml", "load: {model: closed, vus: 1, duration: 1s}"+minimalFlows)
	if err != nil || p.Name != "shop" {
		t.Fatalf("name %q, %v; want the file's name \"shop\"", p.Name, err)
	}
	p, err = parseScenario(t, "dir/shop.yaml", "name: checkout\nload: {model: closed, vus: 1, duration: 1s}"+minimalFlows)
	if err != nil || p.Name != "checkout" {
		t.Fatalf("name %q, %v; want the scenario's own \"checkout\"", p.Name, err)
	}
}

// A load without stages holds its value for its duration; with stages it
// follows them.
func TestLoadProfile(t *testing.T) {
	l := scenario.Load{Model: engine.Open, Rate: 5, Duration: 2 * time.Second}
	if p := l.Profile(); p.Duration() != 2*time.Second || p.At(time.Second) != 5 || p.Start != 5 {
		t.Fatalf("constant open profile %+v", p)
	}
	l = scenario.Load{Model: engine.Closed, VUs: 3}
	if p := l.Profile(); p.Duration() != 0 || p.Start != 3 {
		t.Fatalf("unbounded closed profile %+v", p)
	}
	l = scenario.Load{Model: engine.Open, Rate: 10, Stages: []engine.Stage{{Duration: time.Second, Target: 20}}}
	if p := l.Profile(); p.Duration() != time.Second || p.Start != 10 || p.At(500*time.Millisecond) != 15 {
		t.Fatalf("staged profile %+v", p)
	}
}

// The VU ceiling is inclusive: engine.MaxVUs VUs are allowed, one more is
// refused with the field named.
func TestVUCeilingIsInclusive(t *testing.T) {
	for _, tt := range []struct {
		load string
		ok   bool
	}{
		{"{model: closed, vus: 100000, duration: 1s}", true},
		{"{model: closed, vus: 100001, duration: 1s}", false},
		{"{model: open, rate: 10, max_vus: 100000, duration: 1s}", true},
		{"{model: open, rate: 10, max_vus: 100001, duration: 1s}", false},
	} {
		_, err := parseScenario(t, "s.yaml", "load: "+tt.load+minimalFlows)
		if (err == nil) != tt.ok {
			t.Errorf("load %s: error %v, want ok=%v", tt.load, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "load.") {
			t.Errorf("load %s: error %q does not name the field", tt.load, err)
		}
	}
}

// A think range may have equal ends; one that ends before it starts is
// an error.
func TestThinkRanges(t *testing.T) {
	src := func(think string) string {
		return "load: {model: closed, vus: 1, duration: 1s}\ntarget: http://127.0.0.1:8080\nflows:\n  - name: f\n    steps:\n      - get: /x\n      - think: " + think + "\n"
	}
	p, err := parseScenario(t, "s.yaml", src("1s..1s"))
	if err != nil {
		t.Fatalf("think 1s..1s: %v", err)
	}
	st := p.Flows[0].Steps[1]
	if st.Think != time.Second || (st.ThinkMax != time.Second && st.ThinkMax != 0) {
		t.Fatalf("think 1s..1s parsed to %v..%v", st.Think, st.ThinkMax)
	}
	p, err = parseScenario(t, "s.yaml", src("1s..3s"))
	if err != nil || p.Flows[0].Steps[1].Think != time.Second || p.Flows[0].Steps[1].ThinkMax != 3*time.Second {
		t.Fatalf("think 1s..3s: %+v, %v", p.Flows, err)
	}
	if _, err := parseScenario(t, "s.yaml", src("2s..1s")); err == nil || !strings.Contains(err.Error(), "ends before it starts") {
		t.Fatalf("think 2s..1s: %v", err)
	}
}

// A file of exactly MaxFileSize bytes is not refused for its size; one
// byte more is.
func TestFileSizeLimitIsInclusive(t *testing.T) {
	head := "load: {model: closed, vus: 1, duration: 1s}" + minimalFlows + "#"
	pad := scenario.MaxFileSize - len(head) - 1
	src := head + strings.Repeat("x", pad) + "\n"
	if len(src) != scenario.MaxFileSize {
		t.Fatalf("built %d bytes", len(src))
	}
	if _, err := parseScenario(t, "big.yaml", src); err != nil && strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file of exactly the limit refused: %v", err)
	}
	if _, err := parseScenario(t, "big.yaml", src+"#"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file over the limit: %v", err)
	}
}

// Problems of a plan built without a file (flags, the API) name the
// setup step they are in, counting from 1.
func TestSetupStepNumbersInProblems(t *testing.T) {
	p := scenario.Plan{
		Target: "http://127.0.0.1:8080",
		Load:   scenario.Load{Model: engine.Closed, VUs: 1, Duration: time.Second},
		Setup:  []scenario.Step{{Method: "GET", URL: "/ok"}, {Method: "GET", URL: "/login?u={{nobody_set_this}}"}},
		Flows:  []scenario.Flow{{Name: "f", Weight: 1, Steps: []scenario.Step{{Method: "GET", URL: "/x"}}}},
	}
	err := p.Validate()
	if err == nil {
		t.Fatal("an unknown variable accepted")
	}
	if !strings.Contains(err.Error(), "setup step 2") || strings.Contains(err.Error(), "setup step 1") {
		t.Fatalf("problem %q, want it in setup step 2", err)
	}
}

// Flags over a file: --vus turns an open plan closed (its rate and VU cap
// gone), --rate turns a closed one open, --duration alone replaces the
// file's stages, and --stages replaces its duration.
func TestOverridesOverAFile(t *testing.T) {
	file := "load: {model: open, rate: 50, max_vus: 9, stages: [{duration: 5s, target: 100}]}" + minimalFlows
	p, err := parseScenario(t, "s.yaml", file)
	if err != nil {
		t.Fatal(err)
	}
	vus, dur := 4, 7*time.Second
	q := p
	q.Apply(scenario.Overrides{VUs: &vus})
	if l := q.Load; l.Model != engine.Closed || l.VUs != 4 || l.Rate != 0 || l.MaxVUs != 0 {
		t.Fatalf("--vus over an open plan: %+v", l)
	}
	q = p
	q.Apply(scenario.Overrides{Duration: &dur})
	if l := q.Load; l.Duration != dur || len(l.Stages) != 0 || l.Model != engine.Open || l.Rate != 50 {
		t.Fatalf("--duration over staged plan: %+v", l)
	}
	q = p
	stages := []engine.Stage{{Duration: time.Second, Target: 3}}
	q.Apply(scenario.Overrides{Duration: &dur, Stages: stages})
	if l := q.Load; l.Duration != dur || len(l.Stages) != 1 {
		t.Fatalf("--stages and --duration: %+v", l)
	}
	rate := 20.0
	c, err := parseScenario(t, "s.yaml", "load: {model: closed, vus: 3, duration: 1s}"+minimalFlows)
	if err != nil {
		t.Fatal(err)
	}
	c.Apply(scenario.Overrides{Rate: &rate})
	if l := c.Load; l.Model != engine.Open || l.Rate != 20 || l.VUs != 0 {
		t.Fatalf("--rate over a closed plan: %+v", l)
	}
	if _, err := scenario.Quick(scenario.QuickRequest{URL: "http://127.0.0.1:1/", Method: "GET"}, scenario.Overrides{VUs: &vus, Rate: &rate}); err == nil ||
		!strings.Contains(err.Error(), "not both") {
		t.Fatalf("--vus with --rate: %v", err)
	}
}

// A check is empty only when it has no condition at all.
func TestCheckIsZero(t *testing.T) {
	if !(scenario.Check{}).IsZero() {
		t.Fatal("an empty check is not zero")
	}
	for name, c := range map[string]scenario.Check{
		"status":        {Status: []string{"200"}},
		"body_contains": {BodyContains: []string{"ok"}},
		"body_matches":  {BodyMatches: []string{"o+k"}},
		"json":          {JSON: []scenario.JSONCheck{{Path: "a", Value: []byte("1")}}},
		"header":        {Header: []scenario.Param{{Name: "X", Value: "y"}}},
		"latency":       {MaxLatency: time.Second},
	} {
		if c.IsZero() {
			t.Errorf("a check with %s is zero", name)
		}
	}
}

// A step that is neither a request nor a pause is a problem.
func TestEmptyStepIsAProblem(t *testing.T) {
	p := scenario.Plan{
		Target: "http://127.0.0.1:8080",
		Load:   scenario.Load{Model: engine.Closed, VUs: 1, Duration: time.Second},
		Flows:  []scenario.Flow{{Name: "f", Weight: 1, Steps: []scenario.Step{{Method: "GET", URL: "/x"}, {}}}},
	}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "no request") {
		t.Fatalf("an empty step: %v", err)
	}
	if (scenario.Step{}).IsThink() || !(scenario.Step{Think: time.Millisecond}).IsThink() || (scenario.Step{Method: "GET", Think: time.Second}).IsThink() {
		t.Fatal("IsThink")
	}
}

// Status conditions: codes 100–599 and classes 1xx–5xx, nothing else.
func TestParseStatusBounds(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"100", 100, 100, true}, {"599", 599, 599, true}, {"200", 200, 200, true},
		{"99", 0, 0, false}, {"600", 0, 0, false}, {"-200", 0, 0, false},
		{"1xx", 100, 199, true}, {"5xx", 500, 599, true}, {"2XX", 200, 299, true}, {"3xx", 300, 399, true},
		{"0xx", 0, 0, false}, {"6xx", 0, 0, false}, {"2x", 0, 0, false}, {"2xxx", 0, 0, false}, {"xx2", 0, 0, false}, {"", 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, ok := scenario.ParseStatus(tt.in)
		if lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("ParseStatus(%q) = %d, %d, %v; want %d, %d, %v", tt.in, lo, hi, ok, tt.lo, tt.hi, tt.ok)
		}
	}
}

// A think step: a positive pause, or a range whose end is not before its
// start; a zero or negative pause is a problem.
func TestThinkStepsInAPlan(t *testing.T) {
	for _, tt := range []struct {
		think, max time.Duration
		ok         bool
	}{{time.Second, 0, true}, {time.Second, time.Second, true}, {time.Second, 2 * time.Second, true}, {time.Second, 500 * time.Millisecond, false}, {0, 0, false}, {-time.Second, 0, false}} {
		p := scenario.Plan{
			Target: "http://127.0.0.1:8080",
			Load:   scenario.Load{Model: engine.Closed, VUs: 1, Duration: time.Second},
			Flows:  []scenario.Flow{{Name: "f", Weight: 1, Steps: []scenario.Step{{Method: "GET", URL: "/x"}, {Think: tt.think, ThinkMax: tt.max}}}},
		}
		if err := p.Validate(); (err == nil) != tt.ok {
			t.Errorf("think %v..%v: %v, want ok=%v", tt.think, tt.max, err, tt.ok)
		}
	}
}
