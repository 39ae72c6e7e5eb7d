package template

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// Value is what a variable holds: text, or a JSON literal (a number, true,
// false, null, an object or an array) when JSON is set. Either way S is how
// it reads inside text; a JSON literal keeps its type when it fills a whole
// JSON value (see JSONValue).
type Value struct {
	S    string
	JSON bool
}

// State is what templates read while rendering: one virtual user's
// variables and data rows. Its owner fills it; templates only read it
// (generators draw from Rand, which is created when nil).
type State struct {
	Vars []Value   // per-VU variables, by slot
	Has  []bool    // Has[i] reports whether Vars[i] is set
	Rows [][]Value // the current row of each data source, by source
	VU   int       // {{vu.id}}
	Iter int64     // {{iteration}}
	Rand *rand.Rand
}

func (st *State) rng() *rand.Rand {
	if st.Rand == nil {
		st.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return st.Rand
}

// A Getter reads one variable from the state; false means it is not set.
type Getter func(st *State) (Value, bool)

// Binder returns the Getter of a variable that is not built in, or an
// error saying why the name is unknown. Compile calls it once per name.
type Binder func(name string) (Getter, error)

// Escape says how rendered values are written into the output. Literal
// text is always copied as is.
type Escape uint8

// Escapes.
const (
	Raw        Escape = iota // as is (URLs, headers, raw bodies)
	Query                    // URL query encoding (query and form values)
	JSONString               // inside a JSON string literal, without the quotes
	// JSONValue fills a whole JSON value: a JSON literal is written as is
	// (numbers stay numbers), text as a quoted JSON string.
	JSONValue
)

// Compiled is a template bound to its variables, ready to render.
type Compiled struct {
	segs []seg
}

type seg struct {
	lit  string
	get  Getter // nil for literal text
	name string // the variable's name, for Append's missing report
	esc  Escape
}

// Compile binds t's variables (vu.id and iteration are built in; others go
// to bind) and generators, and fixes how values are escaped.
func Compile(t *Template, bind Binder, esc Escape) (*Compiled, error) {
	c := &Compiled{}
	for _, p := range t.Parts {
		e := p.Expr
		switch {
		case e == nil:
			c.addLit(p.Lit)
		case e.Name == "":
			c.addLit(e.Str)
		case e.Func:
			c.segs = append(c.segs, seg{get: funcs[e.Name].make(e.Args), name: e.Name, esc: esc})
		default:
			g := builtin(e.Name)
			if g == nil {
				if bind == nil {
					return nil, fmt.Errorf("unknown variable %q", e.Name)
				}
				var err error
				if g, err = bind(e.Name); err != nil {
					return nil, err
				}
			}
			c.segs = append(c.segs, seg{get: g, name: e.Name, esc: esc})
		}
	}
	return c, nil
}

func builtin(name string) Getter {
	switch name {
	case VarVU:
		return func(st *State) (Value, bool) { return Value{S: strconv.Itoa(st.VU), JSON: true}, true }
	case VarIteration:
		return func(st *State) (Value, bool) { return Value{S: strconv.FormatInt(st.Iter, 10), JSON: true}, true }
	}
	return nil
}

// Literal returns a template that renders s.
func Literal(s string) *Compiled {
	c := &Compiled{}
	c.addLit(s)
	return c
}

// Join returns the templates rendered one after the other.
func Join(parts ...*Compiled) *Compiled {
	c := &Compiled{}
	for _, p := range parts {
		for _, s := range p.segs {
			if s.get == nil {
				c.addLit(s.lit)
			} else {
				c.segs = append(c.segs, s)
			}
		}
	}
	return c
}

func (c *Compiled) addLit(s string) {
	if s == "" {
		return
	}
	if n := len(c.segs); n > 0 && c.segs[n-1].get == nil {
		c.segs[n-1].lit += s
		return
	}
	c.segs = append(c.segs, seg{lit: s})
}

// Static returns the text of a template that has nothing to fill in.
func (c *Compiled) Static() (string, bool) {
	switch {
	case len(c.segs) == 0:
		return "", true
	case len(c.segs) == 1 && c.segs[0].get == nil:
		return c.segs[0].lit, true
	}
	return "", false
}

// Append renders the template onto dst. If a variable is not set it stops
// and returns that variable's name; the output is then incomplete.
func (c *Compiled) Append(dst []byte, st *State) ([]byte, string) {
	for i := range c.segs {
		s := &c.segs[i]
		if s.get == nil {
			dst = append(dst, s.lit...)
			continue
		}
		v, ok := s.get(st)
		if !ok {
			return dst, s.name
		}
		dst = appendValue(dst, v, s.esc)
	}
	return dst, ""
}

// Render renders the template to a string (see Append).
func (c *Compiled) Render(st *State) (string, string) {
	if s, ok := c.Static(); ok {
		return s, ""
	}
	b, missing := c.Append(nil, st)
	return string(b), missing
}

func appendValue(dst []byte, v Value, esc Escape) []byte {
	switch esc {
	case Query:
		return append(dst, url.QueryEscape(v.S)...)
	case JSONString:
		return AppendJSONString(dst, v.S)
	case JSONValue:
		if v.JSON {
			return append(dst, v.S...)
		}
		dst = append(dst, '"')
		dst = AppendJSONString(dst, v.S)
		return append(dst, '"')
	}
	return append(dst, v.S...)
}

// AppendJSONString appends s escaped for the inside of a JSON string.
// Invalid UTF-8 becomes U+FFFD, as encoding/json does.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
