package metrics_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// knownRun is a run whose every threshold metric has a value known
// exactly: 200 requests of 100 ms each over 10 s (rps 20), 20 of them
// errors (10 %), 7 dropped iterations, checks 3 passed and 1 failed (75 %).
func knownRun(t *testing.T) metrics.Snapshot {
	t.Helper()
	start := time.Unix(1_700_000_000, 0)
	rec := metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "a", Method: "GET"}, {Name: "b", Method: "POST"}}, []string{"c1", "c2"})
	for i := range 200 {
		c := metrics.OK
		if i%10 == 0 {
			c = metrics.Status5xx
		}
		rec.Record(i, i%2, metrics.Outcome{Class: c, Latency: 100 * time.Millisecond})
	}
	rec.RecordCheck(0, 0, true)
	rec.RecordCheck(1, 0, true)
	rec.RecordCheck(2, 1, true)
	rec.RecordCheck(3, 1, false)
	rec.Dropped(7)
	return rec.Snapshot(start.Add(10 * time.Second))
}

// Every metric × every comparison × a bound below, equal to and above the
// measured value: the verdict must be the comparison's. A ">" evaluated as
// "<" (or any other swapped operator) fails here.
func TestThresholdOperatorsOnEveryMetric(t *testing.T) {
	total := knownRun(t)
	const elapsed = 10 * time.Second
	metricsTable := []struct {
		metric string
		// bounds below, equal to and above the measured value, as written
		below, equal, above string
		value               float64 // measured, in the threshold's unit
	}{
		{"p50", "50ms", "100ms", "200ms", 100},
		{"med", "50ms", "100ms", "200ms", 100},
		{"median", "50ms", "100ms", "200ms", 100},
		{"p75", "50ms", "100ms", "200ms", 100},
		{"p90", "50ms", "100", "200ms", 100},
		{"p95", "0.05s", "0.1s", "0.2s", 100},
		{"p99", "50000us", "100ms", "200ms", 100},
		{"p999", "50ms", "100000000ns", "200ms", 100},
		{"p99.9", "50ms", "100ms", "200ms", 100},
		{"p9999", "50ms", "100ms", "200ms", 100},
		{"p(99.5)", "50ms", "100ms", "200ms", 100},
		{"p(12)", "50ms", "100ms", "0.01m", 100},
		{"mean", "50ms", "100ms", "200ms", 100},
		{"avg", "50ms", "100ms", "200ms", 100},
		{"min", "50ms", "100ms", "200ms", 100},
		{"max", "50ms", "100ms", "200ms", 100},
		{"errors", "10", "20", "30", 20},   // a count
		{"errors", "5%", "10%", "20%", 10}, // a rate
		{"error_rate", "5%", "10%", "20%", 10},
		{"error_rate", "0.05", "0.1", "0.2", 10}, // a fraction means a rate
		{"rps", "10", "20", "40/s", 20},
		{"requests", "100", "200", "300", 200},
		{"dropped", "3", "7", "8", 7},
		{"checks", "50%", "75%", "99%", 75},
	}
	ops := []struct {
		op                  string
		below, equal, above bool // holds when the measured value is above, equal to, below the bound
	}{
		// With bound b below the measured value v, v > b.
		{"<", false, false, true},
		{"<=", false, true, true},
		{">", true, false, false},
		{">=", true, true, false},
		{"==", false, true, false},
	}
	for _, m := range metricsTable {
		for _, o := range ops {
			for _, c := range []struct {
				pos, bound string
				want       bool
			}{{"below", m.below, o.below}, {"equal", m.equal, o.equal}, {"above", m.above, o.above}} {
				expr := m.metric + " " + o.op + " " + c.bound
				t.Run(expr, func(t *testing.T) {
					th, err := metrics.ParseThreshold(expr)
					if err != nil {
						t.Fatal(err)
					}
					v, found := th.Measure(total, elapsed)
					if !found {
						t.Fatal("not found")
					}
					if math.Abs(v-m.value) > 1e-9 {
						t.Fatalf("measured %v, want %v", v, m.value)
					}
					if got := th.Holds(v); got != c.want {
						t.Fatalf("%s with %s measuring %v: holds = %v, want %v", expr, m.metric, v, got, c.want)
					}
				})
			}
		}
	}
}

