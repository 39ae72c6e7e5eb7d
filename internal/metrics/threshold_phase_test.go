package metrics_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

func TestParsePhaseThreshold(t *testing.T) {
	for _, c := range []struct {
		in, endpoint, phase, metric string
		q, value                    float64
	}{
		{"endpoint[login].wait.p95<100ms", "login", "wait", "p95", 0.95, 100},
		{"connect.max < 50ms", "", "connect", "max", 0, 50},
		{"tls.mean<=5", "", "tls", "mean", 0, 5},
		{"endpoint[a.b].receive.p(99.9) < 1s", "a.b", "receive", "p(99.9)", 0.999, 1000},
		{"Wait.median<30ms", "", "wait", "p50", 0.5, 30},
		{"queued.p99<10ms", "", "queued", "p99", 0.99, 10},
		// Not phases: latency metrics with a dot in them.
		{"p99.9<1s", "", "", "p99.9", 0.999, 1000},
		{"p(99.9)<1s", "", "", "p(99.9)", 0.999, 1000},
	} {
		got, err := metrics.ParseThreshold(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got.Endpoint != c.endpoint || got.Phase != c.phase || got.Metric != c.metric || math.Abs(got.Quantile-c.q) > 1e-12 ||
			got.Value != c.value || got.Unit != metrics.Milliseconds {
			t.Errorf("%q: %+v", c.in, got)
		}
	}
}

func TestParsePhaseThresholdErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		col  int
		want string
	}{
		{"wiat.p95<1s", 1, `unknown phase "wiat"; did you mean "wait"?`},
		{"endpoint[login].conect.max<1s", 17, `unknown phase "conect"; did you mean "connect"?`},
		{"endpoint[login].wait.errors<1%", 22, "wait.errors: a phase takes a latency metric"},
		{"wait.rps>1", 6, "wait.rps: a phase takes a latency metric"},
		{"wait.p98<1s", 6, `unknown metric "p98" of phase wait`},
		{"tls.p95<5%", 10, `unknown duration unit "%"`},
		{"flow[order].wait.p95<1s", 13, "flow[order].wait: a flow has no timing phases"},
	} {
		_, err := metrics.ParseThreshold(c.in)
		var te *metrics.ThresholdError
		if !errors.As(err, &te) {
			t.Errorf("%q: want a ThresholdError, got %v", c.in, err)
			continue
		}
		if te.Col != c.col || !strings.Contains(te.Msg, c.want) {
			t.Errorf("%q: column %d %q, want column %d containing %q", c.in, te.Col, te.Msg, c.col, c.want)
		}
	}
}

// A phase threshold measures that phase's distribution, of one endpoint
// or of all together; a phase no request has is not found, and Missing
// says why, as for an endpoint that does not exist.
func TestMeasurePhaseThreshold(t *testing.T) {
	rec := metrics.NewRecorder(t0, []metrics.EndpointKey{{Name: "login", Method: "POST"}, {Name: "list", Method: "GET"},
		{Name: "chat", Method: "WS"}}, nil)
	for i := 1; i <= 100; i++ {
		p := metrics.Phases{metrics.PhaseWait: time.Duration(i) * time.Millisecond, metrics.PhaseSend: time.Millisecond}
		rec.Record(i, 0, metrics.Outcome{Latency: p.Total(), Phases: p, Timed: true, Proto: metrics.ProtoHTTP11})
		p[metrics.PhaseWait] = time.Duration(200+i) * time.Millisecond
		rec.Record(i, 1, metrics.Outcome{Latency: p.Total(), Phases: p, Timed: true, Proto: metrics.ProtoHTTP11})
		rec.Record(i, 2, metrics.Outcome{Latency: 3 * time.Millisecond})
	}
	total := rec.Snapshot(t0.Add(time.Second))
	for _, c := range []struct {
		expr    string
		want    float64
		holds   bool
		missing string
	}{
		{"endpoint[login].wait.p95<100ms", 95, true, ""},
		{"endpoint[login].wait.max<100ms", 100, false, ""},
		{"endpoint[login].wait.min<=1ms", 1, true, ""},
		{"endpoint[login].wait.mean<51ms", 50.5, true, ""},
		{"endpoint[list].wait.p50>200ms", 250, true, ""},
		{"wait.max<=300ms", 300, true, ""},
		{"wait.p50<120ms", 100, true, ""},
		{"send.p99==1ms", 1, true, ""},
		{"endpoint[chat].wait.p95<1s", 0, false, `endpoint[chat] has no "wait" phase (phases are measured for HTTP requests)`},
		{"queued.p95<1s", 0, false, `no request has a "queued" phase (it is measured for HTTP requests in the open model`},
		{"endpoint[nope].wait.p95<1s", 0, false, `no endpoint named "nope"`},
	} {
		th, err := metrics.ParseThreshold(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		v, found := th.Measure(total, time.Second)
		if c.missing != "" {
			if m := th.Missing(total); found || !strings.Contains(m, c.missing) {
				t.Errorf("%s: found %v, missing %q; want it not found, saying %q", c.expr, found, m, c.missing)
			}
			continue
		}
		if !found || math.Abs(v-c.want) > c.want*metrics.RelativeAccuracy || th.Holds(v) != c.holds || th.Missing(total) != "" {
			t.Errorf("%s: %v (found %v, holds %v, missing %q), want %v holding %v", c.expr, v, found, th.Holds(v), th.Missing(total), c.want, c.holds)
		}
	}
}
