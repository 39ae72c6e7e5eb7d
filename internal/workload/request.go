package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"net/url"
	"strings"

	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/template"
)

// request is a step's request, compiled: what is static is built once, the
// rest is rendered from templates for each request.
type request struct {
	method string

	url       *url.URL           // when the URL (with its query) is static
	urlTmpl   *template.Compiled // otherwise
	queryTmpl *template.Compiled // "a=1&b=2", appended after rendering the URL; nil when none
	base      *url.URL           // the plan's target, for relative URLs
	ws        bool               // a WebSocket step's: ws:// and wss:// URLs too

	header  nethttp.Header // when every header is static
	headers []headerTmpl   // otherwise

	body     []byte // when static
	bodyTmpl *template.Compiled
}

type headerTmpl struct {
	name string // canonical
	tmpl *template.Compiled
	// optional headers (the plan's defaults) are left out while one of
	// their variables is unset, instead of failing the request.
	optional bool
}

// compileRequest compiles the request of step s.
func (c *compiler) compileRequest(s *scenario.Step) (request, error) {
	r := request{method: s.Method, base: c.base, ws: s.Method == scenario.MethodWS}
	u, err := c.compile(s.URL, template.Raw)
	if err != nil {
		return r, fmt.Errorf("url: %w", err)
	}
	var query []*template.Compiled
	for i, q := range s.Query {
		if i > 0 {
			query = append(query, template.Literal("&"))
		}
		v, err := c.compile(q.Value, template.Query)
		if err != nil {
			return r, fmt.Errorf("query %s: %w", q.Name, err)
		}
		query = append(query, template.Literal(url.QueryEscape(q.Name)+"="), v)
	}
	if len(query) > 0 {
		r.queryTmpl = template.Join(query...)
	}
	if raw, ok := u.Static(); ok && (r.queryTmpl == nil || isStatic(r.queryTmpl)) {
		if r.queryTmpl != nil {
			q, _ := r.queryTmpl.Static()
			raw = appendQuery(raw, q)
			r.queryTmpl = nil
		}
		if r.url, err = r.resolve(raw); err != nil {
			return r, err
		}
	} else {
		r.urlTmpl = u
	}

	// Headers: the plan's defaults, then the step's, a later one replacing
	// an earlier one of the same name.
	type hv struct {
		value    string
		optional bool
	}
	var names []string
	values := map[string]hv{}
	set := func(name, value string, optional bool) {
		k := nethttp.CanonicalHeaderKey(name)
		if _, ok := values[k]; !ok {
			names = append(names, k)
		}
		values[k] = hv{value, optional}
	}
	for _, h := range c.plan.Headers {
		set(h.Name, h.Value, true)
	}
	for _, h := range s.Headers {
		set(h.Name, h.Value, false)
	}
	switch {
	case len(s.JSON) > 0:
		if _, ok := values["Content-Type"]; !ok {
			set("Content-Type", "application/json", false)
		}
		if r.bodyTmpl, err = c.compileJSON(s.JSON); err != nil {
			return r, fmt.Errorf("json body: %w", err)
		}
	case len(s.Form) > 0:
		if _, ok := values["Content-Type"]; !ok {
			set("Content-Type", "application/x-www-form-urlencoded", false)
		}
		var parts []*template.Compiled
		for i, f := range s.Form {
			if i > 0 {
				parts = append(parts, template.Literal("&"))
			}
			v, err := c.compile(f.Value, template.Query)
			if err != nil {
				return r, fmt.Errorf("form %s: %w", f.Name, err)
			}
			parts = append(parts, template.Literal(url.QueryEscape(f.Name)+"="), v)
		}
		r.bodyTmpl = template.Join(parts...)
	case len(s.RawBody) > 0:
		r.body = s.RawBody
	case s.Body != "":
		if r.bodyTmpl, err = c.compile(s.Body, template.Raw); err != nil {
			return r, fmt.Errorf("body: %w", err)
		}
	}
	if r.bodyTmpl != nil {
		if b, ok := r.bodyTmpl.Static(); ok {
			r.body, r.bodyTmpl = []byte(b), nil
		}
	}
	static := true
	for _, k := range names {
		t, err := c.compile(values[k].value, template.Raw)
		if err != nil {
			return r, fmt.Errorf("header %s: %w", k, err)
		}
		r.headers = append(r.headers, headerTmpl{name: k, tmpl: t, optional: values[k].optional})
		static = static && isStatic(t)
	}
	if static {
		r.header = nethttp.Header{}
		for _, h := range r.headers {
			v, _ := h.tmpl.Static()
			r.header[h.name] = []string{v}
		}
		r.headers = nil
	}
	return r, nil
}