// The same grammar per endpoint: endpoint[NAME].METRIC measures only that
// endpoint (a has the even requests, which hold all 20 errors).
func TestThresholdPerEndpoint(t *testing.T) {
	total := knownRun(t)
	tests := []struct {
		expr string
		want float64
		ok   bool
	}{
		{"endpoint[a].requests == 100", 100, true},
		{"endpoint[b].requests > 100", 100, false},
		{"endpoint[a].errors >= 20", 20, true},
		{"endpoint[b].errors == 0", 0, true},
		{"endpoint[a].errors < 20%", 20, false},
		{"endpoint[b].error_rate <= 0%", 0, true},
		{"endpoint[a].rps > 9", 10, true},
		{"endpoint[b].p99 <= 100ms", 100, true},
		{"endpoint[b].max > 100ms", 100, false},
	}
	for _, tt := range tests {
		th, err := metrics.ParseThreshold(tt.expr)
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		v, found := th.Measure(total, 10*time.Second)
		if !found || v != tt.want || th.Holds(v) != tt.ok {
			t.Errorf("%s: measured %v (found %v), holds %v; want %v, %v", tt.expr, v, found, th.Holds(v), tt.want, tt.ok)
		}
	}
}

// Latency metrics measure the quantile they name, within the sketch's
// 1 % relative error: p99 is not p95, p999 is not p99, mean is exact.
func TestThresholdLatencyMetricsMeasureTheirQuantile(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	rec := metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "x"}}, nil)
	for i := 1; i <= 10000; i++ {
		rec.Record(i, 0, metrics.Outcome{Latency: time.Duration(i) * 100 * time.Microsecond}) // 0.1 … 1000 ms
	}
	total := rec.Snapshot(start.Add(time.Second))
	tests := []struct {
		metric string
		want   float64 // ms
		exact  bool
	}{
		{"p50", 500, false}, {"med", 500, false}, {"p75", 750, false}, {"p90", 900, false},
		{"p95", 950, false}, {"p99", 990, false}, {"p999", 999, false}, {"p99.9", 999, false},
		{"p(99.5)", 995, false}, {"p(25)", 250, false}, {"p(1)", 10, false},
		{"mean", 500.05, true}, {"min", 0.1, true}, {"max", 1000, true},
	}
	for _, tt := range tests {
		th, err := metrics.ParseThreshold(tt.metric + "<1s")
		if err != nil {
			t.Fatal(err)
		}
		v, _ := th.Measure(total, time.Second)
		tol := tt.want*metrics.RelativeAccuracy + 0.1 // 1 % plus one sample's width
		if tt.exact {
			tol = 1e-6
		}
		if math.Abs(v-tt.want) > tol {
			t.Errorf("%s measured %v ms, want %v ± %v", tt.metric, v, tt.want, tol)
		}
	}
}

// Edge cases of measurement: no requests, no checks, no elapsed time, and
// a threshold can never hold on NaN.
func TestThresholdMeasureEdges(t *testing.T) {
	empty := metrics.NewRecorder(time.Now(), []metrics.EndpointKey{{Name: "x"}}, nil).Snapshot(time.Now())
	for expr, want := range map[string]float64{
		"errors<1%": 0, "error_rate<1%": 0, "checks>99%": 100, "rps>0": 0, "requests==0": 0, "errors==0": 0, "p99<1s": 0, "mean<1s": 0,
	} {
		th, err := metrics.ParseThreshold(expr)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Second
		if strings.HasPrefix(expr, "rps") {
			elapsed = 0
		}
		if v, found := th.Measure(empty, elapsed); !found || v != want {
			t.Errorf("%s on an empty run: %v (found %v), want %v", expr, v, found, want)
		}
	}
	th, _ := metrics.ParseThreshold("p99<1s")
	if th.Holds(math.NaN()) {
		t.Error("NaN satisfies a threshold")
	}
	th, _ = metrics.ParseThreshold("p99>=0")
	if th.Holds(math.NaN()) {
		t.Error("NaN satisfies a threshold")
	}
}

