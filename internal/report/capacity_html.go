package report

import (
	bytespkg "bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// CapacityDoc is what the capacity page reads of a surge.capacity/v1
// document (internal/capacity writes it; this package cannot import that
// one, which imports this). Fields it does not draw are carried in the
// embedded JSON all the same.
type CapacityDoc struct {
	Schema      string         `json:"schema"`
	Target      string         `json:"target"`
	SLO         []string       `json:"slo"`
	MaxRate     float64        `json:"max_rate"`
	LowerBound  bool           `json:"lower_bound"`
	Confirmed   bool           `json:"confirmed"`
	StartMissed bool           `json:"start_missed"`
	KneeRate    float64        `json:"knee_rate"`
	PlateauRPS  float64        `json:"plateau_rps"`
	PlateauIPS  float64        `json:"plateau_ips"`
	Steps       []CapacityStep `json:"steps"`
	Bottleneck  struct {
		Kind        string   `json:"kind"`
		Evidence    string   `json:"evidence"`
		Concurrency *float64 `json:"concurrency"`
		ServiceMS   *float64 `json:"service_ms"`
	} `json:"bottleneck"`
	Probe        string  `json:"probe"`
	ProbeStarved string  `json:"probe_starved"`
	Started      string  `json:"started"`
	DurationS    float64 `json:"duration_s"`
}

// CapacityStep is one step of a CapacityDoc.
type CapacityStep struct {
	Phase       string  `json:"phase"`
	Rate        float64 `json:"rate"`
	AchievedRPS float64 `json:"achieved_rps"`
	// AchievedIPS is iterations/s, what the offered rate is in; 0 in a
	// search stored before it was recorded (then requests/s stand in).
	AchievedIPS float64  `json:"achieved_ips"`
	P50         float64  `json:"p50_ms"`
	P99         float64  `json:"p99_ms"`
	ErrorRate   float64  `json:"error_rate"`
	OK          bool     `json:"ok"`
	Failed      []string `json:"failed"`
	Reason      string   `json:"reason"`
	Generator   bool     `json:"generator_limited"`
	ProbeP99    *float64 `json:"probe_p99_ms"`
	ProbeErrors *int     `json:"probe_errors"`
	ProbeN      *int     `json:"probes"`
	// Monitors: by monitor, by series key, the window's {min, max}.
	Monitors map[string]map[string]struct {
		Min float64 `json:"min"`
		Max float64 `json:"max"`
	} `json:"monitors"`
}

// CapacitySchema is the schema WriteCapacityHTML draws.
const CapacitySchema = "surge.capacity/v1"

// maxCapacitySeries bounds the monitor charts of a capacity page: the
// first series of each monitor, by key.
const maxCapacitySeries = 12

// capacityPage is what the capacity template sees.
type capacityPage struct {
	Doc         *CapacityDoc
	Title       string
	Started     string
	Took        string
	Qual        string
	Steps       []capacityRow
	Monitors    []capacityMonitor
	Probe       bool
	Data        template.JS // the document, verbatim, HTML-safe
	JS          template.JS
	UPlotJS     template.JS
	CSSStyle    template.CSS
	UPlotCSS    template.CSS
	Concurrency string
}

type capacityRow struct {
	N                                     int
	Phase, Rate, Achieved, P50, P99, Errs string
	Probe, Verdict, Notes                 string
	OK                                    bool
}

// capacityMonitor is one monitor's charts: one per series, its range in
// each step against the step's rate.
type capacityMonitor struct {
	Name   string
	Series []capacitySeries
}

type capacitySeries struct {
	ID, Key string
}

// WriteCapacityHTML writes a self-contained page of a capacity search from
// its surge.capacity/v1 JSON: the verdict, the curve — achieved against
// offered rate, and p50/p99 (and the health probe's p99) against rate, the
// knee and the max rate marked — each monitor series per step, and the
// steps. The page needs no network (uPlot is inlined, as in the run
// report); doc is embedded verbatim in the element with id
// "surge-capacity".
func WriteCapacityHTML(w io.Writer, doc []byte) error {
	var d CapacityDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return fmt.Errorf("writing the capacity page: reading the result: %w", err)
	}
	if d.Schema != CapacitySchema {
		return fmt.Errorf("writing the capacity page: schema %q, want %s", d.Schema, CapacitySchema)
	}
	var compact, safe bytespkg.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return fmt.Errorf("writing the capacity page: %w", err)
	}
	// No "<", ">" or "&" can end the script element early.
	json.HTMLEscape(&safe, compact.Bytes())
	p := capacityPage{Doc: &d, Title: d.Target, Data: template.JS(safe.String()),
		CSSStyle: template.CSS(htmlCSS + capacityCSS), UPlotCSS: template.CSS(uplotCSS),
		JS: template.JS(capacityJS), UPlotJS: template.JS(uplotJS)}
	if p.Title == "" {
		p.Title = "capacity search"
	}
	p.Started = d.Started
	if t, err := time.Parse(time.RFC3339Nano, d.Started); err == nil {
		p.Started = t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	p.Took = duration(d.DurationS)
	switch {
	case d.LowerBound:
		p.Qual = "a lower bound: the target may take more"
	case !d.Confirmed && !d.StartMissed:
		p.Qual = "not confirmed: it failed its confirming hold"
	}
	if c := d.Bottleneck.Concurrency; c != nil && d.Bottleneck.ServiceMS != nil {
		p.Concurrency = fmt.Sprintf("~%s requests in service at once, %s each", num(*c), latencyText(*d.Bottleneck.ServiceMS))
	}
	keys := map[string]map[string]bool{}
	for i, s := range d.Steps {
		achieved := num(s.achieved()) + "/s"
		if s.AchievedIPS > 0 && s.AchievedRPS > s.AchievedIPS*1.005 {
			achieved += " (" + num(s.AchievedRPS) + " req/s)" // a flow of several requests
		}
		r := capacityRow{N: i + 1, Phase: s.Phase, Rate: num(s.Rate) + "/s", Achieved: achieved,
			P50: latencyText(s.P50), P99: latencyText(s.P99), Errs: fmt.Sprintf("%.2f %%", s.ErrorRate), OK: s.OK, Verdict: "ok"}
		if !s.OK {
			r.Verdict = "fail"
		}
		switch {
		case s.ProbeP99 != nil:
			p.Probe = true
			r.Probe = latencyText(*s.ProbeP99)
			if s.ProbeErrors != nil && *s.ProbeErrors > 0 {
				r.Probe += fmt.Sprintf(" (%d failed)", *s.ProbeErrors)
			}
		case s.ProbeN != nil:
			p.Probe = true
			r.Probe = "–"
			if *s.ProbeN > 0 {
				r.Probe = fmt.Sprintf("all %d failed", *s.ProbeN)
			}
		}
		notes := append([]string(nil), s.Failed...)
		if s.Reason != "" {
			notes = append(notes, s.Reason)
		}
		if s.Generator {
			notes = append(notes, "generator-limited")
		}
		r.Notes = strings.Join(notes, "; ")
		p.Steps = append(p.Steps, r)
		for m, series := range s.Monitors {
			if keys[m] == nil {
				keys[m] = map[string]bool{}
			}
			for k := range series {
				keys[m][k] = true
			}
		}
	}
	names := make([]string, 0, len(keys))
	for m := range keys {
		names = append(names, m)
	}
	sort.Strings(names)
	for mi, m := range names {
		cm := capacityMonitor{Name: m}
		ks := make([]string, 0, len(keys[m]))
		for k := range keys[m] {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		if len(ks) > maxCapacitySeries {
			ks = ks[:maxCapacitySeries]
		}
		for si, k := range ks {
			cm.Series = append(cm.Series, capacitySeries{ID: fmt.Sprintf("cap-mon-%d-%d", mi, si), Key: k})
		}
		p.Monitors = append(p.Monitors, cm)
	}
	if err := capacityTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("writing the capacity page: %w", err)
	}
	return nil
}

