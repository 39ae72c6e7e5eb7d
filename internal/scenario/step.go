package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/template"
)

// Step is a request, or a pause when Think is set.
//
// URL, header, query and form values, Body and the strings inside JSON are
// templates ({{token}}, {{users.name}}, {{vu.id}}, …). At most one of Body,
// JSON, Form and RawBody is set.
type Step struct {
	Name    string          `json:"name,omitempty"` // endpoint name in reports; default: the URL's path
	Method  string          `json:"method,omitempty"`
	URL     string          `json:"url,omitempty"` // absolute, or relative to Plan.Target
	Headers []Header        `json:"headers,omitempty"`
	Query   []Param         `json:"query,omitempty"` // added to the URL's query
	Body    string          `json:"body,omitempty"`
	JSON    json.RawMessage `json:"json,omitempty"` // a JSON body; its string values are templates
	Form    []Param         `json:"form,omitempty"` // an application/x-www-form-urlencoded body
	// RawBody is sent as is, without templating (body_file).
	RawBody  []byte        `json:"raw_body,omitempty"`
	BodyFile string        `json:"body_file,omitempty"` // where RawBody was read from
	Timeout  time.Duration `json:"timeout,omitempty"`

	Extract []Extract `json:"extract,omitempty"`
	Check   Check     `json:"check,omitzero"`
	// SoftChecks makes failed checks and extractions count only as check
	// failures: the request's own outcome (its status) decides whether it
	// is an error. By default a failed check makes the request an error of
	// class check_failed.
	SoftChecks bool `json:"soft_checks,omitempty"`

	// Until makes the step a poll: it is sent again, Every apart (a pause
	// after each response), until every condition holds, for at most
	// Within from its first attempt. Every attempt is a request. Check and
	// Extract apply to the last attempt.
	Until  Check         `json:"until,omitzero"`
	Every  time.Duration `json:"every,omitempty"`
	Within time.Duration `json:"within,omitempty"`

	// A WebSocket step (Method MethodWS, `ws: URL` in a file) opens the
	// VU's socket to URL (with Headers on the handshake) unless it is open
	// already, sends Send or SendJSON as a text message, and waits, for at
	// most Within (default: Timeout), for a message that satisfies Expect
	// (its body_contains, body_matches and json). WSClose closes the socket.
	Send     string          `json:"send,omitempty"`      // a text message; a template
	SendJSON json.RawMessage `json:"send_json,omitempty"` // a JSON message; its string values are templates
	Expect   Check           `json:"expect,omitzero"`
	WSClose  bool            `json:"ws_close,omitempty"`

	// A gRPC step (Method MethodGRPC, `grpc: package.Service/Method` in a
	// file) calls the unary method GRPC on the plan's gRPC server
	// (Plan.GRPC) with Message, the request as JSON (protojson; its string
	// values are templates), and Metadata. Its Check's status values are
	// gRPC status codes; its body is the response message as protojson.
	GRPC     string          `json:"grpc,omitempty"`
	Message  json.RawMessage `json:"message,omitempty"`
	Metadata []Header        `json:"metadata,omitempty"` // values are templates

	Think    time.Duration `json:"think,omitempty"`     // pause; with ThinkMax, uniform in [Think, ThinkMax]
	ThinkMax time.Duration `json:"think_max,omitempty"` // 0 means a fixed pause

	// Blocks are the if/repeat blocks that begin at this step, outermost
	// first: a step's own `if:` and `repeat:` are a block of Len 1, a
	// group of steps ({repeat: 3, steps: […]}) a block over its steps. The
	// steps of a flow stay one flat list, so everything that walks steps
	// sees every request once, as written.
	Blocks []Block `json:"blocks,omitempty"`
}

// Block makes Len steps, from the one it belongs to, run only If the
// condition holds (template.ParseCond) and Repeat times.
type Block struct {
	Len    int    `json:"len"`
	If     string `json:"if,omitempty"`
	Repeat int    `json:"repeat,omitempty"` // 0 means once
}

