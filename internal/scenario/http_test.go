package scenario_test

import (
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
)

// defaults.http sets the plan's HTTP version; --http2 (Overrides.HTTP)
// wins over it; the plan an agent receives keeps it; anything but 1 or 2
// is an error naming defaults.http.
func TestDefaultsHTTP(t *testing.T) {
	src := func(v string) string {
		d := ""
		if v != "" {
			d = "defaults: {http: " + v + "}\n"
		}
		return "target: http://127.0.0.1:1\n" + d + "flows:\n  - steps: [{get: /}]\n"
	}
	for _, c := range []struct {
		in   string
		want int
	}{{"", 0}, {"2", 2}, {"1", 1}, {"1.1", 1}, {`"1.1"`, 1}, {`"2"`, 2}, {"2.0", 2}, {"HTTP/2", 2}} {
		p, err := scenario.Parse("s.yaml", []byte(src(c.in)), scenario.Options{})
		if err != nil {
			t.Errorf("http: %s: %v", c.in, err)
			continue
		}
		if p.HTTP != c.want {
			t.Errorf("http: %s: %d, want %d", c.in, p.HTTP, c.want)
		}
	}
	for _, bad := range []string{"3", "0", "true", "fast", "[2]", "1.5"} {
		_, err := scenario.Parse("s.yaml", []byte(src(bad)), scenario.Options{})
		if err == nil || !strings.Contains(err.Error(), "`defaults.http` must be 1 (HTTP/1.1) or 2") || !strings.Contains(err.Error(), "s.yaml:2:") {
			t.Errorf("http: %s: error %v, want one naming defaults.http at its line", bad, err)
		}
	}
	p, err := scenario.Parse("s.yaml", []byte(src("1")), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	p.Apply(scenario.Overrides{HTTP: &two})
	if err := p.Validate(); err != nil || p.HTTP != 2 {
		t.Fatalf("--http2 over defaults.http: 1: %d, %v", p.HTTP, err)
	}
	b, err := scenario.EncodeWire(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := scenario.DecodeWire(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.HTTP != 2 {
		t.Errorf("the plan an agent receives has http %d, want 2", got.HTTP)
	}
	// A plan from elsewhere (the API, a wire plan) is checked too.
	got.HTTP = 3
	if err := got.Validate(); err == nil || !strings.Contains(err.Error(), "defaults.http") {
		t.Errorf("http 3: %v, want an error naming defaults.http", err)
	}
}
