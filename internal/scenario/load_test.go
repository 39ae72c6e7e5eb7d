package scenario_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/feeder"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testEnv is the environment the fixtures see.
func testEnv(name string) string {
	return map[string]string{"PASSWORD": "secret", "RUN_ID": "run-1"}[name]
}

// TestErrorMessages loads every file in testdata/errors and compares the
// problems it reports with the golden file beside it.
func TestErrorMessages(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	line := regexp.MustCompile(`^testdata/errors/[a-z_]+\.yaml:\d+:\d+: \S`)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := scenario.LoadFile(file, scenario.Options{Getenv: testEnv})
			if err == nil {
				t.Fatal("loaded without an error")
			}
			if !errors.Is(err, scenario.ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var probs scenario.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("want Problems, got %T", err)
			}
			for _, p := range probs {
				var pe *scenario.Error
				if !errors.As(p, &pe) || pe.Line < 1 || pe.Col < 1 {
					t.Errorf("problem without a position: %v", p)
				}
			}
			got := err.Error() + "\n"
			for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
				if !line.MatchString(l) {
					t.Errorf("not file:line:col: message: %q", l)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("messages differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestValidFiles loads the valid fixtures; each must also compile.
func TestValidFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			p, err := scenario.LoadFile(file, scenario.Options{Getenv: testEnv})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("validating a loaded plan again: %v", err)
			}
			if _, err := workload.Compile(p); err != nil {
				t.Errorf("compiling: %v", err)
			}
		})
	}
}

