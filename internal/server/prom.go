package server

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/surgeload/surge/internal/report"
)

// handleMetrics: GET /metrics serves the runs in progress in the Prometheus
// text format (version 0.0.4), written by hand from the latest merged
// interval of each run: counters since the run started, gauges of the last
// interval, and latency quantiles of the whole run so far. Series carry the
// run's id, so a new run starts new series instead of resetting counters.
func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	views := make([]liveView, 0, len(s.live))
	for _, v := range s.live {
		views = append(views, *v)
	}
	s.mu.Unlock()
	sort.Slice(views, func(i, j int) bool { return views[i].run.ID < views[j].run.ID })

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(promText(views))
}

// quantiles exported for latency, as in the summary.
var promQuantiles = []struct {
	q   string
	get func(report.Latency) float64
}{
	{"0.5", func(l report.Latency) float64 { return l.P50 }},
	{"0.9", func(l report.Latency) float64 { return l.P90 }},
	{"0.95", func(l report.Latency) float64 { return l.P95 }},
	{"0.99", func(l report.Latency) float64 { return l.P99 }},
	{"0.999", func(l report.Latency) float64 { return l.P999 }},
}

func promText(views []liveView) []byte {
	var b bytes.Buffer
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, labels []string, v float64) {
		b.WriteString(name)
		if len(labels) > 0 {
			b.WriteByte('{')
			for i := 0; i < len(labels); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=\"%s\"", labels[i], promEscape(labels[i+1]))
			}
			b.WriteByte('}')
		}
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteByte('\n')
	}
	run := func(v liveView, more ...string) []string {
		return append([]string{"run", v.run.ID}, more...)
	}
	ep := func(v liveView, e report.EndpointSummary, more ...string) []string {
		return append(run(v, "endpoint", e.Name, "method", e.Method), more...)
	}

	family("surge_runs_running", "gauge", "Runs in progress on this server (its own and recorded).")
	sample("surge_runs_running", nil, float64(len(views)))
	if len(views) == 0 {
		return b.Bytes()
	}
	family("surge_run_info", "gauge", "A run in progress; always 1, with the run's name, model and source as labels.")
	for _, v := range views {
		sample("surge_run_info", run(v, "name", v.run.Name, "model", v.run.Model, "source", v.run.Source), 1)
	}
	family("surge_run_elapsed_seconds", "gauge", "Seconds since the run started.")
	for _, v := range views {
		sample("surge_run_elapsed_seconds", run(v), v.last.Point.Elapsed)
	}
	family("surge_requests_total", "counter", "Requests sent, whatever their outcome.")
	for _, v := range views {
		for _, e := range v.last.Summary.Endpoints {
			sample("surge_requests_total", ep(v, e), float64(e.Requests))
		}
	}
	family("surge_request_errors_total", "counter", "Failed requests by error class.")
	for _, v := range views {
		for _, e := range v.last.Summary.Endpoints {
			classes := make([]string, 0, len(e.Classes))
			for c := range e.Classes {
				classes = append(classes, c)
			}
			sort.Strings(classes)
			for _, c := range classes {
				sample("surge_request_errors_total", ep(v, e, "class", c), float64(e.Classes[c]))
			}
		}
	}
	family("surge_request_duration_seconds", "summary", "Request latency since the run started, measured from when each request was due (quantiles within 1 %).")
	for _, v := range views {
		for _, e := range v.last.Summary.Endpoints {
			for _, q := range promQuantiles {
				sample("surge_request_duration_seconds", ep(v, e, "quantile", q.q), q.get(e.Latency)/1000)
			}
			// Latency holds the mean, so the sum is exact to the nanosecond
			// rounding of the mean.
			sample("surge_request_duration_seconds_sum", ep(v, e), e.Latency.Mean*float64(e.Requests)/1000)
			sample("surge_request_duration_seconds_count", ep(v, e), float64(e.Requests))
		}
	}
	counters := []struct {
		name, help string
		get        func(report.Totals) int64
	}{
		{"surge_bytes_sent_total", "Bytes sent.", func(t report.Totals) int64 { return t.BytesSent }},
		{"surge_bytes_received_total", "Bytes received.", func(t report.Totals) int64 { return t.BytesReceived }},
		{"surge_iterations_total", "Iterations finished.", func(t report.Totals) int64 { return t.Iterations }},
		{"surge_dropped_iterations_total", "Open model: due iterations dropped because no VU was free within the timeout.", func(t report.Totals) int64 { return t.DroppedIterations }},
	}
	for _, c := range counters {
		family(c.name, "counter", c.help)
		for _, v := range views {
			sample(c.name, run(v), float64(c.get(v.last.Summary.Totals)))
		}
	}
	gauges := []struct {
		name, help string
		get        func(report.Point) float64
	}{
		{"surge_vus", "Virtual users active at the end of the last interval.", func(p report.Point) float64 { return float64(p.VUs) }},
		{"surge_rps", "Requests per second in the last interval.", func(p report.Point) float64 { return p.RPS }},
		{"surge_interval_p99_seconds", "99th percentile latency of the last interval.", func(p report.Point) float64 { return p.P99 / 1000 }},
		{"surge_generator_cpu_cores", "CPU the load generator used in the last interval, in cores.", func(p report.Point) float64 { return p.CPU }},
	}
	for _, g := range gauges {
		family(g.name, "gauge", g.help)
		for _, v := range views {
			sample(g.name, run(v), g.get(v.last.Point))
		}
	}
	return b.Bytes()
}

// promEscape escapes a label value: backslash, double quote and newline.
func promEscape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(s)
}