// Bounds on repetition.
const (
	// MaxRepeat bounds one `repeat:`.
	MaxRepeat = 10_000
	// MaxRepeatedSteps bounds the steps one pass over a flow (or setup)
	// can run once every repeat is multiplied out.
	MaxRepeatedSteps = 1_000_000
)

// Param is a query or form parameter; Value is a template.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Extract stores part of a response in a per-VU variable.
type Extract struct {
	Var  string `json:"var"`
	From string `json:"from"` // json, header, regex or cookie
	Expr string `json:"expr"` // a JSON path, header name, regular expression or cookie name
}

// The places a value can be extracted from.
const (
	FromJSON   = "json"   // a gjson path into the body, e.g. access_token or items.0.id
	FromHeader = "header" // a response header
	FromRegex  = "regex"  // the first capture group (or the whole match) in the body
	FromCookie = "cookie" // a cookie the response set (or the VU's jar holds)
)

// Check is what a response must satisfy. Each condition counts as a named
// check in the summary.
type Check struct {
	Status       []string      `json:"status,omitempty"`        // any of: a code ("200") or a class ("2xx")
	BodyContains []string      `json:"body_contains,omitempty"` // every one must appear
	BodyMatches  []string      `json:"body_matches,omitempty"`  // regular expressions; every one must match
	JSON         []JSONCheck   `json:"json,omitempty"`
	Header       []Param       `json:"header,omitempty"` // the header must contain the value
	MaxLatency   time.Duration `json:"max_latency,omitempty"`
}

// JSONCheck says that the value at Path (a gjson path) equals Value.
type JSONCheck struct {
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// IsZero reports whether the check has no condition.
func (c Check) IsZero() bool {
	return len(c.Status) == 0 && len(c.BodyContains) == 0 && len(c.BodyMatches) == 0 &&
		len(c.JSON) == 0 && len(c.Header) == 0 && c.MaxLatency == 0
}

// IsThink reports whether the step is a pause rather than a request.
func (s Step) IsThink() bool { return s.Method == "" && s.Think > 0 }

// MethodWS is the Method of a WebSocket step.
const MethodWS = "WS"

// IsWS reports whether the step is a WebSocket step (ws: or ws_close:).
func (s Step) IsWS() bool { return s.Method == MethodWS }

// IsPoll reports whether the step polls until a condition holds.
func (s Step) IsPoll() bool { return !s.Until.IsZero() }

// DefaultPollEvery is the pause between a poll step's attempts when it
// sets no `every`.
const DefaultPollEvery = time.Second

// Methods are the HTTP methods a scenario step may use.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// Templates calls fn with every template of the step and the path of the
// field it is in (relative to the step, e.g. ".headers[0]" or ".json.user").
func (s *Step) Templates(fn func(field, src string)) {
	if s.IsThink() || s.WSClose {
		return
	}
	if !s.IsGRPC() {
		fn(".url", s.URL)
	}
	for i, h := range s.Metadata {
		fn(fmt.Sprintf(".metadata[%d]", i), h.Value)
	}
	if len(s.Message) > 0 {
		_ = WalkJSON(s.Message, func(path string, v any) {
			if str, ok := v.(string); ok {
				fn(".message"+path, str)
			}
		})
	}
	for i, h := range s.Headers {
		fn(fmt.Sprintf(".headers[%d]", i), h.Value)
	}
	for i, q := range s.Query {
		fn(fmt.Sprintf(".query[%d]", i), q.Value)
	}
	if s.Body != "" {
		fn(".body", s.Body)
	}
	for i, f := range s.Form {
		fn(fmt.Sprintf(".form[%d]", i), f.Value)
	}
	if len(s.JSON) > 0 {
		_ = WalkJSON(s.JSON, func(path string, v any) {
			if str, ok := v.(string); ok {
				fn(".json"+path, str)
			}
		})
	}
	if s.Send != "" {
		fn(".send", s.Send)
	}
	if len(s.SendJSON) > 0 {
		_ = WalkJSON(s.SendJSON, func(path string, v any) {
			if str, ok := v.(string); ok {
				fn(".send"+path, str)
			}
		})
	}
}

// WalkJSON calls fn for every scalar of a JSON document, with its path
// (".key", "[2]", ".a.b[0]") and value (a string, json.Number, bool or nil).
func WalkJSON(doc []byte, fn func(path string, v any)) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch d := tok.(type) {
		case json.Delim:
			if d == '{' {
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					if err := walk(path + "." + k.(string)); err != nil {
						return err
					}
				}
			} else {
				for i := 0; dec.More(); i++ {
					if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
						return err
					}
				}
			}
			_, err := dec.Token() // the closing delimiter
			return err
		default:
			fn(path, tok)
			return nil
		}
	}
	return walk("")
}

