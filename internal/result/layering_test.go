package result_test

import (
	"go/build"
	"strings"
	"testing"
)

const module = "github.com/surgeload/surge/internal/"

// The data layer stays below the run layer: what a run measured (result,
// metrics) and what reads it (report, store, compare) never depend, even
// indirectly, on the controller, the agents, the run session or a
// front-end. A report rebuilt from stored snapshots needs none of them.
func TestDataPackagesDoNotDependOnTheRunLayer(t *testing.T) {
	// "protocol" is every protocol's client: a plan's gRPC schema, which
	// the scenario package checks at load, is in grpcschema, below them.
	forbidden := []string{"controller", "agent", "run", "server", "cli", "workload", "protocol"}
	for _, pkg := range []string{"result", "metrics", "report", "store", "compare"} {
		deps := map[string]bool{}
		var walk func(path, via string)
		walk = func(path, via string) {
			p, err := build.Import(path, ".", 0)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, imp := range p.Imports {
				name, ok := strings.CutPrefix(imp, module)
				if !ok || deps[name] {
					continue
				}
				deps[name] = true
				for _, f := range forbidden {
					if name == f || strings.HasPrefix(name, f+"/") {
						t.Errorf("%s depends on %s (via %s)", pkg, name, via+" → "+imp)
					}
				}
				walk(imp, via+" → "+imp)
			}
		}
		walk(module+pkg, pkg)
	}
}
