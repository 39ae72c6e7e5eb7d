package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/template"
)

// check is one named condition on a response.
type check struct {
	idx    int  // index into Program.checks
	status bool // the status check
	eval   func(c *evalCtx) (bool, string)
}

// evalCtx is what checks and extractions look at.
type evalCtx struct {
	res     *responseView
	latency time.Duration
}

type responseView struct {
	status int
	header nethttp.Header
	body   []byte
	url    func() []*nethttp.Cookie // the VU's cookies for the request URL
}

// extraction stores part of a response in a variable; a failure is a
// failed check named "STEP: extract VAR".
type extraction struct {
	idx  int // check index
	slot int // variable slot
	get  func(c *evalCtx) (template.Value, bool)
}

// cond is one compiled condition of a check (or an until), with the words
// that name it ("status 200", "json status == \"done\"").
type cond struct {
	desc   string
	status bool // the status condition
	body   bool // it reads the body
	eval   func(c *evalCtx) (bool, string)
}

// compileChecks compiles s's checks and extractions, registering their
// names as "STEP: condition", and its until conditions.
func (c *compiler) compileChecks(s *scenario.Step, cs *compiledStep) error {
	conds, err := conditions(s.Check)
	if err != nil {
		return err
	}
	for _, k := range conds {
		cs.checks = append(cs.checks, check{idx: c.checkIndex(s.Name + ": " + k.desc), status: k.status, eval: k.eval})
		if k.status {
			cs.statusCheck = true
		}
		cs.keepBody = cs.keepBody || k.body
	}
	if s.IsPoll() {
		until, err := conditions(s.Until)
		if err != nil {
			return fmt.Errorf("until: %w", err)
		}
		var words []string
		for _, k := range until {
			words = append(words, k.desc)
			cs.keepBody = cs.keepBody || k.body
		}
		cs.poll = &poll{until: until, every: s.Every, within: s.Within,
			desc: "until " + strings.Join(words, " and ") + " within " + s.Within.String()}
		cs.poll.check = c.checkIndex(s.Name + ": " + cs.poll.desc)
		cs.poll.idx = index(&c.prog.pollNames, s.Name)
	}
	return c.compileExtracts(s, cs)
}

// conditions compiles the conditions of a check, in the order the summary
// lists them.
func conditions(k scenario.Check) ([]cond, error) {
	var out []cond
	add := func(desc string, eval func(*evalCtx) (bool, string)) {
		out = append(out, cond{desc: desc, eval: eval})
	}
	body := func() { out[len(out)-1].body = true }
	if len(k.Status) > 0 {
		var ranges [][2]int
		for _, st := range k.Status {
			lo, hi, _ := scenario.ParseStatus(st)
			ranges = append(ranges, [2]int{lo, hi})
		}
		add("status "+strings.Join(k.Status, "|"), func(c *evalCtx) (bool, string) {
			for _, r := range ranges {
				if c.res.status >= r[0] && c.res.status <= r[1] {
					return true, ""
				}
			}
			return false, "got " + strconv.Itoa(c.res.status)
		})
		out[len(out)-1].status = true
	}
	for _, needle := range k.BodyContains {
		b := []byte(needle)
		add(fmt.Sprintf("body contains %q", needle), func(c *evalCtx) (bool, string) {
			return bytes.Contains(c.res.body, b), ""
		})
		body()
	}
	for _, expr := range k.BodyMatches {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, err
		}
		add("body matches /"+expr+"/", func(c *evalCtx) (bool, string) {
			return re.Match(c.res.body), ""
		})
		body()
	}
	for _, j := range k.JSON {
		want := gjson.ParseBytes(j.Value)
		path := j.Path
		add(fmt.Sprintf("json %s == %s", path, compactJSON(j.Value)), func(c *evalCtx) (bool, string) {
			got := gjson.GetBytes(c.res.body, path)
			if !got.Exists() {
				return false, "no value at " + path
			}
			return jsonEqual(got, want), ""
		})
		body()
	}
	for _, h := range k.Header {
		name, want := h.Name, h.Value
		add(fmt.Sprintf("header %s contains %q", name, want), func(c *evalCtx) (bool, string) {
			for _, v := range c.res.header.Values(name) {
				if strings.Contains(v, want) {
					return true, ""
				}
			}
			return false, ""
		})
	}
	if limit := k.MaxLatency; limit > 0 {
		add("latency <= "+limit.String(), func(c *evalCtx) (bool, string) {
			if c.latency <= limit {
				return true, ""
			}
			return false, "took " + c.latency.Round(time.Millisecond).String()
		})
	}
	return out, nil
}

// compileExtracts compiles s's extractions; each is also a check named
// "STEP: extract VAR".
func (c *compiler) compileExtracts(s *scenario.Step, cs *compiledStep) error {
	for _, e := range s.Extract {
		x := extraction{idx: c.checkIndex(s.Name + ": extract " + e.Var), slot: c.slots[e.Var]}
		switch e.From {
		case scenario.FromJSON:
			path := e.Expr
			cs.keepBody = true
			x.get = func(c *evalCtx) (template.Value, bool) {
				r := gjson.GetBytes(c.res.body, path)
				switch {
				case !r.Exists():
					return template.Value{}, false
				case r.Type == gjson.String:
					return template.Value{S: r.Str}, true
				}
				return template.Value{S: r.Raw, JSON: true}, true
			}
		case scenario.FromHeader:
			name := e.Expr
			x.get = func(c *evalCtx) (template.Value, bool) {
				vs := c.res.header.Values(name)
				if len(vs) == 0 {
					return template.Value{}, false
				}
				// A copy: the value shares the response head's text (up
				// to a megabyte), which must not live as long as the
				// variable does.
				return template.Value{S: strings.Clone(vs[0])}, true
			}
		case scenario.FromRegex:
			re, err := regexp.Compile(e.Expr)
			if err != nil {
				return err
			}
			cs.keepBody = true
			x.get = func(c *evalCtx) (template.Value, bool) {
				m := re.FindSubmatch(c.res.body)
				switch {
				case m == nil:
					return template.Value{}, false
				case len(m) > 1:
					return template.Value{S: string(m[1])}, true
				}
				return template.Value{S: string(m[0])}, true
			}
		case scenario.FromCookie:
			name := e.Expr
			x.get = func(c *evalCtx) (template.Value, bool) {
				resp := nethttp.Response{Header: c.res.header}
				for _, ck := range resp.Cookies() {
					if ck.Name == name {
						return template.Value{S: strings.Clone(ck.Value)}, true // (as a header's)
					}
				}
				if c.res.url == nil {
					return template.Value{}, false // a WebSocket message: no jar
				}
				for _, ck := range c.res.url() {
					if ck.Name == name {
						return template.Value{S: ck.Value}, true
					}
				}
				return template.Value{}, false
			}
		default:
			return fmt.Errorf("unknown extraction source %q", e.From)
		}
		cs.extracts = append(cs.extracts, x)
	}
	return nil
}

// jsonEqual compares a JSON value from a response with an expected one:
// numbers by value, objects and arrays structurally.
func jsonEqual(got, want gjson.Result) bool {
	switch want.Type {
	case gjson.Number:
		return got.Type == gjson.Number && got.Num == want.Num
	case gjson.String:
		return got.Type == gjson.String && got.Str == want.Str
	case gjson.True, gjson.False, gjson.Null:
		return got.Type == want.Type
	}
	if got.Type != gjson.JSON {
		return false
	}
	var a, b any
	if json.Unmarshal([]byte(got.Raw), &a) != nil || json.Unmarshal([]byte(want.Raw), &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}