// blocks checks the if/repeat blocks of one list of steps (setup, or a
// flow's), a step at a time, in order: each block ends inside the list and
// inside the block around it, repeats are within bounds, and conditions
// parse and read variables set by then.
type blocks struct {
	path  string
	stack []openBlock
	total int64 // steps one pass runs, repeats multiplied out
	over  bool  // MaxRepeatedSteps was passed (reported once)
}

type openBlock struct {
	end  int   // index of the first step after the block
	mult int64 // times each step in it runs per pass
}

func newBlocks(path string, n int) *blocks {
	return &blocks{path: path, stack: []openBlock{{end: n, mult: 1}}}
}

// step checks the blocks that begin at step i; avail holds the variables
// set before it.
func (bs *blocks) step(v *validator, sc *scope, i int, s *Step, avail map[string]bool) {
	for len(bs.stack) > 1 && bs.stack[len(bs.stack)-1].end <= i {
		bs.stack = bs.stack[:len(bs.stack)-1]
	}
	for k, b := range s.Blocks {
		bp := fmt.Sprintf("%s[%d].blocks[%d]", bs.path, i, k)
		outer := bs.stack[len(bs.stack)-1]
		if b.Len < 1 || i+b.Len > outer.end {
			v.add(bp, "a block of %d steps from step %d does not fit in the steps around it", b.Len, i+1)
			continue
		}
		switch {
		case b.Repeat < 0:
			v.add(bp+".repeat", "repeat must be at least 1, got %d", b.Repeat)
		case b.Repeat > MaxRepeat:
			v.add(bp+".repeat", "repeat %d is more than the maximum of %d", b.Repeat, MaxRepeat)
		}
		if b.If != "" {
			sc.checkCond(v, bp+".if", b.If, avail)
		}
		times := int64(min(max(b.Repeat, 1), MaxRepeat))
		bs.stack = append(bs.stack, openBlock{end: i + b.Len, mult: min(outer.mult*times, MaxRepeatedSteps+1)})
	}
	bs.total += bs.stack[len(bs.stack)-1].mult
	if bs.total > MaxRepeatedSteps && !bs.over {
		bs.over = true
		v.add(fmt.Sprintf("%s[%d]", bs.path, i), "with its repeats, one pass over these steps runs more than %d of them", MaxRepeatedSteps)
	}
}