var capacityTemplate = template.Must(template.New("capacity").Parse(capacityHTML))

const capacityCSS = `
.verdict{font-size:1.1rem;line-height:1.5}
.verdict dt{font-weight:600}
.verdict dd{margin:0 0 .6rem 0}
.bottleneck-kind{font-family:ui-monospace,monospace;font-weight:700}
tr.fail td{color:#b42318}
`

const capacityHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="surge">
<title>Surge capacity: {{.Title}}</title>
<style>{{.UPlotCSS}}</style>
<style>{{.CSSStyle}}</style>
</head>
<body>
<header>
  <h1><span class="brand">Surge</span> capacity of {{.Title}}</h1>
  <p class="badges">
    <span class="badge">objectives {{range $i, $s := .Doc.SLO}}{{if $i}}, {{end}}{{$s}}{{end}}</span>
    <span class="badge {{if .Doc.StartMissed}}bad{{else if .Qual}}warn{{else}}good{{end}}" id="bottleneck-badge">{{.Doc.Bottleneck.Kind}}</span>
  </p>
  <dl class="meta">
    {{- with .Started}}
    <div><dt>started</dt><dd>{{.}}</dd></div>
    {{- end}}
    <div><dt>took</dt><dd>{{.Took}}</dd></div>
    <div><dt>steps</dt><dd>{{len .Doc.Steps}}</dd></div>
  </dl>
