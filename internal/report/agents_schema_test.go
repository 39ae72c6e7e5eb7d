package report_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// Every key of the summary's agents rows is in the schema's field list
// (cmd/surge/testdata/summary-v1.fields) and documented in
// docs/summary.md, and every agents field listed there is in the rows: a
// local run has no agents, so cmd/surge's schema test never sees them.
func TestAgentsRowsMatchTheSchema(t *testing.T) {
	listed := map[string]bool{}
	f, err := os.Open(filepath.Join("..", "..", "cmd", "surge", "testdata", "summary-v1.fields"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && strings.HasPrefix(fs[0], "agents[].") && !strings.Contains(fs[0][len("agents[]."):], "[") {
			listed[strings.TrimPrefix(fs[0], "agents[].")] = len(fs) < 3 // required unless "optional"
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	res := &controller.Result{Plan: scenario.Plan{Load: scenario.Load{Model: engine.Open}},
		Agents: []controller.AgentResult{{Name: "a", Lost: true, LostAt: time.Now(), Reasons: []string{"x"}}, {Name: "b"}}}
	b, err := json.Marshal(report.Build("r", res, 1))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Agents []map[string]any }
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Agents) != 2 {
		t.Fatalf("agents %v", s.Agents)
	}
	for _, row := range s.Agents {
		for k := range row {
			if _, ok := listed[k]; !ok {
				t.Errorf("agents[].%s is not in summary-v1.fields", k)
			}
		}
	}
	for k, required := range listed {
		if _, ok := s.Agents[0][k]; !ok {
			t.Errorf("agents[].%s is listed but not in a lost agent's row", k)
		}
		if _, ok := s.Agents[1][k]; required && !ok {
			t.Errorf("agents[].%s is required but missing", k)
		}
		if !strings.Contains(string(doc), "`agents[]."+k+"`") {
			t.Errorf("agents[].%s is not documented in docs/summary.md", k)
		}
	}
	if len(listed) < 5 {
		t.Fatalf("only %d agents fields listed", len(listed))
	}
}
