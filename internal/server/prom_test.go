package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// /metrics of a run in progress is Prometheus text that Prometheus's own
// parser reads, each family of the type it is documented as.
func TestMetricsParseAsPrometheusText(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	var created struct{ ID string }
	e.json("POST", "/api/v1/runs", map[string]any{"url": tb.URL() + "/api/items", "rate": 40, "duration": "20s"}, http.StatusCreated, &created)
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := e.do("GET", "/metrics", nil)
		if status != http.StatusOK {
			t.Fatalf("/metrics: %d %s", status, body)
		}
		var err error
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err = parser.TextToMetricFamilies(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("Prometheus cannot parse /metrics: %v\n%s", err, body)
		}
		if fams["surge_requests_total"] != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for name, typ := range map[string]dto.MetricType{
		"surge_runs_running": dto.MetricType_GAUGE, "surge_run_info": dto.MetricType_GAUGE,
		"surge_requests_total": dto.MetricType_COUNTER, "surge_request_errors_total": dto.MetricType_COUNTER,
		"surge_request_duration_seconds": dto.MetricType_SUMMARY, "surge_iterations_total": dto.MetricType_COUNTER,
		"surge_vus": dto.MetricType_GAUGE, "surge_generator_cpu_cores": dto.MetricType_GAUGE,
	} {
		f := fams[name]
		if f == nil || f.GetType() != typ || len(f.GetMetric()) == 0 {
			t.Errorf("family %s: %v, want type %v with samples", name, f, typ)
		}
	}
	if got := fams["surge_runs_running"].GetMetric()[0].GetGauge().GetValue(); got != 1 {
		t.Errorf("surge_runs_running = %v, want 1", got)
	}
	lat := fams["surge_request_duration_seconds"].GetMetric()[0]
	if s := lat.GetSummary(); s == nil || len(s.GetQuantile()) != 5 || s.GetSampleCount() == 0 {
		t.Errorf("latency summary: %v", s)
	}
	e.json("POST", "/api/v1/runs/"+created.ID+"/stop", nil, http.StatusOK, nil)
}
