package scenario_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/feeder"
	"github.com/surgeload/surge/internal/scenario"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Quick mode's URL, headers and body are text, not templates: braces in
// them build a plan (a template would fail: {{x}} names nothing). What is
// sent, byte for byte, is cmd/surge's TestQuickModeSendsTextAsIs.
func TestQuickModeDoesNotParseBracesAsTemplates(t *testing.T) {
	rate := 10.0
	p, err := scenario.Quick(scenario.QuickRequest{
		URL: "http://127.0.0.1:8080/items?q={{x}}", Method: "post",
		Headers: []string{"X-A: {{b}}"}, Body: `{"a":{"b":{}}} {{c}}`,
	}, scenario.Overrides{Rate: &rate})
	if err != nil {
		t.Fatalf("quick mode must not treat {{ as a template: %v", err)
	}
	s := p.Flows[0].Steps[0]
	if s.Method != "POST" || s.Name != "/items" {
		t.Errorf("step %+v", s)
	}
}

func TestQuickModeErrors(t *testing.T) {
	rate, vus := 10.0, 2
	cases := []struct {
		name string
		q    scenario.QuickRequest
		o    scenario.Overrides
		want string
	}{
		{"bad header", scenario.QuickRequest{URL: "http://x/", Headers: []string{"nocolon"}}, scenario.Overrides{}, `header "nocolon": want 'Name: value'`},
		{"both models", scenario.QuickRequest{URL: "http://x/"}, scenario.Overrides{Rate: &rate, VUs: &vus}, "give --vus (closed model) or --rate (open model), not both"},
		{"relative URL", scenario.QuickRequest{URL: "/x", Method: "GET"}, scenario.Overrides{}, `flow "default": step 1: URL "/x" is relative and there is no target to resolve it against`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := scenario.Quick(c.q, c.o)
			if err == nil || err.Error() != c.want || !errors.Is(err, scenario.ErrInvalid) {
				t.Errorf("got %v, want %q wrapping ErrInvalid", err, c.want)
			}
		})
	}
}

func TestValidateGoPlan(t *testing.T) {
	// A plan built in Go (not from a file) is validated the same way; its
	// problems carry a context instead of a position.
	p := scenario.Plan{
		Target: "http://127.0.0.1:8080",
		Vars:   []scenario.Var{{Name: "token", Value: "x"}},
		Flows: []scenario.Flow{{Name: "f", Steps: []scenario.Step{
			{Method: "GET", URL: "/a/{{tokn}}"},
			{Method: "GET", URL: "/b", Extract: []scenario.Extract{{Var: "id", From: "xml", Expr: "x"}}},
		}}},
	}
	err := p.Validate()
	want := "flow \"f\": step 1: unknown variable `tokn` in \"/a/{{tokn}}\"; did you mean `token`?\n" +
		"flow \"f\": step 2: extract id: unknown source \"xml\" (want json:, header:, regex: or cookie:)"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestValidateIsIdempotent(t *testing.T) {
	p := scenario.Plan{
		Target: "http://127.0.0.1:8080",
		Data:   []scenario.DataSource{{Name: "u", Columns: []string{"n"}, Rows: [][]string{{"a"}}}},
		Setup:  []scenario.Step{{URL: "/login?u={{u.n}}"}},
		Flows:  []scenario.Flow{{Steps: []scenario.Step{{URL: "/x"}}}},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	first, _ := json.Marshal(p)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	second, _ := json.Marshal(p)
	if string(first) != string(second) {
		t.Errorf("Validate changed a valid plan:\n%s\n%s", first, second)
	}
	if p.Data[0].Per != scenario.PerVU || p.Data[0].Mode != feeder.Sequential || p.Flows[0].Name != "flow 1" || p.Setup[0].Method != "GET" {
		t.Errorf("defaults not filled in: %+v", p)
	}
}

func TestPlanSurvivesJSON(t *testing.T) {
	p, err := scenario.LoadFile("testdata/valid/full.yaml", scenario.Options{Getenv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q scenario.Plan
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	// Env values are not serialised: whoever receives a plan supplies them.
	q.Env = p.Env
	if err := q.Validate(); err != nil {
		t.Errorf("a plan read back from JSON: %v", err)
	}
	again, _ := json.Marshal(q)
	if string(again) != string(b) {
		t.Errorf("JSON round trip changed the plan:\n%s\n%s", b, again)
	}
}

func TestPartitionData(t *testing.T) {
	p := scenario.Plan{Data: []scenario.DataSource{
		{Name: "u", Mode: feeder.Unique, Rows: [][]string{{"0"}, {"1"}, {"2"}, {"3"}, {"4"}}},
		{Name: "s", Mode: feeder.Sequential, Rows: [][]string{{"a"}, {"b"}}},
	}}
	var all []string
	for i := range 2 {
		part := p.PartitionData(i, 2)
		if len(part.Data[1].Rows) != 2 {
			t.Errorf("a sequential source is shared whole")
		}
		for _, r := range part.Data[0].Rows {
			all = append(all, r[0])
		}
	}
	if strings.Join(all, "") != "02413" {
		t.Errorf("unique rows split as %v, want each row in exactly one part", all)
	}
	if len(p.Data[0].Rows) != 5 {
		t.Error("PartitionData modified the original plan")
	}
}

func TestResolve(t *testing.T) {
	p := scenario.Plan{
		Vars: []scenario.Var{{Name: "token"}},
		Env:  map[string]string{"HOME": "/root"},
		Data: []scenario.DataSource{{Name: "users", Columns: []string{"name", "email"}}},
	}
	cases := []struct {
		in   string
		kind scenario.RefKind
		err  string
	}{
		{in: "vu.id", kind: scenario.RefBuiltin},
		{in: "iteration", kind: scenario.RefBuiltin},
		{in: "token", kind: scenario.RefVar},
		{in: "env.HOME", kind: scenario.RefEnv},
		{in: "users.email", kind: scenario.RefData},
		{in: "env.NOPE", err: "environment variable `NOPE` is not set"},
		{in: "users", err: "`users` is a data source: name one of its columns, e.g. `users.name`"},
		{in: "users.mail", err: "unknown column `mail` of data source `users`; did you mean `email`?"},
		{in: "usr.name", err: "unknown variable `usr.name`; did you mean `users.name`?"},
		{in: "user.name", err: "unknown data source `user`; did you mean `users`?"},
		{in: "tokens", err: "unknown variable `tokens`; did you mean `token`?"},
		{in: "vu.idd", err: "unknown variable `vu.idd`; did you mean `vu.id`?"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			ref, err := p.Resolve(c.in)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || ref.Kind != c.kind {
				t.Errorf("got %+v, %v", ref, err)
			}
		})
	}
}
