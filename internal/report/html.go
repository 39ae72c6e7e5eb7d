package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The page and everything it needs are inlined into each report, so a report
// is one file that opens offline. assets/README.md says where uPlot came from.
var (
	//go:embed assets/report.html.tmpl
	htmlSource string
	//go:embed assets/report.css
	htmlCSS string
	//go:embed assets/report.js
	htmlJS string
	//go:embed assets/monitors.js
	monitorsJS string
	//go:embed assets/uPlot.min.css
	uplotCSS string
	//go:embed assets/uPlot.iife.min.js
	uplotJS string
)

// maxHTMLMessages is how many distinct error messages the page lists; the
// embedded JSON holds all of them.
const maxHTMLMessages = 10

var htmlTemplate = template.Must(template.Must(template.Must(template.New("report").Funcs(template.FuncMap{
	"add":      func(a, b int64) int64 { return a + b },
	"bytes":    bytes,
	"classes":  nonZeroClasses,
	"count":    count,
	"duration": duration,
	"measured": measured,
	"msec":     latencyText,
	"optms": func(v *float64) string {
		if v == nil {
			return "–"
		}
		return latencyText(*v)
	},
	"num":       num,
	"rate":      rate,
	"showFlows": showFlows,
	"hasPhases": hasPhases,
	"phaseCols": phaseColumns,
	"protocols": protocolMix,
	"phase": func(m map[string]PhaseMs, name string) *PhaseMs {
		if p, ok := m[name]; ok {
			return &p
		}
		return nil
	},
}).Parse(htmlSource)).Parse(flowsHTML)).Parse(phasesHTML))

// phasesHTML is the page's "where time went" table, after the endpoints
// (report.html.tmpl includes it): each endpoint's protocols and the p95
// of each timing phase, its p50, p99 and max in the cell's title. An
// endpoint without phases (WebSocket, gRPC) has no row.
const phasesHTML = `{{define "phases"}}{{if hasPhases .Summary}}{{$cols := phaseCols .Summary}}
<section id="phases">
  <h2>Where time went</h2>
  <p class="muted">The p95 of each timing phase (hover for p50, p99, max). Blocked: waiting for a connection or an HTTP/2 stream; connect: DNS and TCP; tls: the handshake; send: writing the request; wait: to the first byte; receive: the body{{if eq (len $cols) 7}}; queued: from the due time until a VU took the iteration{{end}}. A request's phases add up to its latency.</p>
  <div class="scroll">
  <table>
    <thead><tr><th class="text">endpoint</th><th class="text">protocol</th>{{range $cols}}<th>{{.}}</th>{{end}}</tr></thead>
    <tbody>
    {{- range .Endpoints}}{{if .Phases}}{{$e := .}}
    <tr>
      <th>{{.Name}}</th><td class="text">{{protocols .Protocols}}</td>
      {{- range $cols}}{{with phase $e.Phases .}}<td title="p50 {{msec .P50}}, p99 {{msec .P99}}, max {{msec .Max}}">{{msec .P95}}</td>{{else}}<td>–</td>{{end}}{{end}}
    </tr>
    {{- end}}{{end}}
    </tbody>
  </table>
  </div>
</section>
{{- end}}{{end}}`

