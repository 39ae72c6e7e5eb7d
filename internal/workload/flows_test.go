package workload_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
	"github.com/surgeload/surge/internal/workload"
)

type flowResult struct {
	result
	flows, polls []metrics.Flow
}

// runFlows runs p as run does, recording flow durations and polls too.
func runFlows(t *testing.T, p scenario.Plan) flowResult {
	t.Helper()
	prog, err := workload.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	client := surgehttp.NewClient(surgehttp.Options{})
	defer client.Close()
	start := time.Now()
	rec := metrics.NewRecorder(start, prog.Endpoints(), prog.Checks())
	flows, polls := metrics.NewFlowRecorder(prog.Flows()), metrics.NewFlowRecorder(prog.Polls())
	e, err := engine.New(engine.Config{
		Model: p.Load.Model, Profile: p.Load.Profile(), Iterations: p.Load.Iterations,
		Timeout: p.Timeout, MaxDuration: runTimeout,
	}, prog.Workload(client, rec, workload.WithFlows(flows), workload.WithPolls(polls)), rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	err = e.Run(ctx, start)
	if ctx.Err() != nil {
		t.Fatal("run did not finish in time")
	}
	return flowResult{result{rec.Snapshot(time.Now()), err}, flows.Snapshot(), polls.Snapshot()}
}

const ms = time.Millisecond

func between(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %v, want between %v and %v", what, got, lo, hi)
	}
}

// Think time is left out of a flow's duration; a trailing pause, after the
// last response, is in nothing.
func TestFlowDurationLeavesOutThinkTime(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{})
	r := runFlows(t, load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 3}
flows:
  - name: slow
    steps:
      - get: /delay?ms=30
      - think: 200ms
      - get: /delay?ms=30
      - think: 100ms
`))
	if len(r.flows) != 1 || r.flows[0].Name != "slow" || r.flows[0].Iterations != 3 || r.flows[0].Requests != 6 || r.flows[0].Errors != 0 {
		t.Fatalf("flows: %+v", r.flows)
	}
	d := r.flows[0].Duration
	between(t, "min", d.Min(), 60*ms, 190*ms)
	between(t, "max", d.Max(), 60*ms, 190*ms)
}

// The backlog trap, measured: behind a consumer of one order per 50ms
// (20/s), a flow "place, then poll until done" takes about 50ms below that
// rate; above it the POST stays fast while the flow's duration grows with
// the queue: at 40/s for 1s, order k is placed at 25k ms and done at
// 50(k+1) ms, so durations spread evenly from 50ms to about 1s.
func TestFlowDurationsFollowTheConsumer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		rate         string
		iterations   string
		every        string
		p50Lo, p50Hi time.Duration
		p99Lo, p99Hi time.Duration
		wantOrders   int64
	}{
		{name: "below capacity", rate: "10", iterations: "20", every: "10ms",
			p50Lo: 50 * ms, p50Hi: 100 * ms, p99Lo: 50 * ms, p99Hi: 250 * ms, wantOrders: 20},
		{name: "above capacity", rate: "40", iterations: "40", every: "25ms",
			p50Lo: 400 * ms, p50Hi: 800 * ms, p99Lo: 850 * ms, p99Hi: 1600 * ms, wantOrders: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: 50 * ms}})
			r := runFlows(t, load(t, tb.URL(), `
target: TARGET
load: {rate: `+tt.rate+`, iterations: `+tt.iterations+`, duration: 10s, max_vus: 100}
flows:
  - name: order
    steps:
      - name: place
        post: /orders
        extract: {order: "json:id"}
        check: {status: 202}
      - name: wait for order
        get: /orders/{{order}}
        until: {json: {status: done}}
        every: `+tt.every+`
        within: 5s
`))
			if r.err != nil {
				t.Fatal(r.err)
			}
			f := r.flows[0]
			place := r.endpoint(t, "place")
			if f.Iterations != place.Requests || f.Iterations != tt.wantOrders || f.Errors != 0 || f.Cut != 0 {
				t.Errorf("order flow: %d iterations (%d errors) for %d orders placed; want about %d, no errors", f.Iterations, f.Errors, place.Requests, tt.wantOrders)
			}
			if got := tb.Count(); got != r.total() || f.Requests != r.total() {
				t.Errorf("the target saw %d requests, Surge counted %d, the flows %d", got, r.total(), f.Requests)
			}
			between(t, "flow p50", f.Duration.Quantile(0.5), tt.p50Lo, tt.p50Hi)
			between(t, "flow p99", f.Duration.Quantile(0.99), tt.p99Lo, tt.p99Hi)
			if f.Duration.Min() < 50*ms {
				t.Errorf("an order was done %v after it was placed, before the consumer's 50ms job", f.Duration.Min())
			}
			// The POST stays fast whatever the backlog.
			if p99 := place.Latency.Quantile(0.99); p99 > 200*ms {
				t.Errorf("POST /orders p99 %v: the accepting endpoint should stay fast", p99)
			}
			// The poll's own time is the flow's, less the POST.
			p := r.polls[0]
			if p.Name != "wait for order" || p.Iterations != f.Iterations || p.Errors != 0 || p.Requests != r.endpoint(t, "wait for order").Requests {
				t.Errorf("polls: %+v (flow iterations %d)", p, f.Iterations)
			}
			if p.Duration.Quantile(0.99) > f.Duration.Quantile(0.99) {
				t.Errorf("poll p99 %v longer than the flow's %v", p.Duration.Quantile(0.99), f.Duration.Quantile(0.99))
			}
			t.Logf("%s: flow p50 %v p99 %v max %v; POST p99 %v; %d attempts for %d orders", tt.name,
				f.Duration.Quantile(0.5), f.Duration.Quantile(0.99), f.Duration.Max(), place.Latency.Quantile(0.99), p.Requests, p.Iterations)
		})
	}
}

// A run that ends while an iteration still polls cuts it short: it is
// counted as cut, with its requests, and is in no duration.
func TestFlowCutByTheEndOfTheRun(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: time.Minute}})
	r := runFlows(t, load(t, tb.URL(), strings.Replace(orderPlan("1", "1", "20ms", "5s"), "iterations: 1", "duration: 300ms", 1)))
	if r.err != nil {
		t.Fatal(r.err)
	}
	f, p := r.flows[0], r.polls[0]
	if f.Cut != 1 || f.Iterations != 0 || f.Duration.Count() != 0 || f.Requests != r.total() {
		t.Errorf("flow: %+v; want 1 cut, nothing else, %d requests", f, r.total())
	}
	if p.Cut != 1 || p.Iterations != 0 || p.Requests != r.endpoint(t, "wait for order").Requests {
		t.Errorf("poll: %+v", p)
	}
	if got := tb.Count(); got != r.total() {
		t.Errorf("the target saw %d requests, Surge counted %d", got, r.total())
	}
}
