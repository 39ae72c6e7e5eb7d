package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// Overrides are load settings given on the command line (or in an API
// request). A nil field was not given. Apply lays them over a plan: flags win
// over the file, which wins over defaults.
type Overrides struct {
	VUs        *int
	Rate       *float64
	MaxVUs     *int
	Duration   *time.Duration
	Stages     []engine.Stage
	Iterations *int64
	Timeout    *time.Duration
	Thresholds []string // added to the plan's
	Insecure   *bool
}

// Apply lays o over p. It does not validate; call p.Validate afterwards.
func (p *Plan) Apply(o Overrides) {
	l := &p.Load
	if o.Rate != nil {
		l.Model, l.Rate, l.VUs = engine.Open, *o.Rate, 0
	}
	if o.VUs != nil {
		if o.Rate != nil {
			// both given: an error Validate reports, kept visible
			l.VUs = *o.VUs
		} else {
			l.Model, l.VUs, l.Rate, l.MaxVUs = engine.Closed, *o.VUs, 0, 0
		}
	}
	if o.MaxVUs != nil {
		l.MaxVUs = *o.MaxVUs
	}
	if o.Stages != nil {
		l.Stages, l.Duration = o.Stages, 0
	}
	if o.Duration != nil {
		l.Duration = *o.Duration
		if o.Stages == nil {
			l.Stages = nil
		}
	}
	if o.Iterations != nil {
		l.Iterations = *o.Iterations
	}
	if o.Timeout != nil {
		p.Timeout = *o.Timeout
	}
	if o.Insecure != nil {
		p.Insecure = *o.Insecure
	}
	p.Thresholds = append(p.Thresholds, o.Thresholds...)
}

// QuickRequest is the single request of quick mode.
type QuickRequest struct {
	URL     string
	Method  string
	Headers []string // "Name: value"
	Body    string
}

// Quick builds the plan of quick mode: one flow with one request, in which
// one iteration is one request. Model: open when a rate is given, closed
// otherwise.
func Quick(q QuickRequest, o Overrides) (Plan, error) {
	step := Step{Method: q.Method, URL: q.URL, Body: q.Body}
	for _, h := range q.Headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return Plan{}, fmt.Errorf("%w: header %q: want 'Name: value'", ErrInvalid, h)
		}
		step.Headers = append(step.Headers, Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	p := Plan{Name: q.URL, Flows: []Flow{{Name: "default", Weight: 1, Steps: []Step{step}}}}
	p.Apply(o)
	if o.VUs != nil && o.Rate != nil {
		return p, Problems{fmt.Errorf("give --vus (closed model) or --rate (open model), not both")}
	}
	return p, p.Validate()
}
