package scenario_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
)

// TestWebSocketSteps: ws, send (text or JSON), expect, within and
// ws_close load into the Step fields the workload runs, with the names
// defaulted, and survive the plan's JSON form (a remote agent's).
func TestWebSocketSteps(t *testing.T) {
	p, err := scenario.LoadFile("testdata/valid/chat.yaml", scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := p.Flows[0].Steps
	if len(steps) != 5 {
		t.Fatalf("%d steps, want 5", len(steps))
	}
	join, say, ping, closer := steps[0], steps[1], steps[2], steps[4]
	for _, s := range []scenario.Step{join, say, ping, closer} {
		if !s.IsWS() || s.Method != scenario.MethodWS {
			t.Errorf("step %q: method %q, want a WebSocket step", s.Name, s.Method)
		}
	}
	if join.URL != "/ws/chat?room=lobby" || join.Within != 2*time.Second || len(join.Expect.JSON) != 1 || join.Send != "" || len(join.Extract) != 1 {
		t.Errorf("join: %+v", join)
	}
	if string(say.SendJSON) != `{"type":"say","text":"hello from {{vu.id}}","session":"{{session}}"}` || say.Send != "" {
		t.Errorf("say sends %s / %q", say.SendJSON, say.Send)
	}
	if len(say.Expect.BodyContains) != 1 || len(say.Expect.BodyMatches) != 1 || say.Within != 0 {
		t.Errorf("say expects %+v within %v", say.Expect, say.Within)
	}
	if ping.Send != "ping {{iteration}}" || ping.Within != 500*time.Millisecond {
		t.Errorf("ping: %+v", ping)
	}
	if !closer.WSClose || closer.Name != "ws_close" || closer.URL != "" {
		t.Errorf("ws_close step: %+v", closer)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back scenario.Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got := back.Flows[0].Steps
	if got[0].Within != join.Within || string(got[1].SendJSON) != string(say.SendJSON) || got[2].Send != ping.Send ||
		!got[4].WSClose || len(got[1].Expect.BodyMatches) != 1 {
		t.Errorf("after the plan's JSON form: %+v", got)
	}
}

// TestWebSocketURLs: a WebSocket step's URL may be ws://, wss://, or
// relative to an http:// or https:// target; anything else is refused.
func TestWebSocketURLs(t *testing.T) {
	for _, tc := range []struct {
		target, url string
		ok          bool
	}{
		{"http://127.0.0.1:1", "/ws", true},
		{"", "ws://127.0.0.1:1/ws", true},
		{"", "wss://example.com/ws", true},
		{"", "http://127.0.0.1:1/ws", true},
		{"", "/ws", false},
		{"", "ftp://example.com/ws", false},
		{"", "ws:///nohost", false},
		{"", `"{{host}}/ws"`, true}, // checked once rendered
	} {
		src := "vars: {host: ws://127.0.0.1:1}\nflows:\n  - steps:\n      - ws: " + tc.url + "\n"
		if tc.target != "" {
			src = "target: " + tc.target + "\n" + src
		}
		_, err := scenario.Parse("t.yaml", []byte(src), scenario.Options{})
		if (err == nil) != tc.ok {
			t.Errorf("target %q, ws %q: error %v, want ok=%v", tc.target, tc.url, err, tc.ok)
		}
	}
}
