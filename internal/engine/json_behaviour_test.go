package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// Models and stages are stored in the CLI's words ("open", "30s"), and the
// older forms (0/1, nanoseconds, capitalised keys) in run histories still
// read.
func TestLoadJSONForms(t *testing.T) {
	for _, m := range []engine.Model{engine.Open, engine.Closed} {
		b, err := json.Marshal(m)
		if err != nil || string(b) != `"`+m.String()+`"` {
			t.Fatalf("Marshal(%v) = %s, %v", m, b, err)
		}
		var back engine.Model
		if err := json.Unmarshal(b, &back); err != nil || back != m {
			t.Fatalf("round trip of %v gave %v, %v", m, back, err)
		}
	}
	if _, err := json.Marshal(engine.Model(7)); err == nil {
		t.Fatal("an unknown model marshalled")
	}
	for in, want := range map[string]engine.Model{`"open"`: engine.Open, `"CLOSED"`: engine.Closed, `1`: engine.Open, `0`: engine.Closed, ` 1 `: engine.Open} {
		var m engine.Model
		if err := json.Unmarshal([]byte(in), &m); err != nil || m != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, m, err, want)
		}
	}
	for _, bad := range []string{`"half-open"`, `2`, `-1`, `true`, `""`, `"open`} {
		var m engine.Model
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("Unmarshal(%s) accepted as %v", bad, m)
		}
	}

	st := []engine.Stage{{Duration: 90 * time.Second, Target: 200}, {Duration: 1500 * time.Millisecond, Target: 0.5}}
	b, err := json.Marshal(st)
	if err != nil || string(b) != `[{"duration":"1m30s","target":200},{"duration":"1.5s","target":0.5}]` {
		t.Fatalf("Marshal(stages) = %s, %v", b, err)
	}
	for _, in := range []string{string(b), `[{"Duration":90000000000,"Target":200},{"Duration":1500000000,"Target":0.5}]`} {
		var back []engine.Stage
		if err := json.Unmarshal([]byte(in), &back); err != nil || len(back) != 2 || back[0] != st[0] || back[1] != st[1] {
			t.Errorf("Unmarshal(%s) = %v, %v", in, back, err)
		}
	}
	for _, bad := range []string{`[{"duration":"fast","target":1}]`, `[{"duration":true,"target":1}]`, `[{"duration":"1s","target":"x"}]`, `[5]`} {
		var back []engine.Stage
		err := json.Unmarshal([]byte(bad), &back)
		if err == nil {
			t.Errorf("Unmarshal(%s) accepted as %v", bad, back)
		} else if strings.Contains(bad, "fast") && !strings.Contains(err.Error(), `"fast"`) {
			t.Errorf("error %q does not name the bad duration", err)
		}
	}
	var d engine.Duration
	if err := json.Unmarshal([]byte(` "2m" `), &d); err != nil || time.Duration(d) != 2*time.Minute {
		t.Errorf("Duration from \"2m\": %v, %v", time.Duration(d), err)
	}
	if err := json.Unmarshal([]byte(`3000000000`), &d); err != nil || time.Duration(d) != 3*time.Second {
		t.Errorf("Duration from nanoseconds: %v, %v", time.Duration(d), err)
	}
	if b, _ := json.Marshal(engine.Duration(20 * time.Second)); string(b) != `"20s"` {
		t.Errorf("Marshal(Duration 20s) = %s", b)
	}
}
