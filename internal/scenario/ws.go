package scenario

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/surgeload/surge/internal/template"
)

// wsKeys reads a step's `ws: URL` (a WebSocket step) and `ws_close: true`
// (a step that closes the VU's socket). method is the request key read so
// far ("" if none); it returns the step's.
func (l *loader) wsKeys(n *node, f map[string]*node, path, method string, s *Step) string {
	if v := f["ws"]; v != nil {
		if method != "" {
			l.errorf(keyOf(n, "ws"), path+".method", "step has both `%s` and `ws`: a step sends one request", method)
		} else {
			method = "ws"
			l.mark(path+".method", keyOf(n, "ws"))
			s.Method = MethodWS
			s.URL, _ = l.str(v, path+".url", "ws")
		}
	}
	if v := f["ws_close"]; v != nil {
		b, ok := l.boolean(v, path+".ws_close", "ws_close")
		switch {
		case !ok:
		case !b:
			l.errorf(v, path+".ws_close", "`ws_close` closes the VU's socket: write ws_close: true, or leave it out")
		case method != "":
			l.errorf(keyOf(n, "ws_close"), path+".ws_close", "`ws_close` closes the socket in a step of its own, not with `%s`", method)
		default:
			method = "ws_close"
			s.Method, s.WSClose = MethodWS, true
		}
	}
	return method
}

// validateWS checks WebSocket step s at path, defaults its name, and adds
// the variables it extracts to avail. It reports whether s sends a
// request (a ws_close step does not).
func (p *Plan) validateWS(v *validator, sc *scope, path string, s *Step, avail map[string]bool) bool {
	// Keys of an HTTP request that a WebSocket step has no use for.
	for _, k := range []struct {
		key string
		set bool
	}{
		{"query", len(s.Query) > 0}, {"form", len(s.Form) > 0}, {"body", s.Body != ""}, {"json", len(s.JSON) > 0},
		{"body_file", s.BodyFile != "" || len(s.RawBody) > 0}, {"check", !s.Check.IsZero()}, {"until", !s.Until.IsZero()},
		{"every", s.Every != 0}, {"soft_checks", s.SoftChecks}, {"message", len(s.Message) > 0}, {"metadata", len(s.Metadata) > 0},
	} {
		if k.set {
			v.add(path+"."+k.key, "`%s` does not apply to a WebSocket step: it sends `send` and waits for `expect`", k.key)
		}
	}
	if s.WSClose {
		if s.Name == "" {
			s.Name = "ws_close"
		}
		for _, k := range []struct {
			key string
			set bool
		}{
			{"url", s.URL != ""}, {"headers", len(s.Headers) > 0}, {"send", s.Send != "" || len(s.SendJSON) > 0},
			{"expect", !s.Expect.IsZero()}, {"within", s.Within != 0}, {"timeout", s.Timeout != 0}, {"extract", len(s.Extract) > 0},
		} {
			if k.set {
				v.add(path+"."+k.key, "`ws_close` closes the VU's socket and does nothing else: give `%s` in a step of its own", k.key)
			}
		}
		return false
	}
	if s.Name == "" {
		s.Name = DefaultName(s.URL)
	}
	if s.Timeout < 0 {
		v.add(path+".timeout", "timeout must be positive, got %v", s.Timeout)
	}
	if s.URL == "" {
		v.add(path+".url", "`ws` needs the socket's URL, e.g. ws: /socket or ws: wss://chat.example.com/socket")
	} else if t := sc.checkTemplate(v, path+".url", s.URL, avail); t != nil && !v.badTarget {
		if err := p.checkWSURLTemplate(t); err != nil {
			v.add(path+".url", "%v", err)
		}
	}
	for i, h := range s.Headers {
		if !validHeaderName(h.Name) {
			v.add(fmt.Sprintf("%s.headers[%d]", path, i), "bad header name %q", h.Name)
		}
	}
	s.Templates(func(field, src string) {
		if field != ".url" {
			sc.checkTemplate(v, path+field, src, avail)
		}
	})
	p.checkSizes(v, sc, path, s)
	z := sc.sizer()
	msg := z.of(s.Send, template.Raw)
	if len(s.SendJSON) > 0 {
		msg = z.jsonBody(s.SendJSON)
	}
	if msg > MaxBodySize {
		got, limit := sizes(msg, MaxBodySize)
		v.add(path+".send", "the message can grow to %s once its {{…}} are filled in, more than the limit of %s", got, limit)
	}
	e := s.Expect
	for i := range e.Status {
		v.add(fmt.Sprintf("%s.expect.status[%d]", path, i), "a WebSocket message has no status: expect body_contains, body_matches or json")
	}
	for i := range e.Header {
		v.add(fmt.Sprintf("%s.expect.header[%d]", path, i), "a WebSocket message has no headers: expect body_contains, body_matches or json")
	}
	if e.MaxLatency != 0 {
		v.add(path+".expect.max_latency", "`expect` waits for a message; `within` says how long, e.g. within: 2s")
	}
	e.Status, e.Header, e.MaxLatency = nil, nil, 0
	validateCheck(v, path+".expect", e)
	switch {
	case s.Expect.IsZero() && s.Within != 0:
		v.add(path+".within", "`within` is how long to wait for the message `expect` describes: give `expect`")
	case s.Within < 0:
		v.add(path+".within", "within must be positive, got %v", s.Within)
	}
	if len(s.Extract) > 0 && s.Expect.IsZero() {
		v.add(path+".extract", "`extract` reads the message `expect` waited for: give `expect`")
	}
	validateExtracts(v, sc, path, s, avail, true)
	return true
}

// checkWSURLTemplate checks what can be known of a WebSocket step's URL
// before it is rendered, as checkURLTemplate does a request's.
func (p *Plan) checkWSURLTemplate(t *template.Template) error {
	var b strings.Builder
	for i, part := range t.Parts {
		switch {
		case part.Expr == nil:
			b.WriteString(part.Lit)
		case part.Expr.Name == "":
			b.WriteString(part.Expr.Str)
		case i == 0:
			return nil
		default:
			b.WriteString("x")
		}
	}
	raw := b.String()
	if u, err := url.Parse(raw); err == nil && u.IsAbs() {
		switch u.Scheme {
		case "ws", "wss":
			if u.Host == "" {
				return fmt.Errorf("URL %q: no host", raw)
			}
			return nil
		case "http", "https":
		default:
			return fmt.Errorf("URL %q: want a ws:// or wss:// URL, or one relative to the target", raw)
		}
	}
	return p.checkURL(raw)
}