// flowsHTML is the page's flows and polls tables, beside the endpoints
// (report.html.tmpl includes it after them), shown as in the terminal
// summary (showFlows). A flow or poll with no duration has dashes.
const flowsHTML = `{{define "flows"}}{{if showFlows .Summary}}
<section id="flows">
  <h2>Flows: end to end</h2>
  <p class="muted">From an iteration's first request (its due time in the open model) to its last response, think time excluded; poll attempts and their pauses included.</p>
  <div class="scroll">
  <table>
    <thead><tr><th class="text">flow</th><th>iterations</th><th>errors</th><th>cut short</th><th>requests</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr></thead>
    <tbody>
    {{- range .Flows}}
    <tr>
      <th>{{.Name}}</th><td>{{count .Iterations}}</td>
      <td{{if .Errors}} class="bad"{{end}}>{{count .Errors}}{{if .Errors}} <small>({{rate .Errors .Iterations}})</small>{{end}}</td>
      <td{{if .Cut}} class="bad"{{end}}>{{count .Cut}}</td><td>{{count .Requests}}</td>
      {{- template "flowDuration" .Duration}}
    </tr>
    {{- end}}
    </tbody>
  </table>
  </div>
  {{- if .Polls}}
  <div class="scroll">
  <table>
    <thead><tr><th class="text">poll step</th><th>polls</th><th>timeouts</th><th>cut short</th><th>attempts</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr></thead>
    <tbody>
    {{- range .Polls}}
    <tr>
      <th>{{.Name}}</th><td>{{count .Polls}}</td>
      <td{{if .Timeouts}} class="bad"{{end}}>{{count .Timeouts}}{{if .Timeouts}} <small>({{rate .Timeouts .Polls}})</small>{{end}}</td>
      <td{{if .Cut}} class="bad"{{end}}>{{count .Cut}}</td><td>{{count .Attempts}}</td>
      {{- template "flowDuration" .Duration}}
    </tr>
    {{- end}}
    </tbody>
  </table>
  </div>
  {{- end}}
  <p class="muted">Cut short: stopped by the end of the run before they finished — the slowest, and not in the percentiles.</p>
</section>
{{- end}}{{end}}
{{- define "flowDuration"}}{{with .}}<td>{{msec .P50}}</td><td>{{msec .P90}}</td><td>{{msec .P95}}</td><td>{{msec .P99}}</td><td>{{msec .Max}}</td>{{else}}<td>–</td><td>–</td><td>–</td><td>–</td><td>–</td>{{end}}{{end}}`

// htmlPage is what the template sees: the summary plus the formatted and
// trimmed bits that are awkward to compute in a template.
type htmlPage struct {
	*Summary
	Title        string
	Started      string
	Messages     []ErrorMessage // at most maxHTMLMessages; shadows Summary.Messages
	MoreMessages int
	// Data is embedded whole in a <script type="application/json"> element.
	// html/template encodes it as JSON and escapes '<', '>' and '&', so no
	// string in it can close the element.
	Data *Summary

	// template.CSS and template.JS make html/template inline the assets
	// verbatim; TestWriteHTMLInlineAssets checks that none can end its
	// element early.
	CSS template.CSS
	JS  template.JS
	// MonitorsJS draws the monitor charts; inlined only with monitors.
	MonitorsJS template.JS
	UPlotCSS   template.CSS
	UPlotJS    template.JS

	// The offered load and what happened to it, read from the summary's
	// JSON (plan, events, generator.limited, totals.due_iterations). A
	// named field, so the Summary's own fields never clash with it.
	Extra htmlExtras
}

// htmlExtras are the offered load and what happened to it, put in the
// words the page shows.
type htmlExtras struct {
	Plan     []planRow
	Events   []eventRow
	Limited  bool
	Reasons  []string
	Due      int64
	HasDue   bool    // the open model: the run counted due iterations
	Offered  float64 // due iterations per second over the run
	OpenLoad bool
	// Monitors are the target monitors' charts and tables; none without
	// monitors, and then the page has nothing about them.
	Monitors []monitorView
}

// planRow is one setting of the offered load, as the CLI flag says it.
type planRow struct{ Key, Value string }

// eventRow is one change to the load during the run.
type eventRow struct {
	At   string // since the start, e.g. "3.2s"
	Text string
}

