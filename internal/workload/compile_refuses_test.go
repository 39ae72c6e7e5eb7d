package workload_test

import (
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/workload"
)

// A plan that skipped validation (a remote agent's segment decoded from
// the wire) cannot crash a VU: no flows, or a flow without a positive
// weight, is an error of Compile.
func TestCompileRefusesPlansAVUCouldNotRun(t *testing.T) {
	step := []scenario.Step{{Method: "GET", URL: "http://127.0.0.1:9/"}}
	for _, c := range []struct {
		name  string
		flows []scenario.Flow
		want  string
	}{
		{"no flows", nil, "no flows"},
		{"zero weight", []scenario.Flow{{Name: "f", Weight: 0, Steps: step}}, `flow "f": weight 0`},
		{"negative weight", []scenario.Flow{{Name: "f", Weight: 1, Steps: step}, {Name: "g", Weight: -2, Steps: step}}, `flow "g": weight -2`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := workload.Compile(scenario.Plan{Flows: c.flows})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Compile: %v, want an error saying %q", err, c.want)
			}
		})
	}
}
