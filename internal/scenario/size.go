package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/surgeload/surge/internal/feeder"
	"github.com/surgeload/surge/internal/template"
)

// Limits on what one request may grow to once its templates are filled
// in. A few bytes of template ({{randString 4096}}) can stand for
// kilobytes of request, so a small file could otherwise make every
// request hundreds of megabytes. Validate computes each request's largest
// possible size (every expression at its longest) and refuses one above
// these. docs/limits.md gives the reasons for each number.
const (
	// MaxBodySize bounds a templated body (body, json, form). A body_file
	// is sent as read and is not counted: it does not grow.
	MaxBodySize = 16 << 20
	// MaxURLSize bounds a step's URL with its query and the target.
	MaxURLSize = 128 << 10
	// MaxHeaderSize bounds one header value.
	MaxHeaderSize = 64 << 10
	// MaxHeadersSize bounds all of a request's headers together.
	MaxHeadersSize = 1 << 20
	// MaxExtractedValue is what a value extracted from a response (or
	// left in a variable by one) is counted as. It is not a limit on what
	// the target sends but an assumption of the size check: a longer
	// token or id makes its requests longer than checked.
	MaxExtractedValue = 8 << 10
)

// sizer computes the largest values templates may hold.
type sizer struct {
	p       *Plan
	extract map[string]bool
	columns map[[3]int]int64 // source, column, escape -> longest value
}

func (sc *scope) sizer() *sizer {
	if sc.sz == nil {
		sc.sz = &sizer{p: sc.p, extract: map[string]bool{}, columns: map[[3]int]int64{}}
		for name := range sc.extracted {
			sc.sz.extract[name] = true
		}
	}
	return sc.sz
}

// bound is the template.Bound of the plan's variables.
func (z *sizer) bound(name string, esc template.Escape) int64 {
	ref, err := z.p.Resolve(name)
	if err != nil {
		return 0 // reported as an unknown variable
	}
	switch ref.Kind {
	case RefEnv:
		return template.EscapedLen(template.Value{S: z.p.Env[ref.Name]}, esc)
	case RefData:
		key := [3]int{ref.Source, ref.Column, int(esc)}
		if n, ok := z.columns[key]; ok {
			return n
		}
		d := &z.p.Data[ref.Source]
		var n int64
		for _, row := range d.Rows {
			if ref.Column < len(row) {
				n = max(n, template.EscapedLen(cellValue(d, row[ref.Column]), esc))
			}
		}
		z.columns[key] = n
		return n
	case RefVar:
		var n int64
		for _, v := range z.p.Vars {
			if v.Name == name {
				n = template.EscapedLen(template.Value{S: v.Value, JSON: v.JSON}, esc)
			}
		}
		if z.extract[name] {
			n = max(n, template.Grown(MaxExtractedValue, esc))
		}
		return n
	}
	return 0
}

// cellValue is how a VU sees a data cell (as the workload reads it): text,
// or for a JSON source a JSON literal, strings unquoted.
func cellValue(d *DataSource, cell string) template.Value {
	if !d.JSON {
		return template.Value{S: cell}
	}
	return template.Value{S: feeder.Text(cell), JSON: len(cell) == 0 || cell[0] != '"'}
}

// of returns the largest size src renders to under esc (0 when it does not
// parse: that is reported already).
func (z *sizer) of(src string, esc template.Escape) int64 {
	t, err := template.Parse(src)
	if err != nil {
		return 0
	}
	return t.MaxSize(esc, z.bound)
}

// params is the size of "a=1&b=2" for params whose values are templates.
func (z *sizer) params(ps []Param) int64 {
	var n int64
	for _, q := range ps {
		n += 2 + int64(len(url.QueryEscape(q.Name))) + z.of(q.Value, template.Query)
	}
	return n
}