func extrasOf(s *Summary) htmlExtras {
	x := htmlExtras{Limited: s.Generator.Limited, Reasons: s.Generator.Reasons, Monitors: monitorViews(s)}
	x.OpenLoad = s.Run.Model == "open"
	if p := s.Plan; p.Model != "" {
		x.OpenLoad = p.Model == "open"
	}
	if x.OpenLoad && s.Totals.DueIterations > 0 {
		x.Due, x.HasDue = s.Totals.DueIterations, true
		if s.Run.DurationS > 0 {
			x.Offered = round(float64(x.Due)/s.Run.DurationS, 2)
		}
	}
	if p := s.Plan; p.Model != "" {
		add := func(k, v string) { x.Plan = append(x.Plan, planRow{k, v}) }
		add("model", p.Model)
		// With stages the rate (or VUs) is only where the ramp starts.
		switch {
		case p.Model == "open" && (p.Rate > 0 || len(p.Stages) == 0):
			add("rate", num(p.Rate)+"/s")
		case p.Model != "open" && (p.VUs > 0 || len(p.Stages) == 0):
			add("vus", count(p.VUs))
		}
		if p.MaxVUs > 0 {
			add("max_vus", count(p.MaxVUs))
		}
		if p.Duration != "" && p.Duration != "0s" {
			add("duration", p.Duration)
		}
		if len(p.Stages) > 0 {
			var st []string
			for _, s := range p.Stages {
				st = append(st, s.Duration+":"+num(s.Target))
			}
			add("stages", strings.Join(st, ","))
		}
		if p.Iterations > 0 {
			add("requests", count(p.Iterations))
		}
		if p.Timeout != "" {
			add("timeout", p.Timeout)
		}
	}
	for _, e := range s.Events {
		r := eventRow{At: strconv.FormatFloat(e.Elapsed, 'f', 1, 64) + "s"}
		switch e.Kind {
		case "rate":
			r.Text = "rate changed to " + num(e.Value) + "/s"
		case "vus":
			r.Text = "virtual users changed to " + num(e.Value)
		case "stop":
			r.Text = "stop requested"
		default:
			r.Text = e.Kind + " " + num(e.Value)
		}
		if e.Detail != "" {
			r.Text += " (" + e.Detail + ")"
		}
		x.Events = append(x.Events, r)
	}
	return x
}

// WriteHTML writes a self-contained HTML report of s: totals, latency, charts
// over time (uPlot, inlined), endpoints, errors, checks, thresholds and
// generator warnings. The page needs no network; s is embedded in it as JSON
// in the element with id "surge-data".
func WriteHTML(w io.Writer, s *Summary) error {
	p := htmlPage{
		Summary:    s,
		Title:      s.Run.Name,
		Started:    s.Run.Started,
		Messages:   s.Messages,
		Data:       s,
		CSS:        template.CSS(htmlCSS),
		JS:         template.JS(htmlJS),
		MonitorsJS: template.JS(monitorsJS),
		UPlotCSS:   template.CSS(uplotCSS),
		UPlotJS:    template.JS(uplotJS),
	}
	p.Extra = extrasOf(s)
	if p.Title == "" {
		p.Title = "unnamed run"
	}
	if t, err := time.Parse(time.RFC3339Nano, s.Run.Started); err == nil {
		p.Started = t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if n := len(p.Messages); n > maxHTMLMessages {
		p.Messages, p.MoreMessages = p.Messages[:maxHTMLMessages], n-maxHTMLMessages
	}
	if err := htmlTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("writing HTML report: %w", err)
	}
	return nil
}

// classCount is one error class with a non-zero count.
type classCount struct {
	Name  string
	Count int64
}

// nonZeroClasses lists the classes in m that occurred, in the terminal
// summary's order, followed by any classes it does not know, by name.
func nonZeroClasses(m map[string]int64) []classCount {
	var out []classCount
	for _, c := range errorClassOrder {
		if n := m[c]; n > 0 {
			out = append(out, classCount{c, n})
		}
	}
	var unknown []string
	for c, n := range m {
		if n > 0 && !slices.Contains(errorClassOrder, c) {
			unknown = append(unknown, c)
		}
	}
	slices.Sort(unknown)
	for _, c := range unknown {
		out = append(out, classCount{c, m[c]})
	}
	return out
}

// count formats an integer (int or int64) with thousands separators:
// 1,234,567.
func count(v any) string {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	default:
		return fmt.Sprint(v)
	}
	s := strconv.FormatInt(n, 10)
	first := 0
	if n < 0 {
		first = 1
	}
	for i := len(s) - 3; i > first; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// rate formats a as a percentage of b.
func rate(a, b int64) string {
	if b == 0 {
		return "–"
	}
	return num(pct(a, b)) + "%"
}

// measured formats a threshold's value in its unit.
func measured(v float64, unit string) string {
	if unit == "ms" {
		return latencyText(v)
	}
	return num(v) + unit
}
