package scenario

import (
	"errors"
	"fmt"
	"github.com/surgeload/surge/internal/grpcschema"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/suggest"
)

// Plan is one load test: what to send, how hard, and what must hold.
type Plan struct {
	Name    string        `json:"name"`
	Target  string        `json:"target,omitempty"` // base URL for relative step URLs
	Load    Load          `json:"load"`
	Timeout time.Duration `json:"timeout"` // per request, unless a step sets its own
	// Headers go with every request (a step's own headers win). Their
	// values are templates; one whose variable is not set yet is left out.
	Headers  []Header `json:"headers,omitempty"`
	Insecure bool     `json:"insecure,omitempty"` // skip TLS verification
	// HTTP is the HTTP version requests go with (defaults.http, --http2):
	// 0, the default, is HTTP/1.1 to http:// targets and whatever an
	// https:// server chooses by ALPN; 1 is HTTP/1.1 to every target, over
	// TLS too; 2 is HTTP/2 to every target, with prior knowledge to
	// http:// ones (h2c).
	HTTP int `json:"http,omitempty"`
	// GRPC says where gRPC steps call and where their message types come
	// from (defaults.grpc; grpc.go).
	GRPC GRPCOptions `json:"grpc,omitzero"`
	// Vars are per-VU variables with their starting values.
	Vars []Var `json:"vars,omitempty"`
	// Env holds the values of the {{env.NAME}} the templates read, taken
	// from the environment when the plan was built. It is not serialised:
	// it may hold secrets, and plans are stored in the run history.
	Env map[string]string `json:"-"`
	// Data are the data sources templates read rows from ({{users.name}}).
	Data []DataSource `json:"data,omitempty"`
	// Setup runs once per VU, before its first flow.
	Setup      []Step   `json:"setup,omitempty"`
	Flows      []Flow   `json:"flows"`
	Thresholds []string `json:"thresholds,omitempty"`
	// Monitors are scraped during the run (monitors.go).
	Monitors []Monitor `json:"monitors,omitempty"`
}

// Load is the load shape.
type Load struct {
	Model      engine.Model   `json:"model"`
	VUs        int            `json:"vus,omitempty"`  // closed: VUs (the start value when Stages are given)
	Rate       float64        `json:"rate,omitempty"` // open: iterations/s (likewise)
	MaxVUs     int            `json:"max_vus,omitempty"`
	Duration   time.Duration  `json:"duration,omitempty"`
	Stages     []engine.Stage `json:"stages,omitempty"`
	Iterations int64          `json:"iterations,omitempty"` // stop after this many; 0 = no limit
	// Stripe is set on an open-model segment of a plan split across agents
	// (controller.Split): Rate and Stages stay the whole plan's, and the
	// segment runs its stripe of the schedule. Zero in a plan as written.
	Stripe engine.Stripe `json:"stripe,omitzero"`
}

// Profile returns the load as an engine profile.
func (l Load) Profile() engine.Profile {
	start := float64(l.VUs)
	if l.Model == engine.Open {
		start = l.Rate
	}
	if len(l.Stages) > 0 {
		return engine.Profile{Start: start, Stages: l.Stages}
	}
	return engine.Constant(start, l.Duration)
}

// Header is one request header; Value is a template.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Var is a per-VU variable and its starting value: text, or a JSON literal
// (a number, true, false) when JSON is set.
type Var struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	JSON  bool   `json:"json,omitempty"`
}

// Flow is a named sequence of steps; each iteration runs one flow, picked
// by weight.
type Flow struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Steps  []Step `json:"steps"`
}

// Defaults.
const (
	DefaultDuration = 10 * time.Second // when neither duration, stages nor a request budget is given
	// DefaultBudgetDuration bounds a run limited only by a request budget.
	DefaultBudgetDuration = time.Hour
	DefaultVUs            = 1
)

// validator collects problems; each names the plan field it is about.
type validator struct {
	probs     Problems
	ctx       string // words for the current flow/step, printed without a position
	badTarget bool   // URLs are not checked against a target that is wrong
	// grpc are the plan's compiled .proto files, for its gRPC steps; nil
	// without any (or, with grpcBad, when they did not compile).
	grpc    *grpcschema.Files
	grpcBad bool
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, &Error{Path: path, Context: v.ctx, Msg: oneLine.Replace(fmt.Sprintf(format, args...))})
}

// addSummary adds a problem about a whole that a problem inside it (say, a
// step the loader could not read) may explain.
func (v *validator) addSummary(path, format string, args ...any) {
	v.add(path, format, args...)
	v.probs[len(v.probs)-1].(*Error).summary = true
}

