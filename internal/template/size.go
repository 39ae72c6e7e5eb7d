package template

import (
	"strings"
	"unicode/utf8"
)

// A Bound returns the most bytes the value of variable name can take once
// written under esc. MaxSize asks it for every variable that is not built
// in; see Grown and EscapedLen for writing one.
type Bound func(name string, esc Escape) int64

// MaxSize returns the most bytes t can render to under esc: its literal
// text, plus each expression at its longest (randString N is N bytes,
// {{vu.id}} and {{iteration}} 20, {{uuid}} 36, …), plus for every variable
// what bound says. It lets the loader refuse a template that would expand
// a small file into huge requests before anything is sent.
func (t *Template) MaxSize(esc Escape, bound Bound) int64 {
	var n int64
	for _, p := range t.Parts {
		e := p.Expr
		switch {
		case e == nil:
			n += int64(len(p.Lit))
		case e.Name == "":
			n += int64(len(e.Str)) // literal text, never escaped
		case e.Func:
			n += funcs[e.Name].sizeOf(e.Args).under(esc)
		case IsBuiltin(e.Name):
			n += safeJSON(maxIntLen).under(esc)
		case bound != nil:
			n += bound(e.Name, esc)
		}
	}
	return n
}

// maxIntLen is the longest int64 in decimal, with its sign.
const maxIntLen = 20

// size is the longest output of a generator and what escaping can do to it.
type size struct {
	n int64
	// safe: the output is letters, digits and '-' only, which no escape
	// changes.
	safe bool
	// json: the output is a JSON literal (a number), which JSONValue writes
	// without quotes.
	json bool
}

func safeText(n int64) size { return size{n: n, safe: true} }
func safeJSON(n int64) size { return size{n: n, safe: true, json: true} }

func (s size) under(esc Escape) int64 {
	if !s.safe {
		return Grown(s.n, esc)
	}
	if esc == JSONValue && !s.json {
		return s.n + 2 // the quotes
	}
	return s.n
}

// Grown returns the most bytes a text value of n bytes, of any content,
// takes under esc: query escaping writes a byte as up to 3 (%XX), JSON as
// up to 6 (\u00XX), plus the quotes of a JSON value.
func Grown(n int64, esc Escape) int64 {
	switch esc {
	case Query:
		return 3 * n
	case JSONString:
		return 6 * n
	case JSONValue:
		return 6*n + 2
	}
	return n
}

// EscapedLen returns how many bytes v takes when written under esc, as
// Compiled.Append writes it.
func EscapedLen(v Value, esc Escape) int64 {
	switch esc {
	case Query:
		return queryLen(v.S)
	case JSONString:
		return jsonStringLen(v.S)
	case JSONValue:
		if v.JSON {
			return int64(len(v.S))
		}
		return jsonStringLen(v.S) + 2
	}
	return int64(len(v.S))
}

// queryLen is len(url.QueryEscape(s)), without building it.
func queryLen(s string) int64 {
	n := int64(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '~' || c == ' ':
		default:
			n += 2
		}
	}
	return n
}

// jsonStringLen is len(AppendJSONString(nil, s)), without building it.
func jsonStringLen(s string) int64 {
	n := int64(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != '"' && c != '\\':
			case c == '"', c == '\\', c == '\n', c == '\r', c == '\t':
				n++ // \" \\ \n \r \t
			default:
				n += 5 // \u00XX
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 5 // \ufffd for one byte
		case r == '\u2028' || r == '\u2029':
			n += 3 // \u2028 for three bytes
		}
		i += size
	}
	return n
}

// maxFormat bounds the layout of {{now "…"}}.
const maxFormat = 64

// formatSize bounds what time.Format writes for layout: no layout element
// writes more than twice its own length ("1" → "12", "Monday" →
// "Wednesday"), except a zone abbreviation (MST), counted at 32 bytes.
func formatSize(layout string) int64 {
	return 2*int64(len(layout)) + 32*int64(strings.Count(layout, "MST"))
}
