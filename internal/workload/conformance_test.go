package workload_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/protocol/grpc/grpctest"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/workload"
)

// A conformance case is one protocol behind the VU's protocol interface:
// a server on loopback that counts what it saw, and the step that sends
// to it. Every protocol must pass TestProtocolConformance.
type conformance struct {
	name   string
	start  func(t *testing.T) (target string, seen func() int64)
	step   string        // the flow's one step: PATH is the server's path, LIMIT its time limit
	method string        // the method its requests are recorded under
	fail   metrics.Class // the class of the server's failure on /fail
	head   string        // lines the plan has before its load (defaults)
}

func conformanceCases() []conformance {
	return []conformance{
		{
			name: "http", method: "GET", fail: metrics.Status5xx,
			step: "{name: s, get: /PATH, timeout: LIMIT}",
			start: func(t *testing.T) (string, func() int64) {
				var n atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n.Add(1)
					switch r.URL.Path {
					case "/fail":
						w.WriteHeader(http.StatusInternalServerError)
					case "/slow":
						select {
						case <-r.Context().Done():
						case <-time.After(20 * time.Second):
						}
					}
				}))
				t.Cleanup(srv.Close)
				return srv.URL, n.Load
			},
		},
		{
			name: "ws", method: workload.WSMethod, fail: metrics.WSClosed,
			step: "{name: s, ws: /PATH, send: hi, expect: {body_contains: hi}, within: LIMIT}",
			start: func(t *testing.T) (string, func() int64) {
				srv := startWS(t)
				return srv.URL, srv.messages.Load
			},
		},
		{
			name: "grpc", method: workload.GRPCMethod, fail: metrics.GRPCStatus,
			head: "defaults: {grpc: {reflection: true}}\n",
			step: "{name: s, grpc: helloworld.Greeter/PATH, timeout: LIMIT}",
			start: func(t *testing.T) (string, func() int64) {
				srv := grpctest.Start(t)
				return srv.URL, srv.Calls
			},
		},
	}
}

// path maps the conformance servers' behaviours onto each server's paths.
func (c conformance) path(what string) string {
	switch c.name {
	case "ws":
		return map[string]string{"ok": "echo", "fail": "close", "slow": "silent"}[what]
	case "grpc":
		return map[string]string{"ok": "SayHello", "fail": "Fail", "slow": "Slow"}[what]
	}
	return what
}

func (c conformance) plan(target, what, limit string, vus, iters int) string {
	step := c.step
	for _, r := range [][2]string{{"PATH", c.path(what)}, {"LIMIT", limit}} {
		step = strings.ReplaceAll(step, r[0], r[1])
	}
	return "target: " + target + "\n" + c.head + "load: {vus: " + strconv.Itoa(vus) + ", iterations: " + strconv.Itoa(iters) + "}\nflows:\n  - steps:\n      - " + step + "\n"
}

// TestProtocolConformance: every protocol counts each request once (the
// totals equal what its server saw), classes a server's failure and a
// step that ran out of time, measures the time limit as latency, and ends
// at once, leaving no goroutine behind, when the run is aborted.
func TestProtocolConformance(t *testing.T) {
	for _, c := range conformanceCases() {
		t.Run(c.name, func(t *testing.T) {
			target, seen := c.start(t)
			row := func(r result) metrics.Endpoint { return r.endpointOf(t, "s", c.method) }

			t.Run("counting", func(t *testing.T) {
				before := seen()
				r := run(t, load(t, target, c.plan("TARGET", "ok", "5s", 4, 40)))
				e := row(r)
				if e.Requests != 40 || e.Errors() != 0 {
					t.Errorf("%d requests, %d errors; want 40, 0: %v", e.Requests, e.Errors(), r.snap.Messages)
				}
				if got := seen() - before; got != e.Requests {
					t.Errorf("the server saw %d, the summary counts %d", got, e.Requests)
				}
				if e.Latency.Count() != uint64(e.Requests) {
					t.Errorf("%d latencies for %d requests", e.Latency.Count(), e.Requests)
				}
			})
			t.Run("classes", func(t *testing.T) {
				before := seen()
				r := run(t, load(t, target, c.plan("TARGET", "fail", "5s", 2, 6)))
				e := row(r)
				if e.Requests != 6 || e.Classes[c.fail] != 6 {
					t.Errorf("%d requests, classes %v; want 6 of %v", e.Requests, e.Classes, c.fail)
				}
				if got := seen() - before; got != 6 {
					t.Errorf("the server saw %d, want 6", got)
				}
				var sum int64
				for _, n := range r.snap.Messages {
					sum += n
				}
				if sum != e.Errors() {
					t.Errorf("%d error messages for %d errors: %v", sum, e.Errors(), r.snap.Messages)
				}
			})
			t.Run("timeout", func(t *testing.T) {
				r := run(t, load(t, target, c.plan("TARGET", "slow", "80ms", 2, 4)))
				e := row(r)
				if e.Requests != 4 || e.Classes[metrics.Timeout] != 4 {
					t.Errorf("%d requests, classes %v; want 4 timeouts: %v", e.Requests, e.Classes, r.snap.Messages)
				}
				if lo, hi := e.Latency.Min(), e.Latency.Max(); lo < 80*time.Millisecond || hi > 2*time.Second {
					t.Errorf("an 80ms limit took from %v to %v", lo, hi)
				}
			})
			t.Run("cancellation", func(t *testing.T) {
				p := load(t, target, c.plan("TARGET", "slow", "20s", 3, 3))
				prog, err := workload.Compile(p)
				if err != nil {
					t.Fatal(err)
				}
				client := surgehttp.NewClient(surgehttp.Options{})
				before := runtime.NumGoroutine()
				from := seen()
				rec := metrics.NewRecorder(time.Now(), prog.Endpoints(), prog.Checks())
				w := prog.Workload(client, rec)
				hard, abort := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				for id := range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_ = w.NewVU(hard, id).Iterate(hard, engine.Iteration{})
					}()
				}
				deadline := time.Now().Add(5 * time.Second)
				for seen()-from < 3 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				t0 := time.Now()
				abort()
				wg.Wait()
				if d := time.Since(t0); d > time.Second {
					t.Errorf("the VUs took %v to end after the abort", d)
				}
				s := rec.Snapshot(time.Now())
				var e metrics.Endpoint
				for _, x := range s.Endpoints {
					if x.Name == "s" && x.Method == c.method {
						e = x
					}
				}
				if e.Requests != 3 {
					t.Errorf("%d requests cut short, want each of the 3 counted once", e.Requests)
				}
				client.Close()
				settleGoroutines(t, before)
			})
		})
	}
}
