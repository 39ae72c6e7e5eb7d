package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/template"
)

// Overrides are settings given on the command line (or in an API request).
// A nil field was not given. Apply lays them over a plan: flags win over
// the file, which wins over defaults.
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
	// HTTP replaces the plan's HTTP version (--http2: 2).
	HTTP *int
	// Target replaces the base URL that relative step URLs resolve against.
	Target *string
	// Headers are set on every request, replacing default headers of the
	// same name (values are sent as given, not as templates).
	Headers []Header
	// Monitors are added to the plan's (--monitor).
	Monitors []Monitor
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
	if o.HTTP != nil {
		p.HTTP = *o.HTTP
	}
	if o.Target != nil {
		p.Target = *o.Target
	}
	if len(o.Headers) > 0 {
		headers := make([]Header, 0, len(p.Headers)+len(o.Headers))
		for _, h := range p.Headers {
			replaced := false
			for _, oh := range o.Headers {
				replaced = replaced || strings.EqualFold(h.Name, oh.Name)
			}
			if !replaced {
				headers = append(headers, h)
			}
		}
		for _, h := range o.Headers {
			headers = append(headers, Header{Name: h.Name, Value: template.EscapeText(h.Value)})
		}
		p.Headers = headers
	}
	p.Thresholds = append(p.Thresholds, o.Thresholds...)
	p.Monitors = append(p.Monitors, o.Monitors...)
}

// ParseHeader parses a "Name: value" header as given on the command line.
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return Header{}, &Error{Msg: fmt.Sprintf("header %q: want 'Name: value'", s)}
	}
	return Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}, nil
}

// MaxBodyFile bounds a quick-mode body read from a file (--body-file): it
// is held in memory once and shared by every VU, so 64 MiB is generous for
// an upload test and still far from exhausting a load generator.
const MaxBodyFile = 64 << 20

// QuickRequest is the single request of quick mode.
type QuickRequest struct {
	URL     string
	Method  string
	Headers []string // "Name: value"
	// Body is sent as given (curl's -d): "{{" is literal text. With
	// BodyTemplate it is a {{…}} template, and the template limits apply.
	Body         string
	BodyTemplate bool
	// RawBody is data sent byte for byte (a --body-file), at most
	// MaxBodyFile bytes; BodyFile names where it was read from.
	RawBody  []byte
	BodyFile string
}

// Quick builds the plan of quick mode: one flow with one request, in which
// one iteration is one request. Model: open when a rate is given, closed
// otherwise. Quick mode sends what it is given: "{{" in the URL, headers or
// body is literal text, not a template, unless q.BodyTemplate asks for a
// templated body.
func Quick(q QuickRequest, o Overrides) (Plan, error) {
	step := Step{Method: q.Method, URL: template.EscapeText(q.URL), Body: template.EscapeText(q.Body)}
	if q.BodyTemplate {
		step.Body = q.Body
	}
	if q.RawBody != nil || q.BodyFile != "" {
		if q.Body != "" {
			return Plan{}, Problems{&Error{Msg: "give a body or a body file, not both"}}
		}
		if len(q.RawBody) > MaxBodyFile {
			return Plan{}, Problems{&Error{Msg: fmt.Sprintf("body file %s: %d bytes, more than the %d MiB a body file may have", q.BodyFile, len(q.RawBody), MaxBodyFile>>20)}}
		}
		step.RawBody, step.BodyFile = q.RawBody, q.BodyFile
	}
	for _, h := range q.Headers {
		hd, err := ParseHeader(h)
		if err != nil {
			return Plan{}, Problems{err}
		}
		step.Headers = append(step.Headers, Header{Name: hd.Name, Value: template.EscapeText(hd.Value)})
	}
	p := Plan{Name: q.URL, Flows: []Flow{{Name: "default", Weight: 1, Steps: []Step{step}}}}
	p.Apply(o)
	if o.VUs != nil && o.Rate != nil {
		return p, Problems{&Error{Msg: "give --vus (closed model) or --rate (open model), not both"}}
	}
	return p, p.Validate()
}