// jsonBody is the size of a JSON body whose strings are templates, as the
// workload writes it: a string that is exactly one {{…}} is a JSON value,
// others are JSON strings.
func (z *sizer) jsonBody(doc []byte) int64 {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var n int64
	var value func() error
	value = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			n += 2 // the brackets
			for dec.More() {
				n++ // a comma
				if v == '{' {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					n += template.EscapedLen(template.Value{S: k.(string)}, template.JSONValue) + 1
				}
				if err := value(); err != nil {
					return err
				}
			}
			_, err := dec.Token()
			return err
		case string:
			t, err := template.Parse(v)
			if err != nil {
				return nil
			}
			if t.Whole() != nil {
				n += t.MaxSize(template.JSONValue, z.bound)
			} else {
				n += 2 + t.MaxSize(template.JSONString, z.bound)
			}
		case json.Number:
			n += int64(len(v))
		default:
			n += 5 // true, false, null
		}
		return nil
	}
	_ = value() // invalid JSON is reported on its own
	return n
}

// checkSizes refuses a request step whose URL, headers or body can grow
// past the limits.
func (p *Plan) checkSizes(v *validator, sc *scope, path string, s *Step) {
	z := sc.sizer()
	if n := z.of(s.URL, template.Raw) + int64(len(p.Target)) + 1 + z.params(s.Query); n > MaxURLSize {
		got, limit := sizes(n, MaxURLSize)
		v.add(path+".url", "the URL can grow to %s once its {{…}} are filled in, more than the limit of %s", got, limit)
	}
	var all int64
	for i, h := range s.Headers {
		n := z.of(h.Value, template.Raw)
		if n > MaxHeaderSize {
			got, limit := sizes(n, MaxHeaderSize)
			v.add(fmt.Sprintf("%s.headers[%d]", path, i), "header %s can grow to %s once its {{…}} are filled in, more than the limit of %s", h.Name, got, limit)
		}
		all += int64(len(h.Name)) + 4 + n // ": " and CRLF
	}
	for _, h := range p.Headers {
		if !hasHeader(s.Headers, h.Name) {
			all += int64(len(h.Name)) + 4 + z.of(h.Value, template.Raw)
		}
	}
	if all > MaxHeadersSize {
		got, limit := sizes(all, MaxHeadersSize)
		v.add(path+".headers", "the request's headers can grow to %s once their {{…}} are filled in, more than the limit of %s", got, limit)
	}
	var body int64
	field := ".body"
	switch {
	case len(s.JSON) > 0:
		body, field = z.jsonBody(s.JSON), ".json"
	case len(s.Form) > 0:
		body, field = z.params(s.Form), ".form"
	case s.Body != "":
		body = z.of(s.Body, template.Raw)
	}
	if body > MaxBodySize {
		got, limit := sizes(body, MaxBodySize)
		v.add(path+field, "the body can grow to %s once its {{…}} are filled in, more than the limit of %s", got, limit)
	}
}

// checkDefaultHeader refuses a default header that can grow past the limit.
func (sc *scope) checkDefaultHeader(v *validator, path string, h Header) {
	if n := sc.sizer().of(h.Value, template.Raw); n > MaxHeaderSize {
		got, limit := sizes(n, MaxHeaderSize)
		v.add(path, "header %s can grow to %s once its {{…}} are filled in, more than the limit of %s", h.Name, got, limit)
	}
}

func hasHeader(hs []Header, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

// sizes writes n and the limit it is over, in bytes when rounding would
// hide the difference.
func sizes(n, limit int64) (string, string) {
	a, b := bytesize(n), bytesize(limit)
	if a == b {
		a, b = fmt.Sprintf("%d bytes", n), fmt.Sprintf("%d bytes", limit)
	}
	return a, b
}

// bytesize writes n bytes for people: 512 bytes, 64 KiB, 1.5 MiB.
func bytesize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KiB"
	case n < 1<<30:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MiB"
	}
	return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<30))) + " GiB"
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