// validateStep checks step s at path, defaults its method and name, and
// adds the variables it extracts to avail. It reports whether s sends a
// request.
func (p *Plan) validateStep(v *validator, sc *scope, path string, s *Step, avail map[string]bool) bool {
	if s.IsWS() {
		return p.validateWS(v, sc, path, s, avail)
	}
	if s.IsGRPC() {
		return p.validateGRPC(v, sc, path, s, avail)
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"message", len(s.Message) > 0}, {"metadata", len(s.Metadata) > 0}} {
		if k.set {
			v.add(path+"."+k.key, "`%s` belongs to a gRPC step: give `grpc: package.Service/Method`", k.key)
		}
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"send", len(s.SendJSON) > 0 || s.Send != ""}, {"expect", !s.Expect.IsZero()}} {
		if k.set {
			v.add(path+"."+k.key, "`%s` belongs to a WebSocket step: give `ws: URL`", k.key)
		}
	}
	if s.Method == "" && s.URL == "" && s.Think == 0 && s.ThinkMax == 0 {
		v.addSummary(path, "step has no request: give one of get, post, put, patch, delete, head, options or ws (or think)")
		return false
	}
	if s.Method == "" && s.URL == "" {
		if s.Think <= 0 {
			v.add(path+".think", "think must be a positive duration, got %v", s.Think)
		}
		if s.ThinkMax != 0 && s.ThinkMax < s.Think {
			v.add(path+".think", "think range ends before it starts")
		}
		return false
	}
	if s.Think != 0 || s.ThinkMax != 0 {
		v.add(path+".think", "a step is either a request or a think pause, not both")
	}
	if s.Method == "" {
		s.Method = "GET"
	}
	s.Method = strings.ToUpper(s.Method)
	if !validHeaderName(s.Method) {
		v.add(path+".method", "bad method %q", s.Method)
	}
	if s.Name == "" {
		s.Name = DefaultName(s.URL)
	}
	if s.Timeout < 0 {
		v.add(path+".timeout", "timeout must be positive, got %v", s.Timeout)
	}
	if t := sc.checkTemplate(v, path+".url", s.URL, avail); t != nil && !v.badTarget {
		if err := p.checkURLTemplate(t); err != nil {
			v.add(path+".url", "%v", err)
		}
	}
	for i, h := range s.Headers {
		if !validHeaderName(h.Name) {
			v.add(fmt.Sprintf("%s.headers[%d]", path, i), "bad header name %q", h.Name)
		}
	}
	bodies := 0
	for _, set := range []bool{s.Body != "", len(s.JSON) > 0, len(s.Form) > 0, len(s.RawBody) > 0 || s.BodyFile != ""} {
		if set {
			bodies++
		}
	}
	if bodies > 1 {
		v.add(path, "give one body: json, form, body or body_file")
	}
	if len(s.JSON) > 0 && !json.Valid(s.JSON) {
		v.add(path+".json", "json body is not valid JSON")
	}
	for i, q := range append(append([]Param(nil), s.Query...), s.Form...) {
		if q.Name == "" {
			field := "query"
			if i >= len(s.Query) {
				field, i = "form", i-len(s.Query)
			}
			v.add(fmt.Sprintf("%s.%s[%d]", path, field, i), "%s parameter with no name", field)
		}
	}
	s.Templates(func(field, src string) {
		if field != ".url" {
			sc.checkTemplate(v, path+field, src, avail)
		}
	})
	p.checkSizes(v, sc, path, s)
	validateCheck(v, path+".check", s.Check)
	validatePoll(v, path, s)
	validateExtracts(v, sc, path, s, avail, false)
	return true
}

// validateExtracts checks s's extractions and adds the variables they set
// to avail; a WebSocket message (ws) has no headers or cookies.
func validateExtracts(v *validator, sc *scope, path string, s *Step, avail map[string]bool, ws bool) {
	for i, e := range s.Extract {
		ep := fmt.Sprintf("%s.extract[%d]", path, i)
		switch {
		case !template.IsName(e.Var):
			v.add(ep, "cannot extract into %q: a variable name is letters, digits, '_' and '-'", e.Var)
		case reserved(e.Var):
			v.add(ep, "cannot extract into `%s`: the name is reserved", e.Var)
		case sc.isData(e.Var):
			v.add(ep, "cannot extract into `%s`: it is a data source", e.Var)
		}
		switch e.From {
		case FromJSON, FromHeader, FromCookie:
			if e.Expr == "" {
				v.add(ep, "extract %s: `%s:` needs what to extract, e.g. %s", e.Var, e.From, map[string]string{
					FromJSON: "json:access_token", FromHeader: "header:Location", FromCookie: "cookie:session"}[e.From])
			}
			if e.From == FromHeader && e.Expr != "" && !validHeaderName(e.Expr) {
				v.add(ep, "extract %s: bad header name %q", e.Var, e.Expr)
			}
		case FromRegex:
			if _, err := regexp.Compile(e.Expr); err != nil || e.Expr == "" {
				v.add(ep, "extract %s: bad regular expression %q: %v", e.Var, e.Expr, reErr(err))
			}
		default:
			v.add(ep, "extract %s: unknown source %q (want json:, header:, regex: or cookie:)", e.Var, e.From)
		}
		if ws && (e.From == FromHeader || e.From == FromCookie) {
			v.add(ep, "extract %s: a WebSocket message has no headers or cookies: extract with json: or regex:", e.Var)
		}
		avail[e.Var] = true
	}
}