// Validate fills in defaults and checks the plan, returning every problem.
// It may be called again on a valid plan and then changes nothing.
func (p *Plan) Validate() error {
	v := &validator{}
	p.validateLoad(v)
	if p.Timeout == 0 {
		p.Timeout = engine.DefaultTimeout
	}
	if p.Timeout < 0 {
		v.add("timeout", "timeout must be positive, got %v", p.Timeout)
	}
	if p.Target != "" {
		if err := checkTarget(p.Target); err != nil {
			v.add("target", "%v", err)
			v.badTarget = true
		}
	}
	if p.HTTP != 0 && p.HTTP != 1 && p.HTTP != 2 {
		v.add("defaults.http", "defaults.http must be 1 (HTTP/1.1) or 2 (HTTP/2), got %d", p.HTTP)
	}
	p.validateGRPCOptions(v, p.firstGRPC())
	sc := p.newScope(v)
	for i, h := range p.Headers {
		path := fmt.Sprintf("headers[%d]", i)
		if !validHeaderName(h.Name) {
			v.add(path, "bad header name %q", h.Name)
		}
		if sc.checkTemplate(v, path, h.Value, nil) != nil {
			sc.checkDefaultHeader(v, path, h)
		}
	}
	avail := sc.startVars()
	bs := newBlocks("setup", len(p.Setup))
	for j := range p.Setup {
		v.ctx = fmt.Sprintf("setup step %d", j+1)
		bs.step(v, sc, j, &p.Setup[j], avail)
		p.validateStep(v, sc, fmt.Sprintf("setup[%d]", j), &p.Setup[j], avail)
	}
	v.ctx = ""
	if len(p.Flows) == 0 {
		v.addSummary("flows", "no flows: nothing to send")
	}
	for i := range p.Flows {
		f := &p.Flows[i]
		path := fmt.Sprintf("flows[%d]", i)
		if f.Name == "" {
			f.Name = fmt.Sprintf("flow %d", i+1)
		}
		if f.Weight == 0 {
			f.Weight = 1
		}
		if f.Weight < 0 {
			v.add(path+".weight", "flow %q: weight must be positive, got %d", f.Name, f.Weight)
		}
		flowAvail := clone(avail)
		requests := 0
		bs := newBlocks(path+".steps", len(f.Steps))
		for j := range f.Steps {
			v.ctx = fmt.Sprintf("flow %q: step %d", f.Name, j+1)
			bs.step(v, sc, j, &f.Steps[j], flowAvail)
			if p.validateStep(v, sc, fmt.Sprintf("%s.steps[%d]", path, j), &f.Steps[j], flowAvail) {
				requests++
			}
		}
		v.ctx = ""
		if requests == 0 {
			v.addSummary(path+".steps", "flow %q sends no request", f.Name)
		}
	}
	p.validateThresholds(v)
	p.validateMonitors(v)
	sc.inferDataScope()
	if len(v.probs) > 0 {
		return v.probs
	}
	return nil
}

func (p *Plan) validateLoad(v *validator) {
	l := &p.Load
	if l.Duration < 0 {
		v.add("load.duration", "duration must be positive, got %v", l.Duration)
	}
	if l.Iterations < 0 {
		v.add("load.iterations", "iterations must be positive, got %d", l.Iterations)
	}
	if len(l.Stages) > 0 && l.Duration > 0 {
		v.add("load.stages", "give either a duration or stages, not both")
	}
	if l.Duration == 0 && len(l.Stages) == 0 && l.Iterations == 0 {
		l.Duration = DefaultDuration
	}
	// What a stage target counts: VUs in the closed model, iterations/s in
	// the open one; each has its ceiling (engine.MaxVUs, engine.MaxRate).
	unit, ceiling := "virtual users", engine.MaxVUs
	switch l.Model {
	case engine.Open:
		unit, ceiling = "iterations/s", engine.MaxRate
		switch {
		case math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0):
			v.add("load.rate", "load.rate must be a number, got %v", l.Rate)
		case l.Rate < 0 || (l.Rate == 0 && len(l.Stages) == 0):
			v.add("load.rate", "rate must be positive, got %v", l.Rate)
		case l.Rate > engine.MaxRate:
			v.add("load.rate", "load.rate %s is more than the maximum of %d iterations/s", num(l.Rate), engine.MaxRate)
		}
		if l.VUs != 0 {
			v.add("load.vus", "vus belongs to the closed model; the open model takes rate (and max_vus)")
		}
		if l.MaxVUs < 0 {
			v.add("load.max_vus", "max_vus must be positive, got %d", l.MaxVUs)
		}
		if l.MaxVUs > engine.MaxVUs {
			v.add("load.max_vus", "load.max_vus %d is more than the maximum of %d virtual users", l.MaxVUs, engine.MaxVUs)
		}
	case engine.Closed:
		if l.VUs == 0 && len(l.Stages) == 0 {
			l.VUs = DefaultVUs
		}
		if l.VUs < 0 {
			v.add("load.vus", "vus must be positive, got %d", l.VUs)
		}
		if l.VUs > engine.MaxVUs {
			v.add("load.vus", "load.vus %d is more than the maximum of %d virtual users", l.VUs, engine.MaxVUs)
		}
		if l.Rate != 0 {
			v.add("load.rate", "rate belongs to the open model; the closed model takes vus")
		}
		if l.MaxVUs != 0 {
			v.add("load.max_vus", "max_vus belongs to the open model (rate)")
		}
	default:
		v.add("load.model", "unknown load model %d", l.Model)
	}
	var total time.Duration
	for i, s := range l.Stages {
		path := fmt.Sprintf("load.stages[%d]", i)
		if s.Duration <= 0 {
			v.add(path+".duration", "stage %d: want a positive duration, got %v", i+1, s.Duration)
		} else if total += s.Duration; total < 0 {
			v.add(path+".duration", "stage %d: the stages last longer than %v", i+1, time.Duration(math.MaxInt64))
			total = math.MaxInt64
		}
		switch {
		case math.IsNaN(s.Target) || math.IsInf(s.Target, 0):
			v.add(path+".target", "%s.target must be a number, got %v", path, s.Target)
		case s.Target < 0:
			v.add(path+".target", "stage %d: want a target ≥ 0, got %v", i+1, s.Target)
		case s.Target > float64(ceiling):
			v.add(path+".target", "%s.target %s is more than the maximum of %d %s", path, num(s.Target), ceiling, unit)
		}
	}
	if l.Profile().Peak() == 0 { // NaN (reported above) is not 0
		v.addSummary("load", "the load never rises above zero")
	}
}

