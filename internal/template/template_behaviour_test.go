package template_test

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/template"
)

func renderRaw(t *testing.T, src string, st *template.State) string {
	t.Helper()
	tpl, err := template.Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	c, err := template.Compile(tpl, bindAll, template.Raw)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	s, missing := c.Render(st)
	if missing != "" {
		t.Fatalf("%q: missing %q", src, missing)
	}
	return s
}

// The bytes of a uuid are random throughout: no part is constant, and
// neighbouring bytes do not repeat each other's bits.
func TestUUIDBytesAreIndependent(t *testing.T) {
	st := &template.State{Rand: rand.New(rand.NewPCG(3, 4))}
	const n = 400
	lastParts := map[string]bool{}
	shifted := 0
	for range n {
		u := renderRaw(t, "{{uuid}}", st)
		b, err := hex.DecodeString(strings.ReplaceAll(u, "-", ""))
		if err != nil || len(b) != 16 {
			t.Fatalf("uuid %q", u)
		}
		lastParts[u[24:]] = true
		// b[i+1] = b[i] shifted by one bit would mean overlapping windows
		// of the same random word.
		if b[1]&0x7f == b[0]>>1 || b[10]&0x7f == b[9]>>1 {
			shifted++
		}
	}
	if len(lastParts) < n-1 {
		t.Fatalf("the last 48 bits of %d uuids took %d values", n, len(lastParts))
	}
	if shifted > n/10 {
		t.Fatalf("%d of %d uuids have a byte that is its neighbour shifted by one bit", shifted, n)
	}
}

// randInt's range is inclusive at both ends, and MIN may equal MAX.
func TestRandIntBounds(t *testing.T) {
	st := &template.State{Rand: rand.New(rand.NewPCG(5, 6))}
	if got := renderRaw(t, "{{randInt 5 5}}", st); got != "5" {
		t.Fatalf("randInt 5 5 = %s", got)
	}
	seen := map[string]bool{}
	for range 300 {
		seen[renderRaw(t, "{{randInt -1 1}}", st)] = true
	}
	if len(seen) != 3 || !seen["-1"] || !seen["0"] || !seen["1"] {
		t.Fatalf("randInt -1 1 gave %v, want each of -1, 0, 1", seen)
	}
}

// A template of exactly MaxLen bytes parses; one byte more does not.
func TestTemplateMaxLen(t *testing.T) {
	src := strings.Repeat("a", template.MaxLen)
	if _, err := template.Parse(src); err != nil {
		t.Fatalf("a template of MaxLen bytes: %v", err)
	}
	if _, err := template.Parse(src + "a"); err == nil {
		t.Fatal("a template longer than MaxLen parsed")
	}
}

// Parts are literal text and expressions in source order, with no empty
// literal between two expressions or at either end; each expression knows
// its offset, so errors point at the right column.
func TestParsePartsAndOffsets(t *testing.T) {
	tpl, err := template.Parse("{{a}}{{b}}x{{c}}")
	if err != nil {
		t.Fatal(err)
	}
	var shape []string
	for _, p := range tpl.Parts {
		if p.Expr != nil {
			shape = append(shape, "{"+p.Expr.Name+"@"+strconv.Itoa(p.Expr.Off)+"}")
		} else {
			shape = append(shape, p.Lit)
		}
	}
	if got := strings.Join(shape, " "); got != "{a@0} {b@5} x {c@11}" {
		t.Fatalf("parts %q, want %q", got, "{a@0} {b@5} x {c@11}")
	}
	for _, tt := range []struct {
		src string
		off int
	}{
		{"ab{{x}}cd{{ }}", 9},
		{"{{x}}{{y}}{{1z}}", 10},
		{`{{"}}"}}--{{}}`, 10},
	} {
		_, err := template.Parse(tt.src)
		var te *template.Error
		if !errors.As(err, &te) || te.Off != tt.off {
			t.Errorf("Parse(%q) error %v, want one at offset %d", tt.src, err, tt.off)
		}
	}
}

// Names are letters, digits, '_' and '-', dotted, starting with a letter
// or '_': every letter of the alphabet counts, upper and lower case.
func TestVariableNames(t *testing.T) {
	for _, name := range []string{"a", "z", "A", "Z", "_x", "aZ", "Za", "m-n", "x9", "users.email", "a.b.c", "AZaz09"} {
		if got := renderRaw(t, "{{"+name+"}}", newState()); got != name {
			t.Errorf("{{%s}} rendered %q", name, got)
		}
	}
	for _, bad := range []string{"9a", "-a", "a..b", ".a", "a.", "a b c", "a$", "@"} {
		tpl, err := template.Parse("{{" + bad + "}}")
		if err == nil {
			_, err = template.Compile(tpl, bindAll, template.Raw)
		}
		if err == nil {
			t.Errorf("{{%s}} accepted as a name", bad)
		}
	}
}

// JSON string escaping leaves printable ASCII alone, from the space up,
// and escapes control characters, quotes and backslashes.
func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b", "a b"},
		{" !~", " !~"},
		{"\x1f", `\u001f`},
		{"\x00", `\u0000`},
		{"\t\n\r", `\t\n\r`},
		{`"\`, `\"\\`},
		{"é", "é"},
		{"\xff", `\ufffd`},
		{"\x80", `\ufffd`},
		{"\x7f", "\x7f"},
		{"\u2028", `\u2028`},
	}
	for _, tt := range tests {
		if got := string(template.AppendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendJSONString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// EscapedLen is exactly the length that rendering writes, under every
// escape, for text of every kind.
func TestEscapedLenIsTheRenderedLength(t *testing.T) {
	inputs := []string{"", "a b", " ", "~!*'()", "\x00\x1f\x7f", "\t\n\r\"\\", "é中😀", "\xff\xfe", "\x80", "\x7f", "\u2028\u2029", "a+b=c&d/e?f#g%h"}
	for _, esc := range []template.Escape{template.Raw, template.Query, template.JSONString, template.JSONValue} {
		for _, s := range inputs {
			for _, isJSON := range []bool{false, true} {
				v := template.Value{S: s, JSON: isJSON && s == ""}
				tpl, err := template.Parse("{{x}}")
				if err != nil {
					t.Fatal(err)
				}
				c, err := template.Compile(tpl, func(string) (template.Getter, error) {
					return func(*template.State) (template.Value, bool) { return v, true }, nil
				}, esc)
				if err != nil {
					t.Fatal(err)
				}
				out, _ := c.Append(nil, newState())
				if got := template.EscapedLen(v, esc); got != int64(len(out)) {
					t.Errorf("escape %v, %q: EscapedLen %d, rendered %d bytes (%q)", esc, s, got, len(out), out)
				}
			}
		}
	}
}

// {{now "LAYOUT"}} never renders longer than MaxSize says, for layouts
// whose elements grow the most (month and day names, zones).
func TestNowFitsItsMaxSize(t *testing.T) {
	for _, layout := range []string{"Jan", "January", "Mon", "Monday", "MST", "2006-01-02T15:04:05.000000000Z07:00 MST Monday January", "1 2 3 4 5", "pm PM"} {
		src := `{{now "` + layout + `"}}`
		tpl, err := template.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		got := renderRaw(t, src, newState())
		if max := tpl.MaxSize(template.Raw, nil); int64(len(got)) > max {
			t.Errorf("%s rendered %d bytes (%q), MaxSize %d", src, len(got), got, max)
		}
	}
}
