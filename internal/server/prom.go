package server

import (
	"net/http"
	"sort"

	"github.com/surgeload/surge/internal/promtext"
	"github.com/surgeload/surge/internal/report"
)

// handleMetrics: GET /metrics serves the runs in progress in the Prometheus
// text format (version 0.0.4, internal/promtext) from the latest merged
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

	b, err := promtext.Encode(runFamilies(views))
	if err != nil {
		// Every name is ours and checked by the tests: a bug, not input.
		s.log.Error("writing /metrics", "err", err)
		writeError(w, http.StatusInternalServerError, "writing the metrics failed: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", promtext.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
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

// runFamilies are the metric families of the runs in progress.
func runFamilies(views []liveView) []promtext.Family {
	run := func(v liveView, more ...string) []promtext.Label {
		return promtext.L(append([]string{"run", v.run.ID}, more...)...)
	}
	ep := func(v liveView, e report.EndpointSummary, more ...string) []promtext.Label {
		return promtext.L(append([]string{"run", v.run.ID, "endpoint", e.Name, "method", e.Method}, more...)...)
	}
	fams := []promtext.Family{{Name: "surge_runs_running", Type: promtext.Gauge,
		Help:    "Runs in progress on this server (its own and recorded).",
		Samples: []promtext.Sample{{Value: float64(len(views))}}}}
	// perRun is a family with one sample per run.
	perRun := func(name string, typ promtext.Type, help string, get func(liveView) float64) promtext.Family {
		f := promtext.Family{Name: name, Type: typ, Help: help}
		for _, v := range views {
			f.Samples = append(f.Samples, promtext.Sample{Labels: run(v), Value: get(v)})
		}
		return f
	}
	info := promtext.Family{Name: "surge_run_info", Type: promtext.Gauge,
		Help: "A run in progress; always 1, with the run's name, model and source as labels."}
	for _, v := range views {
		info.Samples = append(info.Samples, promtext.Sample{Labels: run(v, "name", v.run.Name, "model", v.run.Model, "source", v.run.Source), Value: 1})
	}
	fams = append(fams, info,
		perRun("surge_run_elapsed_seconds", promtext.Gauge, "Seconds since the run started.",
			func(v liveView) float64 { return v.last.Point.Elapsed }))

	requests := promtext.Family{Name: "surge_requests_total", Type: promtext.Counter, Help: "Requests sent, whatever their outcome."}
	errs := promtext.Family{Name: "surge_request_errors_total", Type: promtext.Counter, Help: "Failed requests by error class."}
	latency := promtext.Family{Name: "surge_request_duration_seconds", Type: promtext.Summary,
		Help: "Request latency since the run started, measured from when each request was due (quantiles within 1 %)."}
	for _, v := range views {
		for _, e := range v.last.Summary.Endpoints {
			requests.Samples = append(requests.Samples, promtext.Sample{Labels: ep(v, e), Value: float64(e.Requests)})
			classes := make([]string, 0, len(e.Classes))
			for c := range e.Classes {
				classes = append(classes, c)
			}
			sort.Strings(classes)
			for _, c := range classes {
				errs.Samples = append(errs.Samples, promtext.Sample{Labels: ep(v, e, "class", c), Value: float64(e.Classes[c])})
			}
			for _, q := range promQuantiles {
				latency.Samples = append(latency.Samples, promtext.Sample{Labels: ep(v, e, "quantile", q.q), Value: q.get(e.Latency) / 1000})
			}
			// Latency holds the mean, so the sum is exact to the nanosecond
			// rounding of the mean.
			latency.Samples = append(latency.Samples,
				promtext.Sample{Suffix: "_sum", Labels: ep(v, e), Value: e.Latency.Mean * float64(e.Requests) / 1000},
				promtext.Sample{Suffix: "_count", Labels: ep(v, e), Value: float64(e.Requests)})
		}
	}
	fams = append(fams, requests, errs, latency)

	for _, c := range []struct {
		name, help string
		get        func(report.Totals) int64
	}{
		{"surge_bytes_sent_total", "Bytes sent.", func(t report.Totals) int64 { return t.BytesSent }},
		{"surge_bytes_received_total", "Bytes received.", func(t report.Totals) int64 { return t.BytesReceived }},
		{"surge_iterations_total", "Iterations finished.", func(t report.Totals) int64 { return t.Iterations }},
		{"surge_dropped_iterations_total", "Open model: due iterations dropped because no VU was free within the timeout.", func(t report.Totals) int64 { return t.DroppedIterations }},
	} {
		fams = append(fams, perRun(c.name, promtext.Counter, c.help, func(v liveView) float64 { return float64(c.get(v.last.Summary.Totals)) }))
	}
	for _, g := range []struct {
		name, help string
		get        func(report.Point) float64
	}{
		{"surge_vus", "Virtual users active at the end of the last interval.", func(p report.Point) float64 { return float64(p.VUs) }},
		{"surge_rps", "Requests per second in the last interval.", func(p report.Point) float64 { return p.RPS }},
		{"surge_interval_p99_seconds", "99th percentile latency of the last interval.", func(p report.Point) float64 { return p.P99 / 1000 }},
		{"surge_generator_cpu_cores", "CPU the load generator used in the last interval, in cores.", func(p report.Point) float64 { return p.CPU }},
	} {
		fams = append(fams, perRun(g.name, promtext.Gauge, g.help, func(v liveView) float64 { return g.get(v.last.Point) }))
	}
	return fams
}