// The parsed form: units scale to the threshold's unit, a fraction of 1 or
// less means a rate, operators of two characters are not read as one.
func TestParseThresholdForms(t *testing.T) {
	tests := []struct {
		in     string
		metric string
		op     string
		value  float64
		unit   metrics.Unit
		q      float64
	}{
		{"p99 <= 2s", "p99", "<=", 2000, metrics.Milliseconds, 0.99},
		{"p95>=1m", "p95", ">=", 60000, metrics.Milliseconds, 0.95},
		{"p50==250ns", "p50", "==", 0.00025, metrics.Milliseconds, 0.5},
		{"med<3µs", "p50", "<", 0.003, metrics.Milliseconds, 0.5},
		{"median>1", "p50", ">", 1, metrics.Milliseconds, 0.5},
		{"p75<1", "p75", "<", 1, metrics.Milliseconds, 0.75},
		{"p90<1", "p90", "<", 1, metrics.Milliseconds, 0.9},
		{"p999<1", "p999", "<", 1, metrics.Milliseconds, 0.999},
		{"p9999<1", "p9999", "<", 1, metrics.Milliseconds, 0.9999},
		{"P(50)<1", "p(50)", "<", 1, metrics.Milliseconds, 0.5},
		{"avg<1", "mean", "<", 1, metrics.Milliseconds, 0},
		{"MAX<1", "max", "<", 1, metrics.Milliseconds, 0},
		{"errors<=0.5%", "errors", "<=", 0.5, metrics.Percent, 0},
		{"errors<3", "errors", "<", 3, metrics.Count, 0},
		{"error_rate<1", "error_rate", "<", 100, metrics.Percent, 0},
		{"error_rate<2", "error_rate", "<", 2, metrics.Percent, 0},
		{"error_rate<0.5%", "error_rate", "<", 0.5, metrics.Percent, 0},
		{"checks>0.99", "checks", ">", 99, metrics.Percent, 0},
		{"checks>=99.5%", "checks", ">=", 99.5, metrics.Percent, 0},
		{"rps>=1000/s", "rps", ">=", 1000, metrics.Count, 0},
		{"dropped==0", "dropped", "==", 0, metrics.Count, 0},
		{"requests>10", "requests", ">", 10, metrics.Count, 0},
		{"\tp99\t<\t5ms ", "p99", "<", 5, metrics.Milliseconds, 0.99},
	}
	for _, tt := range tests {
		th, err := metrics.ParseThreshold(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if th.Metric != tt.metric || th.Op != tt.op || math.Abs(th.Value-tt.value) > 1e-9 || th.Unit != tt.unit || th.Quantile != tt.q || th.Expr != tt.in {
			t.Errorf("%q parsed to %+v, want metric %s op %s value %v unit %v q %v", tt.in, th, tt.metric, tt.op, tt.value, tt.unit, tt.q)
		}
	}
}

// Every bad threshold is an error with the column where it goes wrong.
func TestParseThresholdErrorColumns(t *testing.T) {
	tests := []struct {
		in   string
		col  int
		want string
	}{
		{"p99 => 5", 5, "unknown comparison"},
		{"p99 =< 5", 5, "unknown comparison"},
		{"  <5", 1, "missing metric"},
		{"endpoint[x.p99<1", 1, "endpoint[NAME].METRIC"},
		{"  endpoint[].p99<1", 12, "empty endpoint name"},
		{"endpoint[a].p98<1", 13, `unknown metric "p98"`},
		{"p(0)<1s", 3, "quantile must be"},
		{"p(100)<1s", 3, "quantile must be"},
		{"p(x)<1s", 3, "quantile must be"},
		{"errors<5s", 9, `unexpected unit "s" for errors`},
		{"requests<5%", 11, `unexpected unit "%" for requests`},
		{"checks>5ms", 9, `unexpected unit "ms" for checks`},
		{"p99 <  ", 8, "missing value"},
		{"p99 < abc", 7, "want a number"},
		{"p99<1..2", 5, "want a number"},
		{"latency<5", 1, "unknown metric"},
		{"p99", 4, "missing comparison"},
	}
	for _, tt := range tests {
		_, err := metrics.ParseThreshold(tt.in)
		var te *metrics.ThresholdError
		if !errors.As(err, &te) {
			t.Errorf("%q: want a ThresholdError, got %v", tt.in, err)
			continue
		}
		if te.Col != tt.col || !strings.Contains(te.Msg, tt.want) {
			t.Errorf("%q: column %d %q, want column %d containing %q", tt.in, te.Col, te.Msg, tt.col, tt.want)
		}
		if want := fmt.Sprintf("threshold %q: column %d: ", tt.in, tt.col); !strings.HasPrefix(te.Error(), want) {
			t.Errorf("%q: error text %q, want it to start %q", tt.in, te.Error(), want)
		}
	}
}