// num writes a number as people do: 5000000, not 5e+06.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (p *Plan) validateThresholds(v *validator) {
	var names []string
	seen := map[string]bool{}
	for _, f := range p.Flows {
		for _, s := range append(append([]Step(nil), p.Setup...), f.Steps...) {
			if !s.IsThink() && !seen[s.Name] {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	for i, expr := range p.Thresholds {
		path := fmt.Sprintf("thresholds[%d]", i)
		t, err := metrics.ParseThreshold(expr)
		if err != nil {
			v.add(path, "%v", err)
			continue
		}
		if t.Endpoint != "" && !seen[t.Endpoint] {
			hint := ""
			if best := suggest.Closest(t.Endpoint, names); best != "" {
				hint = "; did you mean `" + best + "`?"
			}
			v.add(path, "threshold %q: no step is named `%s`%s", expr, t.Endpoint, hint)
		}
		flows := make([]string, 0, len(p.Flows))
		known := false
		for _, f := range p.Flows {
			flows = append(flows, f.Name)
			known = known || f.Name == t.Flow
		}
		if t.Flow != "" && !known {
			hint := ""
			if best := suggest.Closest(t.Flow, flows); best != "" {
				hint = "; did you mean `" + best + "`?"
			} else if seen[t.Flow] {
				hint = "; `" + t.Flow + "` is a step: write endpoint[" + t.Flow + "] for its requests"
			}
			v.add(path, "threshold %q: no flow is named `%s`%s", expr, t.Flow, hint)
		}
	}
}

func checkTarget(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad target %q: %w", raw, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target %q: want an http:// or https:// URL", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("target %q: no host", raw)
	}
	return nil
}

func (p *Plan) checkURL(raw string) error {
	u, err := p.ResolveURL(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: want an http:// or https:// URL", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q: no host", raw)
	}
	return nil
}

// ResolveURL resolves a step URL against the plan's target.
func (p *Plan) ResolveURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", raw, errors.Unwrap(err))
	}
	if u.IsAbs() || p.Target == "" {
		if !u.IsAbs() {
			return nil, fmt.Errorf("URL %q is relative and there is no target to resolve it against", raw)
		}
		return u, nil
	}
	base, err := url.Parse(p.Target)
	if err != nil {
		return nil, fmt.Errorf("bad target %q: %w", p.Target, errors.Unwrap(err))
	}
	return base.ResolveReference(u), nil
}

// DefaultName names an endpoint after its URL's path, without the query, so
// that /todos?user_id=17 and /todos?user_id=18 are one row in the report.
// Templates stay as written: /users/{{id}} is one endpoint.
func DefaultName(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if scheme, rest, ok := strings.Cut(raw, "://"); ok && !strings.Contains(scheme, "{{") {
		// drop the scheme and host: the path names the endpoint
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return rest[i:]
		}
		return "/"
	}
	if raw == "" {
		return "/"
	}
	return raw
}

func clone(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
