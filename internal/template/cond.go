package template

import (
	"fmt"
	"strconv"
	"strings"
)

// Cond is a parsed condition: the `if:` of a scenario step, a boolean
// expression over variables, parsed once and compiled once.
//
//	stock > 0
//	{{ stock > 0 && status == "open" }}
//	!(users.role == 'admin') || iteration >= 10
//	token                       (set, and not "", 0, false or null)
//
// Operands are variables (as in templates: token, users.name, vu.id,
// iteration, env.NAME), numbers, strings in double or single quotes, true,
// false and null. == and != compare numbers by value when both sides are
// numbers, text otherwise; <, <=, > and >= compare numbers and are false
// when a side is not one. A comparison that reads an unset variable is
// false, and so is the variable alone. One pair of braces around the whole
// condition is allowed and means the same.
type Cond struct {
	Src  string
	root *condNode
	vars []CondVar
}

// CondVar is a variable a condition reads, at byte offset Off of its source.
type CondVar struct {
	Off  int
	Name string
}

type condNode struct {
	op   string    // "||", "&&", "!", a comparison, or "" for a value
	l, r *condNode // operands (l only for "!")
	val  *operand  // op == ""
}

type operand struct {
	off  int
	name string // a variable; "" for a literal
	lit  Value
}

// maxCondDepth bounds the nesting of parentheses and "!" in a condition.
const maxCondDepth = 64

// ParseCond parses a condition. Errors are *Error, at the byte offset of
// the problem.
func ParseCond(src string) (*Cond, error) {
	if len(src) > MaxLen {
		return nil, &Error{0, fmt.Sprintf("condition longer than %d bytes", MaxLen)}
	}
	body, base := src, 0
	if t := strings.TrimSpace(src); strings.HasPrefix(t, "{{") {
		lead := strings.Index(src, "{{")
		if !strings.HasSuffix(t, "}}") {
			return nil, &Error{lead, "unclosed {{ (want }} at the end of the condition)"}
		}
		end := strings.LastIndex(src, "}}")
		body, base = src[lead+2:end], lead+2
	}
	toks, err := lexCond(body, base)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, &Error{base, "empty condition"}
	}
	p := &condParser{toks: toks, end: base + len(body)}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		tk := p.toks[p.i]
		return nil, &Error{tk.off, fmt.Sprintf("unexpected %s", tk.describe())}
	}
	return &Cond{Src: src, root: root, vars: p.vars}, nil
}

// Vars lists the variables the condition reads, in order of appearance.
func (c *Cond) Vars() []CondVar { return c.vars }

type condTok struct {
	off  int
	kind byte // 'o' operator or parenthesis, 'n' name, '#' number, 's' string
	text string
	str  string // a string's value
}

func (t condTok) describe() string {
	switch t.kind {
	case 's':
		return "string " + strconv.Quote(t.str)
	case '#':
		return "number " + t.text
	case 'n':
		return "`" + t.text + "`"
	}
	return "`" + t.text + "`"
}

// condDelims end a name or a number.
const condDelims = " \t\n\r()!=<>&|\"'"

func lexCond(s string, base int) ([]condTok, error) {
	var out []condTok
	for i := 0; i < len(s); {
		c := s[i]
		off := base + i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"), strings.HasPrefix(s[i:], "=="),
			strings.HasPrefix(s[i:], "!="), strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			out = append(out, condTok{off: off, kind: 'o', text: s[i : i+2]})
			i += 2
		case c == '(' || c == ')' || c == '!' || c == '<' || c == '>':
			out = append(out, condTok{off: off, kind: 'o', text: s[i : i+1]})
			i++
		case c == '=':
			return nil, &Error{off, "`=` is not a comparison: write `==`"}
		case c == '&' || c == '|':
			return nil, &Error{off, fmt.Sprintf("`%c` alone is not an operator: write `%c%c`", c, c, c)}
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && c == '"' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, &Error{off, "unterminated string"}
			}
			v := s[i+1 : j]
			if c == '"' {
				var err error
				if v, err = strconv.Unquote(s[i : j+1]); err != nil {
					return nil, &Error{off, fmt.Sprintf("bad string %s: %v", s[i:j+1], err)}
				}
			}
			out = append(out, condTok{off: off, kind: 's', text: s[i : j+1], str: v})
			i = j + 1
		case c == '-' || c == '+' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte(condDelims, s[j]) < 0 {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return nil, &Error{off, fmt.Sprintf("%q is not a number", s[i:j])}
			}
			out = append(out, condTok{off: off, kind: '#', text: s[i:j]})
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(condDelims, s[j]) < 0 {
				j++
			}
			name := s[i:j]
			if !isName(name) {
				return nil, &Error{off, fmt.Sprintf("%q is not a name (want a variable like stock or users.role, a number or a quoted string)", name)}
			}
			out = append(out, condTok{off: off, kind: 'n', text: name})
			i = j
		}
	}
	return out, nil
}

type condParser struct {
	toks []condTok
	i    int
	end  int // offset of the end of the condition, for "missing …" errors
	vars []CondVar
}

func (p *condParser) peek(text string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == 'o' && p.toks[p.i].text == text
}

func (p *condParser) at() int {
	if p.i < len(p.toks) {
		return p.toks[p.i].off
	}
	return p.end
}

