package metrics_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		name, in   string
		metric, op string
		value      float64
		unit       metrics.Unit
		endpoint   string
	}{
		{name: "p99 ms", in: "p99<200ms", metric: "p99", op: "<", value: 200, unit: metrics.Milliseconds},
		{name: "spaces and seconds", in: "p95 < 1s", metric: "p95", op: "<", value: 1000, unit: metrics.Milliseconds},
		{name: "bare number is ms", in: "mean<=50", metric: "mean", op: "<=", value: 50, unit: metrics.Milliseconds},
		{name: "error rate", in: "errors<1%", metric: "errors", op: "<", value: 1, unit: metrics.Percent},
		{name: "error count", in: "errors==0", metric: "errors", op: "==", value: 0, unit: metrics.Count},
		{name: "rps", in: "rps>1000", metric: "rps", op: ">", value: 1000, unit: metrics.Count},
		{name: "p(99.9)", in: "p(99.9) < 2s", metric: "p(99.9)", op: "<", value: 2000, unit: metrics.Milliseconds},
		{name: "endpoint", in: "endpoint[list todos].p99 < 300ms", metric: "p99", op: "<", value: 300, unit: metrics.Milliseconds, endpoint: "list todos"},
		{name: "fraction rate", in: "error_rate<0.01", metric: "error_rate", op: "<", value: 1, unit: metrics.Percent},
		{name: "microseconds", in: "p50<500us", metric: "p50", op: "<", value: 0.5, unit: metrics.Milliseconds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metrics.ParseThreshold(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Metric != tt.metric || got.Op != tt.op || got.Value != tt.value || got.Unit != tt.unit || got.Endpoint != tt.endpoint {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestParseThresholdErrors(t *testing.T) {
	tests := []struct {
		in, want string
		col      int
	}{
		{"p99", "missing comparison", 4},
		{"erors<1%", `unknown metric "erors"; did you mean "errors"?`, 1},
		{"p99<", "missing value", 5},
		{"p99<fast", `want a number, got "fast"`, 5},
		{"p99<200parsecs", `unknown duration unit "parsecs"`, 8},
		{"rps>10%", `unexpected unit "%" for rps`, 7},
		{"<5", "missing metric", 1},
		{"endpoint[].p99<1s", "empty endpoint name", 10},
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

func TestThresholdMeasure(t *testing.T) {
	start := time.Now()
	rec := metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "a", Method: "GET"}, {Name: "b", Method: "GET"}}, nil)
	for i := range 100 {
		c := metrics.OK
		if i < 5 {
			c = metrics.Status5xx
		}
		rec.Record(i, i%2, metrics.Outcome{Class: c, Latency: time.Duration(i+1) * time.Millisecond})
	}
	total := rec.Snapshot(start.Add(10 * time.Second))
	tests := []struct {
		expr string
		want float64
		ok   bool
	}{
		{"errors<1%", 5, false},
		{"errors<10%", 5, true},
		{"errors<=5", 5, true},
		{"rps>=10", 10, true},
		{"max<100ms", 100, false},
		{"min==1ms", 1, true},
		{"requests==100", 100, true},
	}
	for _, tt := range tests {
		th, err := metrics.ParseThreshold(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		v, found := th.Measure(total, 10*time.Second)
		if !found || v != tt.want || th.Holds(v) != tt.ok {
			t.Errorf("%s: measured %v (found %v) holds %v, want %v holds %v", tt.expr, v, found, th.Holds(v), tt.want, tt.ok)
		}
	}
	th, _ := metrics.ParseThreshold("endpoint[b].p50<1s")
	if v, found := th.Measure(total, time.Second); !found || v < 49 || v > 53 {
		t.Errorf("endpoint[b].p50 = %v (found %v), want ≈51ms", v, found)
	}
	th, _ = metrics.ParseThreshold("endpoint[zzz].p50<1s")
	if _, found := th.Measure(total, time.Second); found {
		t.Error("unknown endpoint must not be found")
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p99<200ms", "errors<1%", "rps>1000", "endpoint[x].p95 <= 1s", "p(99.9)<2s", "checks>99%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := metrics.ParseThreshold(s)
		if err != nil {
			var te *metrics.ThresholdError
			if !errors.As(err, &te) || te.Col < 1 || te.Col > len(s)+1 {
				t.Fatalf("%q: bad error %v", s, err)
			}
			return
		}
		if th.Op == "" || th.Metric == "" {
			t.Fatalf("%q parsed to %+v", s, th)
		}
	})
}
