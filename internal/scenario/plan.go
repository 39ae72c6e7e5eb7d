package scenario

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
)

// Plan is one load test: what to send, how hard, and what must hold.
type Plan struct {
	Name       string        `json:"name"`
	Target     string        `json:"target,omitempty"` // base URL for relative step URLs
	Load       Load          `json:"load"`
	Timeout    time.Duration `json:"timeout"` // per request, unless a step sets its own
	Headers    []Header      `json:"headers,omitempty"`
	Flows      []Flow        `json:"flows"`
	Thresholds []string      `json:"thresholds,omitempty"`
	Insecure   bool          `json:"insecure,omitempty"` // skip TLS verification
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

// Header is one request header.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Flow is a named sequence of steps; each iteration runs one flow, picked
// by weight.
type Flow struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Steps  []Step `json:"steps"`
}

// Step is a request, or a pause when Think is set.
type Step struct {
	Name    string        `json:"name,omitempty"` // endpoint name in reports
	Method  string        `json:"method,omitempty"`
	URL     string        `json:"url,omitempty"` // absolute, or relative to Plan.Target
	Headers []Header      `json:"headers,omitempty"`
	Body    string        `json:"body,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`

	Think    time.Duration `json:"think,omitempty"`     // pause; with ThinkMax, uniform in [Think, ThinkMax]
	ThinkMax time.Duration `json:"think_max,omitempty"` // 0 means a fixed pause
}

// IsThink reports whether the step is a pause rather than a request.
func (s Step) IsThink() bool { return s.Method == "" && s.Think > 0 }

// Defaults.
const (
	DefaultDuration = 10 * time.Second // when neither duration, stages nor a request budget is given
	// DefaultBudgetDuration bounds a run limited only by a request budget.
	DefaultBudgetDuration = time.Hour
	DefaultVUs            = 1
)

// Problems is every problem found while validating a plan.
type Problems []error

func (p Problems) Error() string {
	msgs := make([]string, len(p))
	for i, e := range p {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// ErrInvalid is wrapped by every validation error, so callers can map bad
// input to its exit code with errors.Is.
var ErrInvalid = errors.New("invalid plan")

// Unwrap lets errors.Is see ErrInvalid.
func (p Problems) Unwrap() []error { return append([]error{ErrInvalid}, p...) }

// Validate fills in defaults and checks the plan, returning every problem.
func (p *Plan) Validate() error {
	var probs Problems
	add := func(format string, args ...any) { probs = append(probs, fmt.Errorf(format, args...)) }
	l := &p.Load
	if p.Timeout == 0 {
		p.Timeout = engine.DefaultTimeout
	}
	if p.Timeout < 0 {
		add("timeout must be positive, got %v", p.Timeout)
	}
	if l.Duration < 0 {
		add("duration must be positive, got %v", l.Duration)
	}
	if l.Iterations < 0 {
		add("requests must be positive, got %d", l.Iterations)
	}
	if len(l.Stages) > 0 && l.Duration > 0 {
		add("give either a duration or stages, not both")
	}
	if l.Duration == 0 && len(l.Stages) == 0 {
		if l.Iterations == 0 {
			l.Duration = DefaultDuration
		}
	}
	switch l.Model {
	case engine.Open:
		if l.Rate < 0 || (l.Rate == 0 && len(l.Stages) == 0) {
			add("rate must be positive, got %v", l.Rate)
		}
		if l.VUs != 0 {
			add("vus belongs to the closed model; the open model takes rate (and max_vus)")
		}
		if l.MaxVUs < 0 {
			add("max_vus must be positive, got %d", l.MaxVUs)
		}
	case engine.Closed:
		if l.VUs == 0 && len(l.Stages) == 0 {
			l.VUs = DefaultVUs
		}
		if l.VUs < 0 {
			add("vus must be positive, got %d", l.VUs)
		}
		if l.MaxVUs != 0 {
			add("max_vus belongs to the open model (rate)")
		}
	}
	for i, s := range l.Stages {
		if s.Duration <= 0 || s.Target < 0 {
			add("stage %d: want a positive duration and a target ≥ 0", i+1)
		}
	}
	if l.Profile().Peak() == 0 {
		add("the load never rises above zero")
	}
	for _, expr := range p.Thresholds {
		if _, err := metrics.ParseThreshold(expr); err != nil {
			probs = append(probs, err)
		}
	}
	if len(p.Flows) == 0 {
		add("no flows: nothing to send")
	}
	for i := range p.Flows {
		f := &p.Flows[i]
		if f.Weight == 0 {
			f.Weight = 1
		}
		if f.Weight < 0 {
			add("flow %q: weight must be positive", f.Name)
		}
		requests := 0
		for j := range f.Steps {
			s := &f.Steps[j]
			if s.IsThink() {
				if s.ThinkMax != 0 && s.ThinkMax < s.Think {
					add("flow %q: step %d: think range ends before it starts", f.Name, j+1)
				}
				continue
			}
			requests++
			if s.Method == "" {
				s.Method = "GET"
			}
			s.Method = strings.ToUpper(s.Method)
			if err := p.checkURL(s.URL); err != nil {
				add("flow %q: step %d: %v", f.Name, j+1, err)
			}
			if s.Name == "" {
				s.Name = DefaultName(s.URL)
			}
		}
		if requests == 0 {
			add("flow %q sends no request", f.Name)
		}
	}
	if len(probs) > 0 {
		return probs
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
func DefaultName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		if raw == "" || strings.Contains(raw, "://") {
			return "/"
		}
		return raw
	}
	return u.Path
}
