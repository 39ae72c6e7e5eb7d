package scenario_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

func TestPlanJSONSpeaksScenarioWords(t *testing.T) {
	p := scenario.Plan{
		Name: "shop", Target: "http://127.0.0.1:8080", Timeout: 10 * time.Second,
		Load: scenario.Load{Model: engine.Open, Rate: 50, MaxVUs: 20,
			Stages: []engine.Stage{{Duration: 5 * time.Second, Target: 200}, {Duration: 90 * time.Second, Target: 200}}},
		Flows: []scenario.Flow{{Name: "browse", Weight: 1, Steps: []scenario.Step{
			{Method: "GET", URL: "/a", Timeout: 2 * time.Second, Check: scenario.Check{Status: []string{"200"}, MaxLatency: 250 * time.Millisecond}},
			{Think: time.Second, ThinkMax: 3 * time.Second},
		}}},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`"model":"open"`, `"timeout":"10s"`, `"stages":[{"duration":"5s","target":200},{"duration":"1m30s","target":200}]`,
		`"timeout":"2s"`, `"max_latency":"250ms"`, `"think":"1s"`, `"think_max":"3s"`} {
		if !strings.Contains(got, want) {
			t.Errorf("plan JSON lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "000000") {
		t.Errorf("plan JSON still has nanoseconds:\n%s", got)
	}
	var q scenario.Plan
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Errorf("round trip changed the plan:\n%+v\n%+v", p, q)
	}

	// A closed plan with a duration.
	c := scenario.Plan{Load: scenario.Load{Model: engine.Closed, VUs: 50, Duration: time.Minute}}
	b, _ = json.Marshal(c)
	if !strings.Contains(string(b), `"model":"closed"`) || !strings.Contains(string(b), `"duration":"1m0s"`) {
		t.Errorf("closed plan: %s", b)
	}
}

// Plans stored by earlier versions (run histories) still read.
func TestPlanJSONReadsTheOldForm(t *testing.T) {
	old := `{"name":"old","load":{"model":1,"rate":100,"duration":30000000000,
		"stages":[{"Duration":5000000000,"Target":200}]},"timeout":10000000000,
		"flows":[{"name":"f","weight":1,"steps":[{"method":"GET","url":"/x","timeout":2000000000,
		"check":{"max_latency":250000000},"think":1000000000,"think_max":3000000000}]}]}`
	var p scenario.Plan
	if err := json.Unmarshal([]byte(old), &p); err != nil {
		t.Fatal(err)
	}
	st := p.Flows[0].Steps[0]
	if p.Load.Model != engine.Open || p.Load.Duration != 30*time.Second || p.Timeout != 10*time.Second ||
		len(p.Load.Stages) != 1 || p.Load.Stages[0] != (engine.Stage{Duration: 5 * time.Second, Target: 200}) ||
		st.Timeout != 2*time.Second || st.Check.MaxLatency != 250*time.Millisecond || st.Think != time.Second || st.ThinkMax != 3*time.Second {
		t.Errorf("old plan read as %+v (step %+v)", p, st)
	}
	var closed scenario.Load
	if err := json.Unmarshal([]byte(`{"model":0,"vus":3}`), &closed); err != nil || closed.Model != engine.Closed || closed.VUs != 3 {
		t.Errorf("old closed load: %+v, %v", closed, err)
	}
	for _, bad := range []string{`{"model":"fast"}`, `{"model":7}`, `{"duration":"soon"}`} {
		var l scenario.Load
		if err := json.Unmarshal([]byte(bad), &l); err == nil {
			t.Errorf("%s read without an error: %+v", bad, l)
		}
	}
}