func (p *condParser) or(depth int) (*condNode, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.peek("||") {
		p.i++
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &condNode{op: "||", l: l, r: r}
	}
	return l, nil
}

func (p *condParser) and(depth int) (*condNode, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek("&&") {
		p.i++
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = &condNode{op: "&&", l: l, r: r}
	}
	return l, nil
}

func (p *condParser) unary(depth int) (*condNode, error) {
	if depth > maxCondDepth {
		return nil, &Error{p.at(), fmt.Sprintf("condition nested more than %d deep", maxCondDepth)}
	}
	if p.peek("!") {
		p.i++
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &condNode{op: "!", l: x}, nil
	}
	if p.peek("(") {
		open := p.toks[p.i].off
		p.i++
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.peek(")") {
			return nil, &Error{open, "unclosed ( (want ))"}
		}
		p.i++
		return x, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) && p.toks[p.i].kind == 'o' {
		switch op := p.toks[p.i].text; op {
		case "==", "!=", "<", "<=", ">", ">=":
			p.i++
			r, err := p.operand()
			if err != nil {
				return nil, err
			}
			return &condNode{op: op, l: l, r: r}, nil
		}
	}
	return l, nil
}

func (p *condParser) operand() (*condNode, error) {
	if p.i >= len(p.toks) {
		return nil, &Error{p.end, "the condition ends where a value should be"}
	}
	tk := p.toks[p.i]
	p.i++
	o := &operand{off: tk.off}
	switch tk.kind {
	case 's':
		o.lit = Value{S: tk.str}
	case '#':
		o.lit = Value{S: tk.text, JSON: true}
	case 'n':
		switch tk.text {
		case "true", "false", "null":
			o.lit = Value{S: tk.text, JSON: true}
		default:
			if IsFunc(tk.text) {
				return nil, &Error{tk.off, fmt.Sprintf("generator `%s` cannot be used in a condition: compare variables and values", tk.text)}
			}
			o.name = tk.text
			p.vars = append(p.vars, CondVar{Off: tk.off, Name: tk.text})
		}
	default:
		return nil, &Error{tk.off, fmt.Sprintf("unexpected %s where a value should be", tk.describe())}
	}
	return &condNode{val: o}, nil
}

// CompiledCond is a condition bound to its variables, ready to evaluate.
type CompiledCond struct {
	eval func(st *State) bool
}

// CompileCond binds c's variables (vu.id and iteration are built in;
// others go to bind).
func CompileCond(c *Cond, bind Binder) (*CompiledCond, error) {
	f, err := compileNode(c.root, bind)
	if err != nil {
		return nil, err
	}
	return &CompiledCond{eval: f}, nil
}

// Eval reports whether the condition holds in st.
func (c *CompiledCond) Eval(st *State) bool { return c.eval(st) }

type getValue func(st *State) (Value, bool)

func compileOperand(o *operand, bind Binder) (getValue, error) {
	if o.name == "" {
		v := o.lit
		return func(*State) (Value, bool) { return v, true }, nil
	}
	g := builtin(o.name)
	if g == nil {
		if bind == nil {
			return nil, fmt.Errorf("unknown variable %q", o.name)
		}
		var err error
		if g, err = bind(o.name); err != nil {
			return nil, err
		}
	}
	return getValue(g), nil
}

func compileNode(n *condNode, bind Binder) (func(*State) bool, error) {
	switch n.op {
	case "":
		g, err := compileOperand(n.val, bind)
		if err != nil {
			return nil, err
		}
		return func(st *State) bool {
			v, ok := g(st)
			return ok && truthy(v)
		}, nil
	case "!":
		x, err := compileNode(n.l, bind)
		if err != nil {
			return nil, err
		}
		return func(st *State) bool { return !x(st) }, nil
	case "&&", "||":
		l, err := compileNode(n.l, bind)
		if err != nil {
			return nil, err
		}
		r, err := compileNode(n.r, bind)
		if err != nil {
			return nil, err
		}
		if n.op == "&&" {
			return func(st *State) bool { return l(st) && r(st) }, nil
		}
		return func(st *State) bool { return l(st) || r(st) }, nil
	}
	l, err := compileOperand(n.l.val, bind)
	if err != nil {
		return nil, err
	}
	r, err := compileOperand(n.r.val, bind)
	if err != nil {
		return nil, err
	}
	op := n.op
	return func(st *State) bool {
		a, ok := l(st)
		if !ok {
			return false
		}
		b, ok := r(st)
		if !ok {
			return false
		}
		return compare(op, a, b)
	}, nil
}

// truthy reports whether a value alone counts as true.
func truthy(v Value) bool {
	switch v.S {
	case "", "0", "false", "null":
		return false
	}
	return true
}

func number(v Value) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v.S), 64)
	return f, err == nil
}

func compare(op string, a, b Value) bool {
	x, okA := number(a)
	y, okB := number(b)
	if okA && okB {
		switch op {
		case "==":
			return x == y
		case "!=":
			return x != y
		case "<":
			return x < y
		case "<=":
			return x <= y
		case ">":
			return x > y
		case ">=":
			return x >= y
		}
	}
	switch op {
	case "==":
		return a.S == b.S
	case "!=":
		return a.S != b.S
	}
	return false
}
