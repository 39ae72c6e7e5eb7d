package scenario_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
)

// Groups are flattened: their steps join the flow's list, and each group
// (and each step's own if or repeat) is a Block of its first step,
// outermost first.
func TestGroupsFlatten(t *testing.T) {
	p, err := scenario.LoadFile("testdata/valid/orders.yaml", scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := p.Flows[0].Steps
	var got []string
	for _, s := range steps {
		got = append(got, fmt.Sprintf("%s%v", s.Name, s.Blocks))
	}
	want := "[stock[] place[{2 left >= want 0}] wait for order[] browse[{2  2} {1  3}] []]"
	if fmt.Sprint(got) != want {
		t.Errorf("steps\n %s\nwant\n %s", fmt.Sprint(got), want)
	}
	wait := steps[2]
	if !wait.IsPoll() || wait.Every != 200*time.Millisecond || wait.Within != 30*time.Second || len(wait.Until.JSON) != 1 || len(wait.Until.Status) != 1 {
		t.Errorf("poll step: %+v", wait)
	}
	// The plan travels as JSON (to agents, into the run store) and comes
	// back the same.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back scenario.Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Flows, p.Flows) {
		t.Errorf("flows changed on a JSON round trip:\n%s", b)
	}
}

// A plan that did not come from a file (the API, an agent) is held to the
// same rules by Validate.
func TestValidateBlocks(t *testing.T) {
	step := func(blocks ...scenario.Block) scenario.Step {
		return scenario.Step{Method: "GET", URL: "/", Blocks: blocks}
	}
	tests := []struct {
		name  string
		steps []scenario.Step
		want  string
	}{
		{"block past the end", []scenario.Step{step(scenario.Block{Len: 2})},
			`flow "flow 1": step 1: a block of 2 steps from step 1 does not fit`},
		{"inner block past the outer", []scenario.Step{step(scenario.Block{Len: 2}), step(scenario.Block{Len: 2}), step()},
			`flow "flow 1": step 2: a block of 2 steps from step 2 does not fit`},
		{"negative repeat", []scenario.Step{step(scenario.Block{Len: 1, Repeat: -1})},
			"repeat must be at least 1, got -1"},
		{"repeat too large", []scenario.Step{step(scenario.Block{Len: 1, Repeat: scenario.MaxRepeat + 1})},
			"repeat 10001 is more than the maximum of 10000"},
		{"repeats multiply", []scenario.Step{step(scenario.Block{Len: 1, Repeat: 1000}, scenario.Block{Len: 1, Repeat: 1001})},
			"one pass over these steps runs more than 1000000"},
		{"bad condition", []scenario.Step{step(scenario.Block{Len: 1, If: "a ="})},
			"bad condition \"a =\""},
		{"poll without within", []scenario.Step{{Method: "GET", URL: "/", Until: scenario.Check{Status: []string{"200"}}}},
			"a poll step needs `within`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := scenario.Plan{Target: "http://127.0.0.1:8080", Vars: []scenario.Var{{Name: "a", Value: "1"}},
				Flows: []scenario.Flow{{Steps: tt.steps}}}
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	ok := scenario.Plan{Target: "http://127.0.0.1:8080", Flows: []scenario.Flow{{Steps: []scenario.Step{
		step(scenario.Block{Len: 2, Repeat: 1000}), step(scenario.Block{Len: 1, Repeat: 500}),
	}}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("1000 × (1 + 500) steps: %v", err)
	}
}
