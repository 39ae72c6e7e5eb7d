package main_test

import (
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// endpointRow is the summary's row of the endpoint named name.
func endpointRow(t *testing.T, s *report.Summary, name string) report.EndpointSummary {
	t.Helper()
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no endpoint %q in %+v", name, s.Endpoints)
	return report.EndpointSummary{}
}

// examples/orders.yaml against the testbed's queue, whose consumer does
// one order per 50 ms (20/s), for 2 s: the backlog trap, through
// `surge run` end to end. Below the consumer's rate an order's flow takes
// about the job's 50 ms (at most one poll pause more); above it the POST
// stays as fast while the flow's p99 grows with the backlog: order k of
// 80 is placed at 25k ms and done at 50(k+1) ms, so the 40 done by the
// end of the load took up to about 1 s and the other 40 are cut short. A
// flow threshold tells them apart, and every request — each poll attempt
// among them — is counted once, as the target counted it.
func TestOrdersExampleShowsTheBacklogTrap(t *testing.T) {
	const (
		job   = 50 * time.Millisecond
		every = 50 * time.Millisecond // the example's poll pause
	)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, tc := range []struct {
		name    string
		rate    string
		orders  int64
		code    int
		minP99  float64 // of the flow, ms
		maxP99  float64
		wantCut bool
	}{
		{name: "below the consumer's rate", rate: "10", orders: 20, code: 0,
			minP99: ms(job), maxP99: ms(job + every + 25*time.Millisecond)},
		{name: "above it", rate: "40", orders: 80, code: 3, wantCut: true,
			minP99: 10 * ms(job), maxP99: 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: job}})
			r := surge(t, "run", "../../examples/orders.yaml", "-u", tb.URL(), "--rate", tc.rate, "--duration", "2s",
				"--threshold", "flow[order].p99<500ms")
			if r.code != tc.code || r.summary == nil {
				t.Fatalf("exit %d, want %d\n%s\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			s := r.summary
			if len(s.Flows) != 1 || len(s.Polls) != 1 || s.Flows[0].Name != "order" || s.Polls[0].Name != "wait for order" {
				t.Fatalf("flows %+v, polls %+v", s.Flows, s.Polls)
			}
			f, p := s.Flows[0], s.Polls[0]
			place, wait := endpointRow(t, s, "place"), endpointRow(t, s, "wait for order")

			// Counted once: the target's counts, the endpoints' rows, the
			// flow's requests and the poll's attempts agree exactly.
			if s.Totals.Requests != tb.Count() || f.Requests != s.Totals.Requests {
				t.Errorf("summary %d requests, flow %d, target %d", s.Totals.Requests, f.Requests, tb.Count())
			}
			if got := tb.CountPath("/orders"); place.Requests != got || place.Requests != tc.orders {
				t.Errorf("place: %d requests, the target received %d POST /orders; want %d", place.Requests, got, tc.orders)
			}
			if p.Attempts != wait.Requests || wait.Requests != tb.Count()-tb.CountPath("/orders") {
				t.Errorf("poll attempts %d, its endpoint %d, GET /orders/ID received %d", p.Attempts, wait.Requests, tb.Count()-tb.CountPath("/orders"))
			}
			if f.Iterations+f.Cut != tc.orders || p.Polls+p.Cut != tc.orders || f.Errors != 0 || p.Timeouts != 0 || s.Totals.Errors != 0 {
				t.Errorf("flow %+v, poll %+v: want %d orders, finished or cut, none failed", f, p, tc.orders)
			}
			if (f.Cut > 0) != tc.wantCut || f.Cut != p.Cut {
				t.Errorf("flow cut %d, poll cut %d; want some: %v", f.Cut, p.Cut, tc.wantCut)
			}
			if f.Duration == nil {
				t.Fatal("no flow duration")
			}
			t.Logf("POST p99 %.2f ms; flow p50 %.1f p99 %.1f ms; %d finished, %d cut; %d poll attempts",
				place.Latency.P99, f.Duration.P50, f.Duration.P99, f.Iterations, f.Cut, p.Attempts)
			// The trap: the POST stays fast either way (the example's
			// threshold on it, 100 ms, two jobs' time, leaves room for a
			// loaded machine's scheduling).
			if place.Latency.P99 >= 2*ms(job) {
				t.Errorf("POST /orders p99 %.1f ms, want under %v", place.Latency.P99, 2*job)
			}
			if d := f.Duration; d.P99 < tc.minP99 || d.P99 > tc.maxP99 || d.Min < ms(job) {
				t.Errorf("flow p99 %.1f ms (min %.1f), want %.0f–%.0f ms and none under the %v job", d.P99, d.Min, tc.minP99, tc.maxP99, job)
			}
			if tc.wantCut && f.Duration.P99 < 5*place.Latency.P99 {
				t.Errorf("above capacity the flow p99 %.1f ms is not far above the POST's %.1f ms", f.Duration.P99, place.Latency.P99)
			}
		})
	}
}

// The orders example on two agents that are processes of their own,
// through a surge server: each agent's flows travel in its encoded
// snapshots and merge exactly, so the summary the CLI writes and the one
// the server keeps count every order once and every request the target
// received.
func TestOrdersExampleOnTwoAgents(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: 20 * time.Millisecond}})
	srv := startDistServer(t, "http", freeAddr(t), &http.Client{Timeout: 10 * time.Second})
	for _, name := range []string{"a1", "a2"} {
		daemon(t, "surge agent "+name, exec.Command(surgeBin, "agent", "--server", srv.url, "--token", distToken, "--name", name))
	}
	srv.waitAgents(t, 2, 20*time.Second)
	s := mustOK(t, surge(t, "run", "--server", srv.url, "--secret", distSecret, "--agents", "2",
		"../../examples/orders.yaml", "-u", tb.URL(), "--rate", "20", "--duration", "2s"))
	agentRows(t, s, 2)
	var stored report.Summary
	if code := srv.get(t, "/api/v1/runs/"+s.Run.ID+"/summary", &stored); code != 200 {
		t.Fatalf("GET the run's summary: %d", code)
	}
	for _, sum := range []*report.Summary{s, &stored} {
		if len(sum.Flows) != 1 || len(sum.Polls) != 1 {
			t.Fatalf("flows %+v, polls %+v", sum.Flows, sum.Polls)
		}
		f, p := sum.Flows[0], sum.Polls[0]
		if f.Iterations+f.Cut != 40 || f.Errors != 0 || f.Requests != tb.Count() || sum.Totals.Requests != tb.Count() {
			t.Errorf("flow %+v, %d requests; want 40 orders, the target's %d requests", f, sum.Totals.Requests, tb.Count())
		}
		if p.Polls+p.Cut != 40 || p.Attempts != tb.Count()-tb.CountPath("/orders") || tb.CountPath("/orders") != 40 {
			t.Errorf("poll %+v; the target received %d POST /orders, %d polls", p, tb.CountPath("/orders"), tb.Count()-tb.CountPath("/orders"))
		}
		if f.Duration == nil || f.Duration.P50 < 20 {
			t.Errorf("flow durations %+v: want none under the 20 ms job", f.Duration)
		}
	}
	if a, b := s.Flows[0].Duration, stored.Flows[0].Duration; a == nil || b == nil || *a != *b {
		t.Errorf("the CLI's flow durations %+v, the server's %+v", a, b)
	}
}
