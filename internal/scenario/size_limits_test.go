package scenario_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
)

// The request size limits (docs/limits.md) at the limit and one byte past
// it. Values come from {{env.…}}, variables and data cells, since one
// template's source is itself limited to 1 MiB. The size Validate checks
// is the request's largest: for a URL the target, one separator, the path
// and "?name=value" (or "&…") per query parameter; for a header its name,
// ": ", its value and CRLF; for a JSON body what the workload writes,
// counting one comma more per non-empty array or object, so a JSON case
// is accepted one byte below the limit and refused one byte above it.
func TestSizeLimitsAtTheBoundary(t *testing.T) {
	const target = "http://127.0.0.1:8080" // 21 bytes
	x := func(n int) string { return strings.Repeat("x", n) }
	env := func(n int) map[string]string { return map[string]string{"V": x(n)} }
	// headers is n headers, … of values {{env.V}}: each costs
	// 4 + 4 + len(V) bytes.
	headers := func(n int) []scenario.Header {
		var hs []scenario.Header
		for i := range n {
			hs = append(hs, scenario.Header{Name: fmt.Sprintf("X-%02d", i), Value: "{{env.V}}"})
		}
		return hs
	}
	perHeader := scenario.MaxHeadersSize / 16 // 16 headers fill the limit
	// jsonCell is a JSON data source of one cell.
	jsonCell := func(cell string) []scenario.DataSource {
		return []scenario.DataSource{{Name: "d", Columns: []string{"v"}, Rows: [][]string{{cell}}, JSON: true}}
	}
	cases := []struct {
		name     string
		step     scenario.Step
		env      map[string]string
		vars     []scenario.Var
		data     []scenario.DataSource
		defaults []scenario.Header
		path     string // "": accepted
	}{
		{name: "url at the limit", step: scenario.Step{URL: "/{{env.V}}"}, env: env(scenario.MaxURLSize - len(target) - 2)},
		{name: "url past the limit", step: scenario.Step{URL: "/{{env.V}}"}, env: env(scenario.MaxURLSize - len(target) - 1), path: "flows[0].steps[0].url"},
		{name: "query name at the limit", step: scenario.Step{URL: "/", Query: []scenario.Param{{Name: x(scenario.MaxURLSize - len(target) - 5), Value: "v"}}}},
		{name: "query name past the limit", step: scenario.Step{URL: "/", Query: []scenario.Param{{Name: x(scenario.MaxURLSize - len(target) - 4), Value: "v"}}},
			path: "flows[0].steps[0].url"},
		{name: "query value at the limit", step: scenario.Step{URL: "/", Query: []scenario.Param{{Name: "q", Value: "{{env.V}}"}}}, env: env(scenario.MaxURLSize - len(target) - 5)},
		{name: "query value past the limit", step: scenario.Step{URL: "/", Query: []scenario.Param{{Name: "q", Value: "{{env.V}}"}}}, env: env(scenario.MaxURLSize - len(target) - 4),
			path: "flows[0].steps[0].url"},

		{name: "header value at the limit", step: scenario.Step{URL: "/", Headers: headers(1)}, env: env(scenario.MaxHeaderSize)},
		{name: "header value past the limit", step: scenario.Step{URL: "/", Headers: headers(1)}, env: env(scenario.MaxHeaderSize + 1), path: "flows[0].steps[0].headers[0]"},
		{name: "headers at the limit", step: scenario.Step{URL: "/", Headers: headers(16)}, env: env(perHeader - 8)},
		{name: "headers past the limit", step: scenario.Step{URL: "/", Headers: append(headers(15),
			scenario.Header{Name: "X-15", Value: "{{env.V}}y"})}, env: env(perHeader - 8), path: "flows[0].steps[0].headers"},
		// The plan's default headers count with the step's, unless the
		// step sets the same header (in any case).
		{name: "headers with a default at the limit", step: scenario.Step{URL: "/", Headers: headers(15)},
			defaults: []scenario.Header{{Name: "X-15", Value: "{{env.V}}"}}, env: env(perHeader - 8)},
		{name: "headers with a default past the limit", step: scenario.Step{URL: "/", Headers: headers(15)},
			defaults: []scenario.Header{{Name: "X-15", Value: "{{env.V}}y"}}, env: env(perHeader - 8), path: "flows[0].steps[0].headers"},
		{name: "headers with an overridden default", step: scenario.Step{URL: "/", Headers: headers(16)},
			defaults: []scenario.Header{{Name: "x-00", Value: "{{env.V}}"}}, env: env(perHeader - 8)},
		{name: "default header at the limit", step: scenario.Step{URL: "/"},
			defaults: []scenario.Header{{Name: "X-A", Value: "{{env.V}}"}}, env: env(scenario.MaxHeaderSize)},
		{name: "default header past the limit", step: scenario.Step{URL: "/"},
			defaults: []scenario.Header{{Name: "X-A", Value: "{{env.V}}"}}, env: env(scenario.MaxHeaderSize + 1), path: "headers[0]"},

		{name: "body at the limit", step: scenario.Step{Method: "POST", URL: "/", Body: "{{env.V}}"}, env: env(scenario.MaxBodySize)},
		{name: "body past the limit", step: scenario.Step{Method: "POST", URL: "/", Body: "{{env.V}}"}, env: env(scenario.MaxBodySize + 1), path: "flows[0].steps[0].body"},
		{name: "form at the limit", step: scenario.Step{Method: "POST", URL: "/", Form: []scenario.Param{{Name: "a", Value: "{{env.V}}"}}}, env: env(scenario.MaxBodySize - 3)},
		{name: "form past the limit", step: scenario.Step{Method: "POST", URL: "/", Form: []scenario.Param{{Name: "a", Value: "{{env.V}}"}}}, env: env(scenario.MaxBodySize - 2),
			path: "flows[0].steps[0].form"},
		// ["…"] is written as 4 bytes and the value.
		{name: "json array below the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`["{{env.V}}"]`)}, env: env(scenario.MaxBodySize - 5)},
		{name: "json array above the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`["{{env.V}}"]`)}, env: env(scenario.MaxBodySize - 3),
			path: "flows[0].steps[0].json"},
		// {"a":1,"k":"…"} is written as 14 bytes and the value: every
		// member counts, with its key, colon and comma.
		{name: "json object below the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`{"a":1,"k":"{{env.V}}"}`)}, env: env(scenario.MaxBodySize - 15)},
		{name: "json object above the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`{"a":1,"k":"{{env.V}}"}`)}, env: env(scenario.MaxBodySize - 13),
			path: "flows[0].steps[0].json"},
		{name: "json object with the big value first", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`{"k":"{{env.V}}","a":1}`)}, env: env(scenario.MaxBodySize - 13),
			path: "flows[0].steps[0].json"},
		// A string that is exactly one {{…}} of a JSON value is written as
		// the value, unquoted: [<value>] is 2 bytes and the value.
		{name: "a JSON variable below the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`["{{big}}"]`)},
			vars: []scenario.Var{{Name: "small", Value: "1", JSON: true}, {Name: "big", Value: "[" + x(scenario.MaxBodySize-5) + "]", JSON: true}}},
		{name: "a JSON variable above the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`["{{big}}"]`)},
			vars: []scenario.Var{{Name: "small", Value: "1", JSON: true}, {Name: "big", Value: "[" + x(scenario.MaxBodySize-3) + "]", JSON: true}}, path: "flows[0].steps[0].json"},
		// Each variable is counted at its own size, not another's.
		{name: "a small variable beside a big one", step: scenario.Step{Method: "POST", URL: "/", Body: strings.Repeat("{{small}}", 100)},
			vars: []scenario.Var{{Name: "small", Value: "1"}, {Name: "big", Value: x(scenario.MaxBodySize / 50)}}},
		{name: "a JSON data cell below the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`["{{d.v}}"]`)},
			data: jsonCell("[" + x(scenario.MaxBodySize-5) + "]")},
		{name: "a JSON data cell above the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`["{{d.v}}"]`)},
			data: jsonCell("[" + x(scenario.MaxBodySize-3) + "]"), path: "flows[0].steps[0].json"},
		// A JSON string cell is text: written quoted, as its own string.
		{name: "a JSON string cell above the limit", step: scenario.Step{Method: "POST", URL: "/", JSON: []byte(`["{{d.v}}"]`)},
			data: jsonCell(`"` + x(scenario.MaxBodySize-4) + `"`), path: "flows[0].steps[0].json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := scenario.Plan{Target: target, Env: c.env, Vars: c.vars, Data: c.data, Headers: c.defaults,
				Flows: []scenario.Flow{{Steps: []scenario.Step{c.step}}}}
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
			if !errors.As(probs[0], &pe) || pe.Path != c.path || !strings.Contains(pe.Msg, "more than the limit of") {
				t.Errorf("got %v, want a size problem at %s", probs[0], c.path)
			}
		})
	}
}

// A data row shorter than the columns is refused, and sizing the templates
// that read the missing cell must not fail on it.
func TestSizeOfAShortDataRow(t *testing.T) {
	p := scenario.Plan{Target: "http://127.0.0.1:8080",
		Data:  []scenario.DataSource{{Name: "d", Columns: []string{"v", "w"}, Rows: [][]string{{"a", "b"}, {"c"}}}},
		Flows: []scenario.Flow{{Steps: []scenario.Step{{Method: "POST", URL: "/{{d.w}}", Body: "{{d.w}}"}}}}}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "row 2 has 1 fields") {
		t.Fatalf("got %v, want the short row refused", err)
	}
}
