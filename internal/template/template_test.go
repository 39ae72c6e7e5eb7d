package template_test

import (
	"bufio"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/template"
)

// bindAll binds every variable to its own name, set, as text; names
// starting with "num" hold the number 42 and names starting with "missing"
// are never set.
func bindAll(name string) (template.Getter, error) {
	switch {
	case strings.HasPrefix(name, "missing"):
		return func(*template.State) (template.Value, bool) { return template.Value{}, false }, nil
	case strings.HasPrefix(name, "odd"):
		return func(*template.State) (template.Value, bool) { return template.Value{S: "say \"hi\"\n& more"}, true }, nil
	case strings.HasPrefix(name, "num"):
		return func(*template.State) (template.Value, bool) { return template.Value{S: "42", JSON: true}, true }, nil
	}
	return func(*template.State) (template.Value, bool) { return template.Value{S: name}, true }, nil
}

func newState() *template.State {
	return &template.State{VU: 7, Iter: 3, Rand: rand.New(rand.NewPCG(1, 2))}
}

func TestRender(t *testing.T) {
	cases := []struct {
		name, src string
		esc       template.Escape
		want      string
		missing   string
	}{
		{name: "literal", src: "/hello", want: "/hello"},
		{name: "variable", src: "Bearer {{token}}", want: "Bearer token"},
		{name: "spaces inside braces", src: "{{ users.email }}", want: "users.email"},
		{name: "builtins", src: "/todos?user_id={{vu.id}}&i={{iteration}}", want: "/todos?user_id=7&i=3"},
		{name: "string literal", src: `{{"{{"}}x}}`, want: "{{x}}"},
		{name: "stray closers are literal", src: `{"a":{"b":{}}}`, want: `{"a":{"b":{}}}`},
		{name: "query escape", src: "q={{odd}}", esc: template.Query, want: "q=say+%22hi%22%0A%26+more"},
		{name: "json string escape", src: `{{odd}}`, esc: template.JSONString, want: `say \"hi\"\n& more`},
		{name: "literal text is never escaped", src: `"{{odd}}"`, esc: template.JSONString, want: `"say \"hi\"\n& more"`},
		{name: "json value text", src: "{{name}}", esc: template.JSONValue, want: `"name"`},
		{name: "json value number", src: "{{num}}", esc: template.JSONValue, want: `42`},
		{name: "missing", src: "a {{missing_token}} b", want: "a ", missing: "missing_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tpl, err := template.Parse(c.src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.src, err)
			}
			comp, err := template.Compile(tpl, bindAll, c.esc)
			if err != nil {
				t.Fatal(err)
			}
			got, missing := comp.Append(nil, newState())
			if string(got) != c.want || missing != c.missing {
				t.Errorf("render %q = %q, missing %q; want %q, missing %q", c.src, got, missing, c.want, c.missing)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unclosed", "a {{token", "column 3: unclosed {{ (want }})"},
		{"empty", "{{ }}", "column 1: empty {{ }}"},
		{"unknown generator", "{{randInnt 1 2}}", "column 1: unknown generator `randInnt`; did you mean `randInt`?"},
		{"bad range", "{{randInt 5 1}}", "column 1: randInt: MIN 5 is greater than MAX 1 (usage: {{randInt MIN MAX}})"},
		{"arity", "{{uuid 1}}", "column 1: uuid: takes 0 arguments, got 1 (usage: {{uuid}})"},
		{"not a name", "{{1abc}}", `column 1: "1abc" is not a name (want a variable like token or users.email, or a generator like uuid)`},
		{"nested", "{{ {{x}} }}", "column 1: unclosed {{ (a new {{ starts before }})"},
		{"unterminated string", `{{"abc}}`, "column 1: unterminated string in {{ … }}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := template.Parse(c.src)
			if err == nil || err.Error() != c.want {
				t.Errorf("Parse(%q) error = %v, want %q", c.src, err, c.want)
			}
		})
	}
}

func TestGenerators(t *testing.T) {
	st := newState()
	render := func(src string) string {
		tpl, err := template.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		c, err := template.Compile(tpl, nil, template.Raw)
		if err != nil {
			t.Fatal(err)
		}
		s, missing := c.Render(st)
		if missing != "" {
			t.Fatalf("missing %q", missing)
		}
		return s
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		u := render("{{uuid}}")
		if !uuidRE.MatchString(u) || seen[u] {
			t.Fatalf("uuid %q: malformed or repeated", u)
		}
		seen[u] = true
	}
	hit := map[string]bool{}
	for range 200 {
		n := render("{{randInt 1 3}}")
		if n != "1" && n != "2" && n != "3" {
			t.Fatalf("randInt 1 3 = %s", n)
		}
		hit[n] = true
	}
	if len(hit) != 3 {
		t.Errorf("randInt 1 3 hit only %v in 200 draws", hit)
	}
	if s := render("{{randString 16}}"); len(s) != 16 {
		t.Errorf("randString 16 = %q", s)
	}
	if s := render("{{now}}"); len(s) < 13 {
		t.Errorf("now = %q, want Unix milliseconds", s)
	}
	if s := render(`{{now "rfc3339"}}`); !strings.Contains(s, "T") {
		t.Errorf("now rfc3339 = %q", s)
	}
}

func TestCompileReportsUnknownNames(t *testing.T) {
	tpl, _ := template.Parse("{{nope}}")
	if _, err := template.Compile(tpl, nil, template.Raw); err == nil {
		t.Fatal("want an error for an unbound variable")
	}
}

func TestJoinAndStatic(t *testing.T) {
	a, _ := template.Parse(`{"x":`)
	b, _ := template.Parse(`{{num}}`)
	ca, _ := template.Compile(a, nil, template.Raw)
	cb, _ := template.Compile(b, bindAll, template.JSONValue)
	if s, ok := ca.Static(); !ok || s != `{"x":` {
		t.Errorf("Static = %q, %v", s, ok)
	}
	j := template.Join(ca, cb, template.Literal("}"))
	if _, ok := j.Static(); ok {
		t.Error("a joined template with a variable is not static")
	}
	if s, _ := j.Render(newState()); s != `{"x":42}` {
		t.Errorf("Join rendered %q", s)
	}
}

func TestEscape(t *testing.T) {
	for _, s := range []string{"plain", "{{x}}", "a{{{{b", "{{{", `{"a":{{}}}`} {
		tpl, err := template.Parse(template.EscapeText(s))
		if err != nil {
			t.Fatalf("Parse(EscapeText(%q)): %v", s, err)
		}
		if got, ok := tpl.Static(); !ok || got != s {
			t.Errorf("EscapeText(%q) reads back as %q, %v", s, got, ok)
		}
	}
}

func seeds(f *testing.F) {
	file, err := os.Open("testdata/templates.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f.Add(sc.Text())
	}
}

// FuzzTemplate checks that Parse never panics, that a parsed template
// prints back to an equal one, and that rendering it never panics.
func FuzzTemplate(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := template.Parse(src)
		if err != nil {
			var te *template.Error
			if !asError(err, &te) || te.Off < 0 || te.Off > len(src) {
				t.Fatalf("Parse(%q): error %v has no valid offset", src, err)
			}
			return
		}
		again, err := template.Parse(tpl.String())
		if err != nil {
			t.Fatalf("Parse(String()) of %q = %q: %v", src, tpl.String(), err)
		}
		if again.String() != tpl.String() {
			t.Fatalf("round trip of %q: %q then %q", src, tpl.String(), again.String())
		}
		if s, ok := tpl.Static(); ok && !strings.Contains(src, "{{") && s != src {
			t.Fatalf("static %q rendered as %q", src, s)
		}
		for _, esc := range []template.Escape{template.Raw, template.Query, template.JSONString, template.JSONValue} {
			c, err := template.Compile(tpl, bindAll, esc)
			if err != nil {
				t.Fatal(err)
			}
			c.Append(nil, newState())
		}
	})
}

func asError(err error, target **template.Error) bool {
	te, ok := err.(*template.Error)
	if ok {
		*target = te
	}
	return ok
}