func isStatic(t *template.Compiled) bool { _, ok := t.Static(); return ok }

func appendQuery(raw, q string) string {
	if q == "" {
		return raw
	}
	if strings.Contains(raw, "?") {
		return raw + "&" + q
	}
	return raw + "?" + q
}

// resolve parses a rendered URL, relative to the plan's target. A
// WebSocket step's may be ws:// or wss:// too; a relative one takes the
// target's host with ws:// for http:// and wss:// for https://.
func (r *request) resolve(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if !u.IsAbs() {
		if r.base == nil {
			return nil, fmt.Errorf("URL %q is relative and there is no target", raw)
		}
		u = r.base.ResolveReference(u)
	}
	if r.ws {
		switch u.Scheme {
		case "http":
			u.Scheme = "ws"
		case "https":
			u.Scheme = "wss"
		}
		if u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" {
			return nil, fmt.Errorf("URL %q: want a ws:// or wss:// URL with a host", raw)
		}
		return u, nil
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("URL %q: want an http:// or https:// URL with a host", raw)
	}
	return u, nil
}

// compileJSON compiles a JSON body whose strings are templates. A string
// that is exactly one {{…}} takes the type of its value (numbers stay
// numbers); other strings are filled in as text, JSON-escaped. Keys are
// literal.
func (c *compiler) compileJSON(doc []byte) (*template.Compiled, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var parts []*template.Compiled
	lit := func(s string) { parts = append(parts, template.Literal(s)) }
	var value func() error
	value = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			lit(string(v))
			first := true
			for dec.More() {
				if !first {
					lit(",")
				}
				first = false
				if v == '{' {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					lit(`"` + string(template.AppendJSONString(nil, k.(string))) + `":`)
				}
				if err := value(); err != nil {
					return err
				}
			}
			end, err := dec.Token()
			if err != nil {
				return err
			}
			lit(string(end.(json.Delim)))
		case string:
			t, err := template.Parse(v)
			if err != nil {
				return err
			}
			if t.Whole() != nil {
				ct, err := template.Compile(t, c.bind, template.JSONValue)
				if err != nil {
					return err
				}
				parts = append(parts, ct)
				return nil
			}
			ct, err := template.Compile(t, c.bind, template.JSONString)
			if err != nil {
				return err
			}
			lit(`"`)
			parts = append(parts, ct)
			lit(`"`)
		case json.Number:
			lit(v.String())
		case bool:
			lit(fmt.Sprint(v))
		case nil:
			lit("null")
		}
		return nil
	}
	if err := value(); err != nil {
		return nil, err
	}
	return template.Join(parts...), nil
}

// build fills req for one request by v. It returns the name of a variable
// that is not set, if any; the request must then not be sent.
func (r *request) build(v *vu, req *surgehttp.Request) (string, error) {
	req.Method = r.method
	req.Body = r.body
	if r.url != nil {
		req.URL = r.url
	} else {
		b, missing := r.urlTmpl.Append(v.buf[:0], &v.st)
		if missing != "" {
			return missing, nil
		}
		if r.queryTmpl != nil {
			sep := byte('?')
			if bytes.IndexByte(b, '?') >= 0 {
				sep = '&'
			}
			n := len(b)
			b = append(b, sep)
			if b, missing = r.queryTmpl.Append(b, &v.st); missing != "" {
				return missing, nil
			}
			if len(b) == n+1 {
				b = b[:n]
			}
		}
		v.buf = b
		u, err := r.resolve(string(b))
		if err != nil {
			return "", err
		}
		req.URL = u
	}
	if r.header != nil {
		req.Header = r.header
	} else {
		h := v.header
		clear(h)
		for _, ht := range r.headers {
			b, missing := ht.tmpl.Append(v.buf[:0], &v.st)
			v.buf = b
			if missing != "" {
				if ht.optional {
					continue
				}
				return missing, nil
			}
			h[ht.name] = []string{string(b)}
		}
		req.Header = h
	}
	if r.bodyTmpl != nil {
		// A fresh slice per request: the transport may still read the body
		// after the response arrived (a server that answers early).
		b, missing := r.bodyTmpl.Append(make([]byte, 0, 256), &v.st)
		if missing != "" {
			return missing, nil
		}
		req.Body = b
	}
	return "", nil
}
