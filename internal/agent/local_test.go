package agent_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func ptr[T any](v T) *T { return &v }

// runLocal runs p on a local agent at 200 ms intervals and returns its
// snapshots.
func runLocal(t *testing.T, p scenario.Plan) []metrics.Snapshot {
	t.Helper()
	var snaps []metrics.Snapshot
	seg := agent.Segment{Plan: p, Start: time.Now().Add(20 * time.Millisecond), Interval: 200 * time.Millisecond}
	if err := agent.NewLocal().Run(context.Background(), seg, func(s metrics.Snapshot) { snaps = append(snaps, s) }); err != nil {
		t.Fatal(err)
	}
	return snaps
}

// Each open-model snapshot counts the iterations its interval made due:
// 50/s for 1 s is 10 an interval of 200 ms, 50 in all, each started or
// dropped.
func TestLocalSnapshotsCountTheirDueIterations(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL() + "/hello", Method: "GET"},
		scenario.Overrides{Rate: ptr(50.0), Duration: ptr(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	snaps := runLocal(t, p)
	var due, done int64
	for i, s := range snaps {
		due += s.Due
		done += s.Iterations + s.Dropped
		if i < 5 && (s.Due < 9 || s.Due > 11) {
			t.Errorf("interval %d made %d iterations due, want 10 (±1 at its bounds)", i, s.Due)
		}
		if s.Due < 0 {
			t.Errorf("interval %d made %d iterations due", i, s.Due)
		}
	}
	if due != 50 || done != 50 {
		t.Errorf("%d iterations due, %d started or dropped; want 50 and 50", due, done)
	}
}

// An open-model segment keeps the plan's VU cap: against a target that
// takes 300 ms, 2 VUs are all that run at once (the others wait for one).
func TestLocalOpenSegmentKeepsItsMaxVUs(t *testing.T) {
	var now, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
		}
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	p, err := scenario.Quick(scenario.QuickRequest{URL: srv.URL, Method: "GET"},
		scenario.Overrides{Rate: ptr(20.0), Duration: ptr(500 * time.Millisecond), MaxVUs: ptr(2)})
	if err != nil {
		t.Fatal(err)
	}
	snaps := runLocal(t, p)
	var maxVUs int
	for _, s := range snaps {
		maxVUs = max(maxVUs, s.MaxVUs)
	}
	if maxVUs != 2 || peak.Load() != 2 {
		t.Errorf("max VUs %d, the target saw %d at once; want 2", maxVUs, peak.Load())
	}
}

// A segment sends its requests with the plan's HTTP version: over TLS,
// HTTP/2 by ALPN unless the plan says HTTP/1.1.
func TestLocalSegmentTakesThePlansHTTPVersion(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		http int
		want metrics.Proto
	}{{0, metrics.ProtoHTTP2}, {1, metrics.ProtoHTTP11}, {2, metrics.ProtoHTTP2}} {
		p, err := scenario.Quick(scenario.QuickRequest{URL: srv.URL, Method: "GET"},
			scenario.Overrides{VUs: ptr(1), Iterations: ptr(int64(5)), Insecure: ptr(true), HTTP: ptr(c.http)})
		if err != nil {
			t.Fatal(err)
		}
		var protos [metrics.NumProtos]int64
		for _, s := range runLocal(t, p) {
			for _, e := range s.Endpoints {
				for i, n := range e.Protos {
					protos[i] += n
				}
			}
		}
		if protos[c.want] != 5 {
			t.Errorf("http: %d: requests by protocol %v, want all 5 %v", c.http, protos, c.want)
		}
	}
}

// A closed-model segment keeps a connection per VU: 3 VUs making 60
// requests open 3 connections, not one per request beyond the first.
func TestLocalClosedSegmentKeepsAConnectionPerVU(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		time.Sleep(time.Millisecond)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p, err := scenario.Quick(scenario.QuickRequest{URL: srv.URL, Method: "GET"},
		scenario.Overrides{VUs: ptr(3), Iterations: ptr(int64(60))})
	if err != nil {
		t.Fatal(err)
	}
	runLocal(t, p)
	if n := conns.Load(); n != 3 {
		t.Errorf("3 VUs opened %d connections for 60 requests, want 3", n)
	}
}
