package template

import (
	"fmt"
	"strconv"
	"strings"
)

// Template is a parsed template: literal text and expressions, in order.
type Template struct {
	Src   string
	Parts []Part
}

// Part is literal text (Expr == nil) or one {{…}} expression.
type Part struct {
	Lit  string
	Expr *Expr
}

// Expr is the inside of one {{…}}.
type Expr struct {
	Off  int    // byte offset of its "{{" in the source
	Name string // variable or generator name; "" for a string literal
	Func bool   // Name is a generator
	Args []Arg  // a generator's arguments
	Str  string // the string literal's value, when Name == ""
}

// Arg is a generator argument: an integer or a string.
type Arg struct {
	IsStr bool
	Int   int64
	Str   string
}

// Error is a template syntax error at byte offset Off of the source.
type Error struct {
	Off int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("column %d: %s", e.Off+1, e.Msg) }

// MaxLen bounds a template's source, so a hostile file cannot make the
// loader (or the fuzzer) spend unbounded time on one string.
const MaxLen = 1 << 20

// Parse parses src. Text outside {{…}} is literal; a lone "}}" is literal
// too. Write {{"{{"}} for literal braces.
func Parse(src string) (*Template, error) {
	if len(src) > MaxLen {
		return nil, &Error{0, fmt.Sprintf("template longer than %d bytes", MaxLen)}
	}
	t := &Template{Src: src}
	rest, off := src, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.Parts = append(t.Parts, Part{Lit: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.Parts = append(t.Parts, Part{Lit: rest[:i]})
		}
		start := off + i
		body, n, err := scanExpr(rest[i+2:], start)
		if err != nil {
			return nil, err
		}
		e, err := parseExpr(body, start)
		if err != nil {
			return nil, err
		}
		t.Parts = append(t.Parts, Part{Expr: e})
		adv := i + 2 + n
		rest, off = rest[adv:], off+adv
	}
}

// scanExpr finds the "}}" that closes an expression, skipping over quoted
// strings, and returns the inside and how many bytes it consumed with "}}".
func scanExpr(s string, start int) (string, int, error) {
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && c == '}' && i+1 < len(s) && s[i+1] == '}':
			return s[:i], i + 2, nil
		case !inStr && c == '{' && i+1 < len(s) && s[i+1] == '{':
			return "", 0, &Error{start, "unclosed {{ (a new {{ starts before }})"}
		}
	}
	if inStr {
		return "", 0, &Error{start, "unterminated string in {{ … }}"}
	}
	return "", 0, &Error{start, "unclosed {{ (want }})"}
}

func parseExpr(body string, off int) (*Expr, error) {
	toks, err := lex(body, off)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, &Error{off, "empty {{ }}"}
	}
	first := toks[0]
	if first.isStr {
		if len(toks) > 1 {
			return nil, &Error{off, "a string literal takes no arguments"}
		}
		return &Expr{Off: off, Str: first.str}, nil
	}
	if !isName(first.text) {
		return nil, &Error{off, fmt.Sprintf("%q is not a name (want a variable like token or users.email, or a generator like uuid)", first.text)}
	}
	e := &Expr{Off: off, Name: first.text}
	f, isFunc := funcs[e.Name]
	if !isFunc {
		if len(toks) > 1 {
			if hint := suggestion(e.Name, FuncNames()); hint != "" {
				return nil, &Error{off, fmt.Sprintf("unknown generator `%s`%s", e.Name, hint)}
			}
			return nil, &Error{off, fmt.Sprintf("unknown generator `%s` (generators: %s)", e.Name, strings.Join(FuncNames(), ", "))}
		}
		return e, nil
	}
	e.Func = true
	for _, tk := range toks[1:] {
		if tk.isStr {
			e.Args = append(e.Args, Arg{IsStr: true, Str: tk.str})
			continue
		}
		n, err := strconv.ParseInt(tk.text, 10, 64)
		if err != nil {
			return nil, &Error{off, fmt.Sprintf("%s: argument %q is not an integer or a quoted string", e.Name, tk.text)}
		}
		e.Args = append(e.Args, Arg{Int: n})
	}
	if err := f.check(e.Args); err != nil {
		return nil, &Error{off, fmt.Sprintf("%s: %v (usage: {{%s}})", e.Name, err, f.usage)}
	}
	return e, nil
}

type token struct {
	text  string
	str   string
	isStr bool
}

func lex(s string, off int) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, &Error{off, "unterminated string in {{ … }}"}
			}
			v, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, &Error{off, fmt.Sprintf("bad string %s: %v", s[i:j+1], err)}
			}
			out = append(out, token{str: v, isStr: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' && s[j] != '"' {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

// isName reports whether s is a dotted name: a letter or underscore, then
// letters, digits, '_' or '-', with '.' between segments.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, seg := range strings.Split(s, ".") {
		if seg == "" {
			return false
		}
		for j, r := range seg {
			letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
			digit := r >= '0' && r <= '9'
			if i == 0 && j == 0 && !letter {
				return false
			}
			if !letter && !digit && r != '-' {
				return false
			}
		}
	}
	return true
}

// IsName reports whether s can be written as a variable in a template.
func IsName(s string) bool { return isName(s) && !strings.Contains(s, ".") }

// Static reports whether t has no expressions (string literals excepted)
// and returns its text.
func (t *Template) Static() (string, bool) {
	var b strings.Builder
	for _, p := range t.Parts {
		switch {
		case p.Expr == nil:
			b.WriteString(p.Lit)
		case p.Expr.Name == "":
			b.WriteString(p.Expr.Str)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// Whole returns t's expression when t is exactly one expression with no
// literal text around it.
func (t *Template) Whole() *Expr {
	if len(t.Parts) == 1 && t.Parts[0].Expr != nil {
		return t.Parts[0].Expr
	}
	return nil
}

// Vars lists the variables t reads, each once, in order of appearance.
func (t *Template) Vars() []*Expr {
	var out []*Expr
	seen := map[string]bool{}
	for _, p := range t.Parts {
		if e := p.Expr; e != nil && e.Name != "" && !e.Func && !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, e)
		}
	}
	return out
}

// String returns t in canonical form; parsing it gives an equal template.
func (t *Template) String() string {
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Expr == nil {
			b.WriteString(p.Lit)
			continue
		}
		b.WriteString("{{")
		b.WriteString(p.Expr.String())
		b.WriteString("}}")
	}
	return b.String()
}

// String returns the expression as written inside {{ }}.
func (e *Expr) String() string {
	if e.Name == "" {
		return strconv.Quote(e.Str)
	}
	var b strings.Builder
	b.WriteString(e.Name)
	for _, a := range e.Args {
		b.WriteByte(' ')
		if a.IsStr {
			b.WriteString(strconv.Quote(a.Str))
		} else {
			b.WriteString(strconv.FormatInt(a.Int, 10))
		}
	}
	return b.String()
}

// EscapeText writes s so that Parse reads it back as literal text.
func EscapeText(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return strings.ReplaceAll(s, "{{", `{{"{{"}}`)
}