func TestLoadShop(t *testing.T) {
	p, err := scenario.LoadFile("testdata/valid/shop.yaml", scenario.Options{Getenv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "shop" || p.Target != "http://127.0.0.1:8080" || p.Timeout != 5*time.Second {
		t.Errorf("name %q target %q timeout %v", p.Name, p.Target, p.Timeout)
	}
	if l := p.Load; l.Model != engine.Closed || l.VUs != 20 || l.Duration != time.Minute {
		t.Errorf("load %+v", l)
	}
	if len(p.Headers) != 1 || p.Headers[0] != (scenario.Header{Name: "Accept", Value: "application/json"}) {
		t.Errorf("default headers %+v", p.Headers)
	}
	d := p.Data[0]
	if d.Name != "users" || d.Mode != feeder.Unique || d.Per != scenario.PerVU || d.OnExhausted != feeder.Stop || len(d.Rows) != 2 {
		t.Errorf("data %+v", d)
	}
	if p.Env["PASSWORD"] != "secret" {
		t.Errorf("env %v", p.Env)
	}
	login := p.Setup[0]
	if login.Name != "login" || login.Method != "POST" || login.URL != "/login" ||
		string(login.JSON) != `{"user":"{{users.name}}","password":"{{env.PASSWORD}}"}` ||
		login.Extract[0] != (scenario.Extract{Var: "token", From: "json", Expr: "access_token"}) {
		t.Errorf("setup step %+v", login)
	}
	browse, buy := p.Flows[0], p.Flows[1]
	if browse.Name != "browse" || browse.Weight != 3 || buy.Weight != 1 || len(browse.Steps) != 2 {
		t.Errorf("flows %+v", p.Flows)
	}
	todos := browse.Steps[0]
	if todos.Name != "list todos" || todos.URL != "/todos?user_id={{vu.id}}" ||
		len(todos.Check.Status) != 1 || todos.Check.BodyContains[0] != "items" ||
		todos.Check.JSON[0].Path != "items.#" || string(todos.Check.JSON[0].Value) != "3" {
		t.Errorf("list todos %+v", todos)
	}
	if th := browse.Steps[1]; !th.IsThink() || th.Think != time.Second || th.ThinkMax != 3*time.Second {
		t.Errorf("think %+v", th)
	}
	if sale := buy.Steps[0]; sale.Name != "/sales" || sale.Check.MaxLatency != 500*time.Millisecond ||
		strings.Join(sale.Check.Status, ",") != "200,201" {
		t.Errorf("buy step %+v", sale)
	}
	if len(p.Thresholds) != 3 {
		t.Errorf("thresholds %v", p.Thresholds)
	}
}

func TestThinkDurations(t *testing.T) {
	cases := []struct {
		name, in   string
		lo, hi     time.Duration
		wantErrSub string
	}{
		{name: "fixed", in: "1s", lo: time.Second},
		{name: "range", in: "1s..3s", lo: time.Second, hi: 3 * time.Second},
		{name: "spaces", in: "500ms .. 1.5s", lo: 500 * time.Millisecond, hi: 1500 * time.Millisecond},
		{name: "backwards", in: "3s..1s", wantErrSub: "ends before it starts"},
		{name: "no unit", in: "3", wantErrSub: "`think` must be a duration like 1s or a range like 1s..3s"},
		{name: "open range", in: "1s..", wantErrSub: "`think` must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "target: http://x\nflows:\n  - steps:\n      - get: /\n      - think: \"" + c.in + "\"\n"
			p, err := scenario.Parse("t.yaml", []byte(src), scenario.Options{})
			if c.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErrSub) {
					t.Fatalf("error %v, want it to contain %q", err, c.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := p.Flows[0].Steps[1]
			if s.Think != c.lo || s.ThinkMax != c.hi {
				t.Errorf("think %v..%v, want %v..%v", s.Think, s.ThinkMax, c.lo, c.hi)
			}
		})
	}
}

func TestOverridesWinOverTheFile(t *testing.T) {
	rate, vus, dur, iters := 50.0, 3, 5*time.Second, int64(7)
	target := "http://127.0.0.1:9999"
	cases := []struct {
		name  string
		o     scenario.Overrides
		check func(t *testing.T, p scenario.Plan)
	}{
		{"rate switches to the open model", scenario.Overrides{Rate: &rate}, func(t *testing.T, p scenario.Plan) {
			if p.Load.Model != engine.Open || p.Load.Rate != 50 || p.Load.VUs != 0 {
				t.Errorf("load %+v", p.Load)
			}
		}},
		{"vus and duration", scenario.Overrides{VUs: &vus, Duration: &dur}, func(t *testing.T, p scenario.Plan) {
			if p.Load.Model != engine.Closed || p.Load.VUs != 3 || p.Load.Duration != dur {
				t.Errorf("load %+v", p.Load)
			}
		}},
		{"requests budget", scenario.Overrides{Iterations: &iters}, func(t *testing.T, p scenario.Plan) {
			if p.Load.Iterations != 7 || p.Load.VUs != 20 {
				t.Errorf("load %+v", p.Load)
			}
		}},
		{"target and headers", scenario.Overrides{Target: &target, Headers: []scenario.Header{{Name: "accept", Value: "text/{{plain}}"}, {Name: "X-Extra", Value: "1"}}}, func(t *testing.T, p scenario.Plan) {
			if p.Target != target {
				t.Errorf("target %q", p.Target)
			}
			if len(p.Headers) != 2 || p.Headers[0].Name != "accept" || p.Headers[0].Value != `text/{{"{{"}}plain}}` || p.Headers[1].Name != "X-Extra" {
				t.Errorf("headers %+v (flag headers replace same-named defaults, and are literal)", p.Headers)
			}
		}},
		{"thresholds are added", scenario.Overrides{Thresholds: []string{"p99<1s"}}, func(t *testing.T, p scenario.Plan) {
			if len(p.Thresholds) != 4 || p.Thresholds[3] != "p99<1s" {
				t.Errorf("thresholds %v", p.Thresholds)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := scenario.LoadFile("testdata/valid/shop.yaml", scenario.Options{Getenv: testEnv, Overrides: c.o})
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, p)
		})
	}
	// A flag that makes the file invalid is reported like any problem.
	bad := "ftp://nowhere"
	_, err := scenario.LoadFile("testdata/valid/shop.yaml", scenario.Options{Getenv: testEnv, Overrides: scenario.Overrides{Target: &bad}})
	if err == nil || !strings.Contains(err.Error(), `target "ftp://nowhere": want an http:// or https:// URL`) {
		t.Errorf("bad target override: %v", err)
	}
}

func TestDataFilesAreRelativeToTheScenario(t *testing.T) {
	// Parse with Dir, as LoadFile does, and with an injected ReadFile, as a
	// server holding the files elsewhere would.
	src := []byte("target: http://x\ndata:\n  u: {csv: users.csv}\nflows:\n  - steps: [{get: \"/{{u.name}}\"}]\n")
	p, err := scenario.Parse("inline.yaml", src, scenario.Options{Dir: "testdata/valid"})
	if err != nil || len(p.Data[0].Rows) != 2 {
		t.Fatalf("%v %+v", err, p.Data)
	}
	var asked string
	_, err = scenario.Parse("inline.yaml", src, scenario.Options{Dir: "/scenarios", ReadFile: func(name string) ([]byte, error) {
		asked = name
		return []byte("name\nx\n"), nil
	}})
	if err != nil || asked != filepath.Join("/scenarios", "users.csv") {
		t.Errorf("ReadFile asked for %q: %v", asked, err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := scenario.LoadFile("testdata/no-such.yaml", scenario.Options{})
	if !errors.Is(err, scenario.ErrInvalid) || err.Error() != "testdata/no-such.yaml: reading: no such file or directory" {
		t.Errorf("got %v", err)
	}
}

func TestEnvValuesAreNotSerialised(t *testing.T) {
	p, err := scenario.LoadFile("testdata/valid/shop.yaml", scenario.Options{Getenv: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	b, err := jsonMarshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret\"") && strings.Contains(string(b), `"env"`) {
		t.Errorf("the plan's JSON holds env values: %s", b)
	}
}
