package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/compare"
)

// A plan an older version stored (model 1, nanoseconds, Go's field names
// in stages) is served in scenario words; a new one is served as stored.
func TestServedPlanRewritesTheOldForm(t *testing.T) {
	old := `{"name":"x","timeout":10000000000,"load":{"model":1,"rate":5,"stages":[{"Duration":5000000000,"Target":200}]},
		"data":[{"name":"u","row_count":3}],
		"flows":[{"name":"f","steps":[{"url":"/","timeout":2000000000,"think":1500000000,"check":{"max_latency":250000000}}]}]}`
	got := string(servedPlan(json.RawMessage(old)))
	for _, want := range []string{`"model":"open"`, `"timeout":"10s"`, `"stages":[{"duration":"5s","target":200}]`,
		`"timeout":"2s"`, `"think":"1.5s"`, `"max_latency":"250ms"`, `"row_count":3`} {
		if !strings.Contains(got, want) {
			t.Errorf("served plan lacks %s: %s", want, got)
		}
	}
	fresh := `{"name":"x","load":{"model":"closed","vus":2}}`
	if got := string(servedPlan(json.RawMessage(fresh))); got != fresh {
		t.Errorf("a new plan was rewritten: %s", got)
	}
	// History lists read the load of both forms.
	for _, raw := range []string{old, `{"load":{"model":"open","rate":5,"stages":[{"duration":"5s","target":200}]}}`} {
		if l, ok := planLoad(json.RawMessage(raw)); !ok || compare.LoadText(l) != "open · stages 5→200/s · 5s" {
			t.Errorf("load of %s: %q", raw, compare.LoadText(l))
		}
	}
}