</header>
<main>
<section id="verdict">
  <h2>Verdict</h2>
  <dl class="verdict">
  {{- if .Doc.StartMissed}}
    <dt>max rate</dt><dd id="max-rate">none: even the start rate missed the objectives</dd>
  {{- else}}
    <dt>max rate</dt><dd id="max-rate">{{printf "%.1f" .Doc.MaxRate}}/s{{with .Qual}} ({{.}}){{end}}</dd>
    <dt>knee</dt><dd id="knee">{{printf "%.1f" .Doc.KneeRate}}/s, where latency turned upward; throughput plateau {{printf "%.1f" .Doc.Plateau}}/s</dd>
  {{- end}}
    <dt>bottleneck</dt><dd id="bottleneck"><span class="bottleneck-kind">{{.Doc.Bottleneck.Kind}}</span>: {{.Doc.Bottleneck.Evidence}}</dd>
  {{- with .Concurrency}}
    <dt>Little's law</dt><dd>{{.}}</dd>
  {{- end}}
  {{- with .Doc.Probe}}
    <dt>health probe</dt><dd id="probe">{{.}}{{with $.Doc.ProbeStarved}}: {{.}}{{else}}: it held up{{end}}</dd>
  {{- end}}
  </dl>
</section>
<section id="curve">
  <h2>The curve</h2>
  <div class="charts">
    <figure><figcaption>Achieved against offered rate (the dashed line is achieved = offered); the knee and the max rate marked</figcaption><div class="chart" id="chart-throughput"></div></figure>
    <figure><figcaption>Latency against offered rate: p50, p99{{if .Probe}} and the health probe's p99{{end}}</figcaption><div class="chart" id="chart-latency"></div></figure>
  </div>
</section>
{{- if .Monitors}}
<section id="monitors">
  <h2>Monitors, per step</h2>
  <p>Each series' lowest and highest value in each step's judged window, against the step's rate.</p>
  {{- range .Monitors}}
  <h3>{{.Name}}</h3>
  <div class="charts">
    {{- $m := .Name}}
    {{- range .Series}}
    <figure><figcaption><code>{{.Key}}</code></figcaption><div class="chart monitor-chart" id="{{.ID}}" data-monitor="{{$m}}" data-key="{{.Key}}"></div></figure>
    {{- end}}
  </div>
  {{- end}}
</section>
{{- end}}
<section id="steps">
  <h2>Steps</h2>
  <table>
    <thead><tr><th>#</th><th>phase</th><th>offered</th><th>achieved</th><th>p50</th><th>p99</th><th>errors</th>{{if .Probe}}<th>probe p99</th>{{end}}<th>verdict</th><th>notes</th></tr></thead>
    <tbody>
    {{- range .Steps}}
      <tr class="{{if .OK}}ok{{else}}fail{{end}}"><td>{{.N}}</td><td>{{.Phase}}</td><td>{{.Rate}}</td><td>{{.Achieved}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.Errs}}</td>{{if $.Probe}}<td>{{.Probe}}</td>{{end}}<td>{{.Verdict}}</td><td>{{.Notes}}</td></tr>
    {{- end}}
    </tbody>
  </table>
