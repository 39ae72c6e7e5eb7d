package scenario_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
)

func TestMonitorsKey(t *testing.T) {
	src := []byte(`target: http://127.0.0.1:8080
flows: [{steps: [{get: /hello}]}]
monitors:
  - {name: api, url: "http://127.0.0.1:9465/metrics", token: "{{env.PASSWORD}}", allow: [process_*]}
  - url: http://127.0.0.1:9100/metrics
    token: plain-secret
    allow: node_cpu_seconds_total
`)
	extra, err := scenario.ParseMonitorFlag("db=http://127.0.0.1:9187/metrics?x=1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := scenario.Parse("m.yaml", src, scenario.Options{Getenv: testEnv, Overrides: scenario.Overrides{Monitors: []scenario.Monitor{extra}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []scenario.Monitor{
		{Name: "api", URL: "http://127.0.0.1:9465/metrics", Token: "secret", Allow: []string{"process_*"}},
		{Name: "127.0.0.1:9100", URL: "http://127.0.0.1:9100/metrics", Token: "plain-secret", Allow: []string{"node_cpu_seconds_total"}},
		{Name: "db", URL: "http://127.0.0.1:9187/metrics?x=1"},
	}
	if len(p.Monitors) != len(want) {
		t.Fatalf("monitors = %+v", p.Monitors)
	}
	for i := range want {
		g, w := p.Monitors[i], want[i]
		if g.Name != w.Name || g.URL != w.URL || g.Token != w.Token || strings.Join(g.Allow, ",") != strings.Join(w.Allow, ",") {
			t.Errorf("monitor %d = %+v, want %+v", i, g, w)
		}
	}
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), "secret") {
		t.Errorf("a monitor token is in the plan's JSON: %s", b)
	}
	if !strings.Contains(string(b), `"monitors":[{"name":"api"`) {
		t.Errorf("monitors missing from the plan's JSON: %s", b)
	}
}

func TestParseMonitorFlag(t *testing.T) {
	for _, c := range []struct{ in, name, url, err string }{
		{in: "http://127.0.0.1:9100/metrics", url: "http://127.0.0.1:9100/metrics"},
		{in: "node=http://127.0.0.1:9100/metrics", name: "node", url: "http://127.0.0.1:9100/metrics"},
		{in: "http://h/metrics?a=b", url: "http://h/metrics?a=b"},
		{in: "=http://h/metrics", err: "the name before = is empty"},
		{in: "node=ftp://h/metrics", err: "want an http:// or https:// URL"},
		{in: "127.0.0.1:9100", err: "want an http:// or https:// URL"},
		{in: "a b=http://h/", err: "no spaces"},
	} {
		m, err := scenario.ParseMonitorFlag(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "--monitor "+c.in) {
				t.Errorf("%s: err %v, want one containing %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || m.Name != c.name || m.URL != c.url {
			t.Errorf("%s: %+v, %v", c.in, m, err)
		}
	}
}
