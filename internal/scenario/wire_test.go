package scenario_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
)

// A plan that travels arrives whole: rows, file bodies, env values and
// monitor tokens, none of which a stored plan's JSON holds.
func TestWirePlanArrivesWhole(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("users.csv", "name,pass\nann,a1\nbob,b2\n")
	write("body.bin", "\x00raw\xff")
	file := write("s.yaml", `
target: http://127.0.0.1:9
load: {rate: 10, duration: 2s}
data:
  users: {csv: users.csv, mode: unique}
monitors:
  - {name: api, url: "http://127.0.0.1:9/metrics", token: "{{env.MON_TOKEN}}"}
flows:
  - steps:
      - post: /login
        headers: {X-Key: "{{env.API_KEY}}"}
        json: {user: "{{users.name}}"}
      - put: /upload
        body_file: body.bin
`)
	env := map[string]string{"API_KEY": "k-123", "MON_TOKEN": "t-456", "UNUSED": "x"}
	p, err := scenario.LoadFile(file, scenario.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := scenario.EncodeWire(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "UNUSED") {
		t.Errorf("the wire form carries an environment variable the plan does not read: %s", b)
	}
	got, err := scenario.DecodeWire(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Env, map[string]string{"API_KEY": "k-123"}) { // the token travels as the monitor's
		t.Errorf("env = %v", got.Env)
	}
	if got.Monitors[0].Token != "t-456" {
		t.Errorf("monitor token = %q, want t-456", got.Monitors[0].Token)
	}
	if rows := got.Data[0].Rows; !reflect.DeepEqual(rows, [][]string{{"ann", "a1"}, {"bob", "b2"}}) {
		t.Errorf("rows = %v", rows)
	}
	if body := got.Flows[0].Steps[1].RawBody; string(body) != "\x00raw\xff" {
		t.Errorf("file body = %q", body)
	}
	// The same plan, as the sender had it.
	pj, _ := json.Marshal(p)
	gj, _ := json.Marshal(got)
	if string(pj) != string(gj) {
		t.Errorf("plan changed on the way:\nsent %s\ngot  %s", pj, gj)
	}
}

// The receiver trusts nothing: a plan that would not load as a file is
// refused with the problem under its field, an env value that did not come
// with the plan is named, and unknown or oversized input is refused.
func TestDecodeWireRefuses(t *testing.T) {
	valid := `{"name":"q","target":"http://127.0.0.1:9","load":{"model":"open","rate":10,"duration":"2s"},"flows":[{"name":"f","weight":1,"steps":[{"method":"GET","url":"/x"}]}]}`
	if _, err := scenario.DecodeWire([]byte(`{"plan":` + valid + `}`)); err != nil {
		t.Fatalf("a valid plan was refused: %v", err)
	}
	for _, c := range []struct{ name, in, want string }{
		{"no plan", `{}`, "plan: missing"},
		{"null plan", `{"plan":null}`, "plan: missing"},
		{"unknown field", `{"plan":` + valid + `,"extra":1}`, `unknown field "extra"`},
		{"not json", `{"plan":`, "plan: "},
		{"bad load", `{"plan":` + strings.Replace(valid, `"rate":10`, `"rate":-5`, 1) + `}`, "rate must be positive"},
		{"env not sent", `{"plan":` + strings.Replace(valid, `"/x"`, `"/x?k={{env.KEY}}"`, 1) + `}`, "`KEY` in \"/x?k={{env.KEY}}\" is not set"},
		{"too large", `{"plan":"` + strings.Repeat("a", scenario.MaxWirePlan) + `"}`, "over the limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := scenario.DecodeWire([]byte(c.in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
}

// The limit on a plan that travels holds at its edge on both ends: a plan
// of exactly MaxWirePlan bytes is sent and received, one byte more is
// refused by the sender (before anything is sent) and by the receiver.
func TestWirePlanLimitAtItsEdge(t *testing.T) {
	valid := `{"name":"q","target":"http://127.0.0.1:9","load":{"model":"open","rate":10,"duration":"2s"},"flows":[{"name":"f","weight":1,"steps":[{"method":"GET","url":"/x"}]}]}`
	receive := func(n int) error {
		plan := "{" + strings.Repeat(" ", n-len(valid)) + valid[1:] // JSON allows the padding
		_, err := scenario.DecodeWire([]byte(`{"plan":` + plan + `}`))
		return err
	}
	if err := receive(scenario.MaxWirePlan); err != nil {
		t.Errorf("a plan of exactly %d bytes was refused: %v", scenario.MaxWirePlan, err)
	}
	if err := receive(scenario.MaxWirePlan + 1); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("a plan of %d bytes: %v, want it refused as over the limit", scenario.MaxWirePlan+1, err)
	}

	var p scenario.Plan
	if err := json.Unmarshal([]byte(valid), &p); err != nil {
		t.Fatal(err)
	}
	base, _ := json.Marshal(p)
	send := func(n int) error {
		q := p
		q.Name = strings.Repeat("a", n-len(base)+len(p.Name))
		if b, _ := json.Marshal(q); len(b) != n {
			t.Fatalf("built a plan of %d bytes, want %d", len(b), n)
		}
		_, err := scenario.ToWire(q)
		return err
	}
	if err := send(scenario.MaxWirePlan); err != nil {
		t.Errorf("sending a plan of exactly %d bytes: %v", scenario.MaxWirePlan, err)
	}
	if err := send(scenario.MaxWirePlan + 1); err == nil || !strings.Contains(err.Error(), "at most 32 MiB travel") {
		t.Errorf("sending a plan of %d bytes: %v, want it refused", scenario.MaxWirePlan+1, err)
	}
}
