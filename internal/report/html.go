package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
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
	//go:embed assets/uPlot.min.css
	uplotCSS string
	//go:embed assets/uPlot.iife.min.js
	uplotJS string
)

// maxHTMLMessages is how many distinct error messages the page lists; the
// embedded JSON holds all of them.
const maxHTMLMessages = 10

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"add":      func(a, b int64) int64 { return a + b },
	"bytes":    bytes,
	"classes":  nonZeroClasses,
	"count":    count,
	"duration": duration,
	"measured": measured,
	"msec":     msec,
	"num":      num,
	"rate":     rate,
}).Parse(htmlSource))

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
	CSS      template.CSS
	JS       template.JS
	UPlotCSS template.CSS
	UPlotJS  template.JS
}

// WriteHTML writes a self-contained HTML report of s: totals, latency, charts
// over time (uPlot, inlined), endpoints, errors, checks, thresholds and
// generator warnings. The page needs no network; s is embedded in it as JSON
// in the element with id "surge-data".
func WriteHTML(w io.Writer, s *Summary) error {
	p := htmlPage{
		Summary:  s,
		Title:    s.Run.Name,
		Started:  s.Run.Started,
		Messages: s.Messages,
		Data:     s,
		CSS:      template.CSS(htmlCSS),
		JS:       template.JS(htmlJS),
		UPlotCSS: template.CSS(uplotCSS),
		UPlotJS:  template.JS(uplotJS),
	}
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
		return msec(v)
	}
	return num(v) + unit
}
