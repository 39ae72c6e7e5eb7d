package template_test

import (
	"math"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/template"
)

var escapes = []template.Escape{template.Raw, template.Query, template.JSONString, template.JSONValue}

// TestMaxSizeBoundsEveryRendering renders templates many times under every
// escape, with the most awkward State, and checks that MaxSize is never
// below what came out — and is what the generators promise.
func TestMaxSizeBoundsEveryRendering(t *testing.T) {
	odd := "say \"hi\"\n& more \u2028 \xff\x01"
	bound := func(name string, esc template.Escape) int64 {
		return template.EscapedLen(template.Value{S: odd}, esc)
	}
	bind := func(string) (template.Getter, error) {
		return func(*template.State) (template.Value, bool) { return template.Value{S: odd}, true }, nil
	}
	srcs := []string{
		"plain text",
		"{{randString 4096}}{{randString 1}}",
		"{{uuid}}/{{randInt -9223372036854775808 9223372036854775807}}",
		`{{now}} {{now "unix"}} {{now "rfc3339"}} {{now "Monday, January 1 2006 15:04:05.000 MST -07:00"}}`,
		"{{vu.id}}:{{iteration}}",
		"{{x}} and {{x}}",
		`{{"{{"}} literal`,
	}
	for _, src := range srcs {
		tm, err := template.Parse(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		for _, esc := range escapes {
			max := tm.MaxSize(esc, bound)
			c, err := template.Compile(tm, bind, esc)
			if err != nil {
				t.Fatal(err)
			}
			st := &template.State{VU: math.MinInt64, Iter: math.MinInt64}
			for range 50 {
				out, _ := c.Append(nil, st)
				if int64(len(out)) > max {
					t.Fatalf("%q under escape %d: rendered %d bytes, MaxSize %d", src, esc, len(out), max)
				}
			}
		}
	}
}

func TestMaxSize(t *testing.T) {
	bound := func(name string, esc template.Escape) int64 { return template.Grown(100, esc) }
	cases := []struct {
		src  string
		esc  template.Escape
		want int64
	}{
		{"abc", template.Raw, 3},
		{strings.Repeat("{{randString 4096}}", 1000), template.Raw, 4096 * 1000},
		{"{{randString 10}}", template.JSONValue, 12},
		{"{{uuid}}", template.Query, 36},
		{"{{randInt 1 6}}", template.JSONValue, 20},
		{"{{vu.id}}", template.Raw, 20},
		{"a={{x}}", template.Raw, 102},
		{"a={{x}}", template.Query, 302},
		{"{{x}}", template.JSONString, 600},
		{"{{x}}", template.JSONValue, 602},
		{`{{now "rfc3339"}}`, template.Raw, 35},
		{`{{now "rfc3339"}}`, template.Query, 105},
	}
	for _, c := range cases {
		tm, err := template.Parse(c.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := tm.MaxSize(c.esc, bound); got != c.want {
			t.Errorf("%.40q under %d: MaxSize %d, want %d", c.src, c.esc, got, c.want)
		}
	}
}

// TestEscapedLen: the counts match what rendering writes.
func TestEscapedLen(t *testing.T) {
	for _, s := range []string{"", "abc", "a b+c&d=é", "\"\\\n\r\t\x00\x1f", "\u2028\u2029", "\xff\xfe ok", "日本語", strings.Repeat("%", 1000)} {
		for _, js := range []bool{false, true} {
			v := template.Value{S: s, JSON: js}
			bind := func(string) (template.Getter, error) {
				return func(*template.State) (template.Value, bool) { return v, true }, nil
			}
			tm, _ := template.Parse("{{x}}")
			for _, esc := range escapes {
				c, _ := template.Compile(tm, bind, esc)
				out, _ := c.Append(nil, &template.State{})
				if got := template.EscapedLen(v, esc); got != int64(len(out)) {
					t.Errorf("%q (json %v) under %d: EscapedLen %d, rendered %d", s, js, esc, got, len(out))
				}
				if g := template.Grown(int64(len(s)), esc); int64(len(out)) > g && !(esc == template.JSONValue && js) {
					t.Errorf("%q under %d: rendered %d, more than Grown %d", s, esc, len(out), g)
				}
			}
		}
	}
}

// TestGeneratorArgumentsAreCapped: a generator's argument cannot ask for
// unbounded output.
func TestGeneratorArgumentsAreCapped(t *testing.T) {
	for _, src := range []string{
		"{{randString 1e12}}",
		"{{randString 1000000000000}}",
		"{{randString 4097}}",
		"{{randString 0}}",
		`{{now "` + strings.Repeat("2006", 17) + `"}}`,
	} {
		if _, err := template.Parse(src); err == nil {
			t.Errorf("%.40q parsed", src)
		}
	}
	if _, err := template.Parse(`{{now "` + strings.Repeat("2006", 16) + `"}}`); err != nil {
		t.Errorf("a 64-byte format: %v", err)
	}
}