</section>
</main>
<script type="application/json" id="surge-capacity">{{.Data}}</script>
<script>{{.UPlotJS}}</script>
<script>{{.JS}}</script>
</body>
</html>
`

// capacityJS draws the curve from the embedded document. Steps are drawn
// in the order of their rate (a rate held twice is two points).
const capacityJS = `(function () {
  "use strict";
  const doc = JSON.parse(document.getElementById("surge-capacity").textContent);
  const steps = (doc.steps || []).slice().sort((a, b) => a.rate - b.rate);
  if (steps.length === 0 || typeof uPlot === "undefined") return;
  const x = steps.map((s) => s.rate);
  const col = (k) => steps.map((s) => (s[k] == null ? null : s[k]));
  const num = (v) => (v == null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 2 }));
  const ms = (v) => {
    if (v == null) return "–";
    const a = Math.abs(v);
    if (a >= 1000) return (v / 1000).toFixed(2) + " s";
    if (a >= 100) return v.toFixed(0) + " ms";
    if (a >= 10) return v.toFixed(1) + " ms";
    return v.toFixed(2) + " ms";
  };
  const fromZero = (u, min, max) => uPlot.rangeNum(0, max > 0 ? max : 1, 0.1, true);
  const line = (label, color, scale, fmt, extra) =>
    Object.assign({ label, scale, stroke: color, width: 2, value: (u, v) => fmt(v), points: { show: true, size: 6 } }, extra);
  // The knee and the max rate, as vertical lines.
  const marks = [];
  if (doc.knee_rate > 0) marks.push({ at: doc.knee_rate, label: "knee", color: "#8e44ad" });
  if (doc.max_rate > 0) marks.push({ at: doc.max_rate, label: "max rate", color: "#1a7f37" });
  const markHook = (u) => {
    const ctx = u.ctx;
    for (const m of marks) {
      const px = u.valToPos(m.at, "x", true);
      ctx.save();
      ctx.strokeStyle = m.color;
      ctx.fillStyle = m.color;
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(px, u.bbox.top);
      ctx.lineTo(px, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.font = 12 * devicePixelRatio + "px sans-serif";
      ctx.fillText(m.label + " " + num(m.at) + "/s", px + 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
      ctx.restore();
    }
  };
  const xSeries = { label: "offered", value: (u, v) => num(v) + "/s" };
  const xAxis = { label: "offered rate, /s", values: (u, s) => s.map(num) };
  const charts = [
    {
      id: "chart-throughput",
      series: [
        line("achieved/s", "#3556c9", "rps", num),
        line("offered/s", "#1d2330", "rps", num, { dash: [8, 4], width: 1.5, points: { show: false } }),
      ],
      // Iterations/s, the offered rate's unit (requests/s in a search
      // stored before iterations were recorded).
      data: [steps.map((s) => s.achieved_ips || s.achieved_rps), x],
      scales: { rps: { range: fromZero } },
      axes: [{ scale: "rps", label: "iterations/s", values: (u, s) => s.map(num) }],
    },
    {
      id: "chart-latency",
      series: [line("p50", "#1a7f37", "ms", ms), line("p99", "#e67e22", "ms", ms)].concat(
        steps.some((s) => s.probe_p99_ms != null) ? [line("probe p99", "#c62828", "ms", ms, { dash: [4, 3] })] : []),
      data: [col("p50_ms"), col("p99_ms")].concat(steps.some((s) => s.probe_p99_ms != null) ? [col("probe_p99_ms")] : []),
      scales: { ms: { range: fromZero } },
      axes: [{ scale: "ms", label: "latency", values: (u, s) => s.map(ms) }],
    },
  ];
  for (const el of document.querySelectorAll(".monitor-chart")) {
    const m = el.dataset.monitor, k = el.dataset.key;
    const get = (f) => steps.map((s) => (s.monitors && s.monitors[m] && s.monitors[m][k] ? s.monitors[m][k][f] : null));
    charts.push({
      el,
      series: [line("max", "#c62828", "v", num), line("min", "#3556c9", "v", num, { width: 1.5 })],
      data: [get("max"), get("min")],
      scales: { v: { range: fromZero } },
      axes: [{ scale: "v", values: (u, s) => s.map(num) }],
    });
  }
  const height = 260;
  const plots = [];
  for (const c of charts) {
    const el = c.el || document.getElementById(c.id);
    if (!el) continue;
    const plot = new uPlot({
      width: el.clientWidth || 600,
      height,
      scales: Object.assign({ x: { time: false } }, c.scales),
      series: [xSeries, ...c.series],
      axes: [xAxis, ...c.axes.map((a) => Object.assign({ size: 64, labelSize: 24 }, a))],
      hooks: { draw: [markHook] },
    }, [x, ...c.data], el);
    el.plot = plot; // for tests: el.plot.data
    plots.push({ el, plot });
  }
  window.addEventListener("resize", () => {
    for (const { el, plot } of plots) plot.setSize({ width: el.clientWidth || 600, height });
  });
})();
`

// achieved is the step's achieved rate in the offered rate's unit,
// iterations/s.
func (s CapacityStep) achieved() float64 {
	if s.AchievedIPS > 0 {
		return s.AchievedIPS
	}
	return s.AchievedRPS
}

// Plateau is the throughput plateau in iterations/s (requests/s in a
// search stored before iterations were recorded).
func (d CapacityDoc) Plateau() float64 {
	if d.PlateauIPS > 0 {
		return d.PlateauIPS
	}
	return d.PlateauRPS
}