func reErr(err error) string {
	if err == nil {
		return "empty"
	}
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// validatePoll checks a poll step's until, every and within, and defaults
// its every.
func validatePoll(v *validator, path string, s *Step) {
	if !s.IsPoll() {
		if s.Every != 0 {
			v.add(path+".every", "`every` belongs to a poll step: give `until` with the conditions to wait for")
		}
		if s.Within != 0 {
			v.add(path+".within", "`within` belongs to a poll step: give `until` with the conditions to wait for")
		}
		return
	}
	validateCheck(v, path+".until", s.Until)
	if s.Every == 0 {
		s.Every = DefaultPollEvery
	}
	switch {
	case s.Within == 0:
		v.add(path+".within", "a poll step needs `within`: how long to keep trying, e.g. within: 30s")
	case s.Within < 0:
		v.add(path+".within", "within must be positive, got %v", s.Within)
	case s.Every < 0:
		v.add(path+".every", "every must be positive, got %v", s.Every)
	case s.Every > s.Within:
		v.add(path+".every", "every %v is longer than within %v: the step could only be sent once", s.Every, s.Within)
	}
}

func validateCheck(v *validator, path string, c Check) {
	for i, st := range c.Status {
		if _, _, ok := ParseStatus(st); !ok {
			v.add(fmt.Sprintf("%s.status[%d]", path, i), "status %q: want a code from 100 to 599, or a class like 2xx", st)
		}
	}
	for i, re := range c.BodyMatches {
		if _, err := regexp.Compile(re); err != nil {
			v.add(fmt.Sprintf("%s.body_matches[%d]", path, i), "body_matches: bad regular expression %q: %v", re, reErr(err))
		}
	}
	for i, j := range c.JSON {
		jp := fmt.Sprintf("%s.json[%d]", path, i)
		if j.Path == "" {
			v.add(jp, "json check with an empty path")
		}
		if !json.Valid(j.Value) {
			v.add(jp, "json check %s: the expected value is not valid JSON", j.Path)
		}
	}
	for i, h := range c.Header {
		if !validHeaderName(h.Name) {
			v.add(fmt.Sprintf("%s.header[%d]", path, i), "bad header name %q", h.Name)
		}
	}
	if c.MaxLatency < 0 {
		v.add(path+".max_latency", "max_latency must be positive, got %v", c.MaxLatency)
	}
}

// ParseStatus parses a status condition: "200" gives (200, 200), "2xx"
// gives (200, 299).
func ParseStatus(s string) (lo, hi int, ok bool) {
	if len(s) == 3 && (s[1:] == "xx" || s[1:] == "XX") && s[0] >= '1' && s[0] <= '5' {
		lo = int(s[0]-'0') * 100
		return lo, lo + 99, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, 0, false
	}
	return n, n, true
}

// checkURLTemplate checks what can be known of a templated URL before it
// is rendered: a URL that starts with a variable is only checked when sent.
func (p *Plan) checkURLTemplate(t *template.Template) error {
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
	if b.Len() == 0 {
		return fmt.Errorf("empty URL")
	}
	return p.checkURL(b.String())
}

// validHeaderName reports whether s is an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
