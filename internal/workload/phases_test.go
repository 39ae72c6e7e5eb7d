package workload_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/workload"
)

// runWith runs p as run does, with a client of options o.
func runWith(t *testing.T, p scenario.Plan, o surgehttp.Options) metrics.Snapshot {
	t.Helper()
	prog, err := workload.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	client := surgehttp.NewClient(o)
	defer client.Close()
	start := time.Now()
	rec := metrics.NewRecorder(start, prog.Endpoints(), prog.Checks())
	e, err := engine.New(engine.Config{
		Model: p.Load.Model, Profile: p.Load.Profile(), Iterations: p.Load.Iterations, MaxVUs: p.Load.MaxVUs,
		Timeout: p.Timeout, MaxDuration: runTimeout,
	}, prog.Workload(client, rec), rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	if err := e.Run(ctx, start); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("run did not finish in time")
	}
	return rec.Snapshot(time.Now())
}

// phaseSum is the sum of every phase of e's requests.
func phaseSum(e *metrics.Endpoint) time.Duration {
	var d time.Duration
	for p := range metrics.NumPhases {
		if s := e.Phases.Sketch(p); s != nil {
			d += s.Sum()
		}
	}
	return d
}

func endpointOf(t *testing.T, s metrics.Snapshot, name string) *metrics.Endpoint {
	t.Helper()
	for i := range s.Endpoints {
		if s.Endpoints[i].Name == name {
			return &s.Endpoints[i]
		}
	}
	t.Fatalf("no endpoint %q", name)
	return nil
}

// A 30 ms endpoint's time is in wait; every request's phases add up to
// its latency, to the nanosecond (the latency is the phases' readings);
// the open model's first request of an iteration has its wait for a VU as
// queued, the closed model none; every request is counted under HTTP/1.1.
func TestPhasesOfRealRequests(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	for _, c := range []struct{ name, load string }{
		{"closed", "{vus: 4, iterations: 40}"},
		{"open", "{model: open, rate: 200, max_vus: 20, iterations: 40}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := load(t, srv.URL, `
target: TARGET
load: `+c.load+`
flows:
  - steps:
      - {name: slow, get: /slow}
      - {name: fast, get: /fast}
`)
			s := runWith(t, p, surgehttp.Options{})
			slow, fast := endpointOf(t, s, "slow"), endpointOf(t, s, "fast")
			for _, e := range []*metrics.Endpoint{slow, fast} {
				if e.Requests != 40 || e.Errors() != 0 || e.Protos[metrics.ProtoHTTP11] != 40 {
					t.Errorf("%s: %d requests, %d errors, protocols %v; want 40 HTTP/1.1, no error", e.Name, e.Requests, e.Errors(), e.Protos)
				}
				if sum, lat := phaseSum(e), e.Latency.Sum(); sum != lat {
					t.Errorf("%s: the phases add up to %v, the latencies to %v", e.Name, sum, lat)
				}
				for p := range metrics.PhaseQueued {
					if st, ok := e.Phases.Stats(p); !ok || st.Count != 40 {
						t.Errorf("%s: %v: %+v, %v; want every request", e.Name, p, st, ok)
					}
				}
			}
			wait, _ := slow.Phases.Stats(metrics.PhaseWait)
			if wait.P50 < 30*time.Millisecond || wait.P50 > 45*time.Millisecond {
				t.Errorf("slow: wait p50 %v, want about 30ms", wait.P50)
			}
			if st, _ := fast.Phases.Stats(metrics.PhaseWait); st.P50 > 10*time.Millisecond {
				t.Errorf("fast: wait p50 %v, want well below slow's", st.P50)
			}
			if st, _ := slow.Phases.Stats(metrics.PhaseConnect); st.Max == 0 || st.P50 != 0 {
				t.Errorf("slow: connect %+v: want some new connections, most reused", st)
			}
			queued, ok := slow.Phases.Stats(metrics.PhaseQueued)
			if c.name == "open" && (!ok || queued.Count != 40) {
				t.Errorf("open model: slow's queued %+v, %v; want all 40 first requests", queued, ok)
			}
			if c.name == "closed" && ok {
				t.Errorf("closed model: a queued phase %+v", queued)
			}
			if _, ok := fast.Phases.Stats(metrics.PhaseQueued); ok {
				t.Error("fast, a second step, has a queued phase")
			}
		})
	}
}

// protoCounter counts the requests a server saw by protocol.
type protoCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *protoCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.n[r.Proto]++
	c.mu.Unlock()
	_, _ = w.Write([]byte("ok"))
}

// With HTTP2 every request goes as HTTP/2 with prior knowledge to an h2c
// server, as the server saw it and the endpoint counts it, and the totals
// equal what the server saw.
func TestHTTP2PriorKnowledge(t *testing.T) {
	t.Parallel()
	pc := &protoCounter{n: map[string]int64{}}
	srv := httptest.NewUnstartedServer(pc)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	var mu sync.Mutex
	conns := 0
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	p := load(t, srv.URL, `
target: TARGET
load: {vus: 8, iterations: 200}
flows:
  - steps: [{name: hello, get: /hello}]
`)
	s := runWith(t, p, surgehttp.Options{HTTP2: true})
	e := endpointOf(t, s, "hello")
	pc.mu.Lock()
	saw := pc.n["HTTP/2.0"]
	all := len(pc.n)
	pc.mu.Unlock()
	if e.Requests != 200 || e.Errors() != 0 || saw != 200 || all != 1 {
		t.Errorf("%d requests (%d errors: %v); the server saw %v", e.Requests, e.Errors(), s.Messages, pc.n)
	}
	if e.Protos[metrics.ProtoHTTP2] != e.Requests {
		t.Errorf("protocols %v, want all %d HTTP/2.0", e.Protos, e.Requests)
	}
	if sum, lat := phaseSum(e), e.Latency.Sum(); sum != lat {
		t.Errorf("the phases add up to %v, the latencies to %v", sum, lat)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("8 VUs opened %d connections, want 1 (streams of one connection)", conns)
	}
}

// Over TLS, a new connection's handshake is in tls; a reused connection
// has none.
func TestTLSPhase(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	p := load(t, srv.URL, `
target: TARGET
defaults: {insecure: true}
load: {vus: 2, iterations: 60}
flows:
  - steps: [{name: hello, get: /hello}]
`)
	s := runWith(t, p, surgehttp.Options{Insecure: true})
	e := endpointOf(t, s, "hello")
	if e.Requests != 60 || e.Errors() != 0 {
		t.Fatalf("%d requests, %d errors: %v", e.Requests, e.Errors(), s.Messages)
	}
	tls, ok := e.Phases.Stats(metrics.PhaseTLS)
	if !ok || tls.Count != 60 || tls.Max <= 0 || tls.P95 != 0 {
		t.Errorf("tls %+v: want a handshake on each VU's new connection, none on the reused ones", tls)
	}
	if sum, lat := phaseSum(e), e.Latency.Sum(); sum != lat {
		t.Errorf("the phases add up to %v, the latencies to %v", sum, lat)
	}
	if e.Protos[metrics.ProtoHTTP11]+e.Protos[metrics.ProtoHTTP2] != 60 {
		t.Errorf("protocols %v", e.Protos)
	}
}
