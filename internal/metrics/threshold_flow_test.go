package metrics_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

func TestParseFlowThreshold(t *testing.T) {
	tests := []struct {
		in, flow, metric string
		value            float64
		unit             metrics.Unit
	}{
		{"flow[order].p99<5s", "order", "p99", 5000, metrics.Milliseconds},
		{"flow[place an order].p50 <= 800ms", "place an order", "p50", 800, metrics.Milliseconds},
		{"flow[order].p95<2s", "order", "p95", 2000, metrics.Milliseconds},
		{"flow[order].max<10s", "order", "max", 10000, metrics.Milliseconds},
		{"flow[order].p(99.9)<1m", "order", "p(99.9)", 60000, metrics.Milliseconds},
		{"flow[order].errors<1%", "order", "errors", 1, metrics.Percent},
		{"flow[order].errors==0", "order", "errors", 0, metrics.Count},
		{"flow[order].error_rate<0.05", "order", "error_rate", 5, metrics.Percent},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := metrics.ParseThreshold(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Flow != tt.flow || got.Endpoint != "" || got.Metric != tt.metric || got.Value != tt.value || got.Unit != tt.unit {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestParseFlowThresholdErrors(t *testing.T) {
	tests := []struct {
		in, want string
		col      int
	}{
		{"flow[].p99<1s", "empty flow name", 6},
		{"flow[order.p99<1s", "want flow[NAME].METRIC", 1},
		{"flow[order].p9<1s", `unknown metric "p9" of flow[order]; did you mean "p90"?`, 13},
		{"flow[order].rps>10", "flow[order].rps: a flow threshold is on its durations", 13},
		{"flow[order].requests>10", "flow[order].requests: a flow threshold", 13},
		{"flow[order].checks>99%", "flow[order].checks: a flow threshold", 13},
		{"flow[order].p99<5parsecs", `unknown duration unit "parsecs"`, 18},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := metrics.ParseThreshold(tt.in)
			var te *metrics.ThresholdError
			if !errors.As(err, &te) {
				t.Fatalf("want a ThresholdError, got %v", err)
			}
			if !strings.Contains(te.Msg, tt.want) || te.Col != tt.col {
				t.Fatalf("got col %d %q, want col %d containing %q", te.Col, te.Msg, tt.col, tt.want)
			}
		})
	}
}

// A flow threshold measures the named flow's durations and errors, never
// the endpoints'; a flow the run lacks is not found, and one of which no
// iteration finished has no latency (NaN, which fails).
func TestFlowThresholdMeasure(t *testing.T) {
	r := metrics.NewFlowRecorder([]string{"order", "stuck", "browse"})
	for i := range 100 {
		// order: 10, 20, …, 1000 ms; 5 of the 100 failed.
		r.Record(i, 0, time.Duration(i+1)*10*time.Millisecond, 2, i < 5, true)
	}
	r.RecordCut(0, 1, 4)
	r.RecordCut(1, 1, 4)
	ep := metrics.Endpoint{Name: "order", Method: "POST", Requests: 1, Latency: metrics.NewSketch()}
	ep.Latency.Add(time.Millisecond)
	ep.Classes[metrics.OK] = 1
	total := metrics.Add(metrics.Snapshot{Endpoints: []metrics.Endpoint{ep}, Flows: r.Snapshot()})

	tests := []struct {
		expr    string
		want    float64 // NaN: no value
		found   bool
		holds   bool
		missing string
	}{
		{"flow[order].p50<600ms", 500, true, true, ""},
		{"flow[order].p99<900ms", 990, true, false, ""},
		{"flow[order].max<=1s", 1000, true, true, ""},
		{"flow[order].min>5ms", 10, true, true, ""},
		{"flow[order].errors<1%", 5, true, false, ""},
		{"flow[order].errors<=5", 5, true, true, ""},
		{"flow[order].error_rate<10%", 5, true, true, ""},
		{"flow[stuck].p99<5s", math.NaN(), true, false, `no iteration of flow "stuck" finished (2 cut short by the end of the run)`},
		{"flow[stuck].errors<1%", 0, true, true, ""},
		{"flow[ordr].p99<5s", 0, false, false, `no flow named "ordr"`},
		{"endpoint[order].p99<5s", 1, true, true, ""},
		{"endpoint[ordr].p99<5s", 0, false, false, `no endpoint named "ordr"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			th, err := metrics.ParseThreshold(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			v, found := th.Measure(total, time.Second)
			if found != tt.found {
				t.Fatalf("found %v, want %v", found, tt.found)
			}
			switch {
			case math.IsNaN(tt.want):
				if !math.IsNaN(v) {
					t.Errorf("value %v, want none (NaN)", v)
				}
			case math.Abs(v-tt.want) > 0.01*tt.want:
				t.Errorf("value %v, want %v ± 1%%", v, tt.want)
			}
			if found && th.Holds(v) != tt.holds {
				t.Errorf("holds %v, want %v", th.Holds(v), tt.holds)
			}
			if m := th.Missing(total); m != tt.missing {
				t.Errorf("missing %q, want %q", m, tt.missing)
			}
		})
	}
}
