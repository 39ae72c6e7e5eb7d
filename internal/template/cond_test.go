package template_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/template"
)

func TestCondEval(t *testing.T) {
	t.Parallel()
	vars := map[string]template.Value{
		"stock": {S: "3", JSON: true}, "zero": {S: "0", JSON: true}, "status": {S: "done"},
		"ten": {S: "10"}, "empty": {S: ""}, "no": {S: "false", JSON: true}, "users.role": {S: "admin"},
	}
	// "gone" is a variable that is not set.
	bind := func(name string) (template.Getter, error) {
		if name == "gone" {
			return func(*template.State) (template.Value, bool) { return template.Value{}, false }, nil
		}
		v, ok := vars[name]
		if !ok {
			return nil, fmt.Errorf("unknown variable %q", name)
		}
		return func(*template.State) (template.Value, bool) { return v, true }, nil
	}
	tests := []struct {
		src  string
		want bool
	}{
		{"stock > 0", true},
		{"stock > 3", false},
		{"stock >= 3", true},
		{"stock < 3.5", true},
		{"stock <= -1", false},
		{"{{ stock > 0 }}", true},
		{"  {{stock>0}}  ", true},
		{"ten > stock", true}, // numbers by value, not as text ("10" < "3")
		{"stock == 3.0", true},
		{"stock != 3", false},
		{`status == "done"`, true},
		{`status == 'done'`, true},
		{`status != "done"`, false},
		{`status > "a"`, false}, // ordering needs numbers
		{"stock", true},
		{"zero", false},
		{"empty", false},
		{"no", false},
		{"status", true},
		{"!zero", true},
		{"!!stock", true},
		{"gone", false},
		{"!gone", true},
		{"gone == 0", false},
		{"gone != 0", false}, // any comparison with an unset variable is false
		{"stock > 0 && status == 'done'", true},
		{"zero > 0 || status == 'done'", true},
		{"zero > 0 || stock > 5 && status == 'done'", false}, // && binds tighter
		{"(zero > 0 || stock > 0) && status == 'done'", true},
		{"!(users.role == 'admin') || iteration >= 10", false},
		{"vu.id == 7", true},
		{"true", true},
		{"null", false},
		{"iteration == 0", true},
	}
	for _, tt := range tests {
		c, err := template.ParseCond(tt.src)
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		cc, err := template.CompileCond(c, bind)
		if err != nil {
			t.Errorf("%q: compiling: %v", tt.src, err)
			continue
		}
		if got := cc.Eval(&template.State{VU: 7}); got != tt.want {
			t.Errorf("%q = %v, want %v", tt.src, got, tt.want)
		}
	}
}

// Errors name the column of the problem.
func TestCondErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"", "column 1: empty condition"},
		{"{{ }}", "column 3: empty condition"},
		{"stock = 1", "column 7: `=` is not a comparison: write `==`"},
		{"a & b", "column 3: `&` alone is not an operator: write `&&`"},
		{"stock >", "column 8: the condition ends where a value should be"},
		{"stock > > 1", "column 9: unexpected `>` where a value should be"},
		{"(stock > 1", "column 1: unclosed ( (want ))"},
		{"stock > 1)", "column 10: unexpected `)`"},
		{"stock 1", "column 7: unexpected number 1"},
		{`status == "done`, "column 11: unterminated string"},
		{"uuid == 1", "column 1: generator `uuid` cannot be used in a condition: compare variables and values"},
		{"2x > 1", `column 1: "2x" is not a number`},
		{"a..b", `column 1: "a..b" is not a name`},
		{"{{ stock > 0", "column 1: unclosed {{"},
		{strings.Repeat("(", 70) + "x" + strings.Repeat(")", 70), "column 66: condition nested more than 64 deep"},
	}
	for _, tt := range tests {
		_, err := template.ParseCond(tt.src)
		var te *template.Error
		if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %s", tt.src, err, tt.want)
		}
	}
	c, err := template.ParseCond("a > 1 && users.b == a")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.Vars()); got != "[{0 a} {9 users.b} {20 a}]" {
		t.Errorf("Vars() = %s", got)
	}
}

// Any input either parses into a condition that compiles and evaluates,
// or fails with an error at an offset inside it.
func FuzzCond(f *testing.F) {
	for _, s := range []string{"stock > 0", "{{ a == 'x' && !(b < -1.5e3) || c }}", "(((a)))", "a != \"q\\\"\"", "x >= 1 &&", "=", "{{", "!"} {
		f.Add(s)
	}
	bind := func(string) (template.Getter, error) {
		return func(*template.State) (template.Value, bool) { return template.Value{S: "1"}, true }, nil
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := template.ParseCond(src)
		if err != nil {
			var te *template.Error
			if !errors.As(err, &te) || te.Off < 0 || te.Off > len(src) {
				t.Fatalf("ParseCond(%q): error %v has no valid offset", src, err)
			}
			return
		}
		cc, err := template.CompileCond(c, bind)
		if err != nil {
			t.Fatalf("CompileCond(%q): %v", src, err)
		}
		cc.Eval(&template.State{})
		for _, v := range c.Vars() {
			if v.Off < 0 || v.Off >= len(src) || !strings.HasPrefix(src[v.Off:], v.Name) {
				t.Fatalf("ParseCond(%q): variable %+v is not at its offset", src, v)
			}
		}
	})
}
