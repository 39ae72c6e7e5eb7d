package http_test

import (
	"context"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

// Timing phases, measured against real servers on loopback: they add up to
// the request's time as measured around Do, a slow endpoint shows in wait,
// and a reused connection has no connect or tls phase.

// timed sends r on s and checks that the phases are non-negative and lie
// within the time measured around Do: the client's Start and Start plus
// the phases' total fall between two readings taken outside it, and the
// client's own time outside its phases (entering and leaving Do) is small.
func timed(t *testing.T, s *surgehttp.Session, r *surgehttp.Request) surgehttp.Response {
	t.Helper()
	var res surgehttp.Response
	before := time.Now()
	s.Do(context.Background(), r, &res)
	after := time.Now()
	for p, d := range res.Phases {
		if d < 0 {
			t.Errorf("%v = %v < 0", metrics.Phase(p), d)
		}
	}
	total := res.Phases.Total()
	end := res.Start.Add(total)
	if res.Start.Before(before) || end.After(after) {
		t.Errorf("phases span %v..%v (+%v), outside Do's %v..%v", res.Start.Sub(before), end.Sub(before), total, time.Duration(0), after.Sub(before))
	}
	// The gap is the clock readings outside the phases and the calls
	// around them: microseconds, but a loaded machine may preempt us.
	if gap := after.Sub(before) - total; gap > 5*time.Millisecond {
		t.Errorf("phases total %v, but Do took %v: %v unaccounted", total, after.Sub(before), gap)
	}
	if res.Phases[metrics.PhaseQueued] != 0 {
		t.Errorf("the client filled queued: %v", res.Phases[metrics.PhaseQueued])
	}
	return res
}

// phaseModes are the ways a request to a plain http:// server can go.
var phaseModes = []struct {
	name  string
	opts  surgehttp.Options
	proto metrics.Proto
}{
	{"lean", surgehttp.Options{}, metrics.ProtoHTTP11},
	{"net/http", surgehttp.Options{ForceNetHTTP: true}, metrics.ProtoHTTP11},
	{"h2c", surgehttp.Options{HTTP2: true}, metrics.ProtoHTTP2},
}

// slowServer answers after delay, as HTTP/1.1 and (prior knowledge)
// HTTP/2; it returns its URL.
func slowServer(t *testing.T, delay time.Duration) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(delay)
		_, _ = io.WriteString(w, "done")
	}))
	srv.Config.Protocols = new(nethttp.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestPhasesWaitIsTheServersTime(t *testing.T) {
	t.Parallel()
	const delay = 30 * time.Millisecond
	u := slowServer(t, delay)
	for _, m := range phaseModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := surgehttp.NewClient(m.opts)
			defer c.Close()
			s := c.NewSession()
			r := &surgehttp.Request{Method: "POST", URL: mustURL(t, u+"/slow"), Body: []byte(`{"a":1}`), Timeout: 5 * time.Second}
			// Upper bounds hold for the best of the requests: a loaded
			// machine may oversleep the server or preempt the client.
			minWait, minOther := time.Hour, time.Hour
			for i := range 3 {
				res := timed(t, s, r)
				if res.Class != metrics.OK || res.Proto != m.proto {
					t.Fatalf("request %d: class %v proto %v err %v; want ok %v", i, res.Class, res.Proto, res.Err, m.proto)
				}
				wait := res.Phases[metrics.PhaseWait]
				// (A little less than delay is the client's reading taken
				// after the server had the request and began its sleep.)
				if wait < delay-2*time.Millisecond {
					t.Errorf("request %d: wait %v, want ~%v; phases %v", i, wait, delay, res.Phases)
				}
				minWait, minOther = min(minWait, wait), min(minOther, res.Phases.Total()-wait)
				if tls := res.Phases[metrics.PhaseTLS]; tls != 0 {
					t.Errorf("request %d: tls %v on http://", i, tls)
				}
				connect := res.Phases[metrics.PhaseConnect]
				if i == 0 && (res.Reused || connect <= 0) {
					t.Errorf("first request: reused %v connect %v; want a new connection", res.Reused, connect)
				}
				if i > 0 && (!res.Reused || connect != 0) {
					t.Errorf("request %d: reused %v connect %v; want the first's connection", i, res.Reused, connect)
				}
			}
			if minWait > delay+10*time.Millisecond || minOther > 5*time.Millisecond {
				t.Errorf("best wait %v for a %v endpoint, best time outside wait %v", minWait, delay, minOther)
			}
		})
	}
}

// TestPhasesTLS: a TLS server's handshake is the tls phase of a new
// connection, and 0 on the connection reused, over HTTP/1.1 and HTTP/2.
func TestPhasesTLS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		h2    bool
		opts  surgehttp.Options
		proto metrics.Proto
	}{
		{"h1", false, surgehttp.Options{Insecure: true}, metrics.ProtoHTTP11},
		{"h2 offered", true, surgehttp.Options{Insecure: true}, metrics.ProtoHTTP2},
		{"h2 forced", true, surgehttp.Options{Insecure: true, HTTP2: true}, metrics.ProtoHTTP2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				_, _ = io.WriteString(w, r.Proto)
			}))
			srv.EnableHTTP2 = tc.h2
			srv.StartTLS()
			defer srv.Close()
			c := surgehttp.NewClient(tc.opts)
			defer c.Close()
			s := c.NewSession()
			r := &surgehttp.Request{Method: "GET", URL: mustURL(t, srv.URL+"/"), Timeout: 5 * time.Second, KeepBody: 16}
			for i := range 3 {
				res := timed(t, s, r)
				if res.Class != metrics.OK || res.Proto != tc.proto || string(res.Body) != tc.proto.String() {
					t.Fatalf("request %d: class %v proto %v body %q err %v; want ok %v", i, res.Class, res.Proto, res.Body, res.Err, tc.proto)
				}
				tls, connect := res.Phases[metrics.PhaseTLS], res.Phases[metrics.PhaseConnect]
				if i == 0 && (res.Reused || tls <= 0 || connect <= 0) {
					t.Errorf("first request: reused %v connect %v tls %v; want both > 0", res.Reused, connect, tls)
				}
				if i > 0 && (!res.Reused || tls != 0 || connect != 0) {
					t.Errorf("request %d: reused %v connect %v tls %v; want 0 on the reused connection", i, res.Reused, connect, tls)
				}
			}
		})
	}
}

// TestPhasesOfFailures: a failed request's phases still add up to its
// time, the phase under way when it failed taking the rest.
func TestPhasesOfFailures(t *testing.T) {
	t.Parallel()
	hang := serveRaw(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // reads, never answers
	refused := refusedAddr(t)
	for _, m := range phaseModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := surgehttp.NewClient(m.opts)
			defer c.Close()
			s := c.NewSession()
			const timeout = 50 * time.Millisecond
			res := timed(t, s, &surgehttp.Request{Method: "GET", URL: mustURL(t, "http://"+hang+"/"), Timeout: timeout})
			if res.Class != metrics.Timeout {
				t.Fatalf("silent server: class %v err %v, want timeout", res.Class, res.Err)
			}
			if w := res.Phases[metrics.PhaseWait]; w < timeout-5*time.Millisecond {
				t.Errorf("silent server: wait %v, want about the %v timeout; phases %v", w, timeout, res.Phases)
			}
			if res.Phases[metrics.PhaseReceive] != 0 {
				t.Errorf("silent server: receive %v without a byte", res.Phases[metrics.PhaseReceive])
			}
			res = timed(t, s, &surgehttp.Request{Method: "GET", URL: mustURL(t, "http://"+refused+"/"), Timeout: time.Second})
			if res.Class != metrics.ConnRefused {
				t.Fatalf("closed port: class %v err %v, want connection_refused", res.Class, res.Err)
			}
			if p := res.Phases; p[metrics.PhaseSend]+p[metrics.PhaseWait]+p[metrics.PhaseReceive] != 0 {
				t.Errorf("closed port: phases past connecting: %v", p)
			}
		})
	}
}

// TestPhasesUnderConcurrency sends from several sessions at once, so that
// net/http's hooks run on other goroutines while requests end (go test
// -race checks them), and every response's phases still add up.
func TestPhasesUnderConcurrency(t *testing.T) {
	t.Parallel()
	u := slowServer(t, time.Millisecond)
	for _, m := range phaseModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := surgehttp.NewClient(m.opts)
			defer c.Close()
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					s := c.NewSession()
					r := &surgehttp.Request{Method: "GET", URL: mustURL(t, u+"/"), Timeout: 5 * time.Second}
					for range 10 {
						if res := timed(t, s, r); res.Class != metrics.OK {
							t.Errorf("class %v err %v", res.Class, res.Err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestPhasesReceiveIsTheBody: a body that comes in two parts 30 ms apart
// shows in receive, not in wait.
func TestPhasesReceiveIsTheBody(t *testing.T) {
	t.Parallel()
	const pause = 30 * time.Millisecond
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "hello")
		w.(nethttp.Flusher).Flush()
		time.Sleep(pause)
		_, _ = io.WriteString(w, "world")
	}))
	srv.Config.Protocols = new(nethttp.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	for _, m := range phaseModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			c := surgehttp.NewClient(m.opts)
			defer c.Close()
			res := timed(t, c.NewSession(), &surgehttp.Request{Method: "GET", URL: mustURL(t, srv.URL+"/"), Timeout: 5 * time.Second, KeepBody: 64})
			if res.Class != metrics.OK || string(res.Body) != "helloworld" {
				t.Fatalf("class %v body %q err %v", res.Class, res.Body, res.Err)
			}
			if rcv := res.Phases[metrics.PhaseReceive]; rcv < pause-2*time.Millisecond || rcv > pause+20*time.Millisecond {
				t.Errorf("receive %v, want ~%v; phases %v", rcv, pause, res.Phases)
			}
			if w := res.Phases[metrics.PhaseWait]; w > 10*time.Millisecond {
				t.Errorf("wait %v for a response whose head came at once", w)
			}
		})
	}
}

// TestPhasesOfARetry: a request the lean client retries on a new
// connection, because the server had closed the reused one, counts the
// failed attempt in blocked and the new connection in connect.
func TestPhasesOfARetry(t *testing.T) {
	t.Parallel()
	addr := serveRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		if _, err := c.Read(buf); err != nil {
			return
		}
		// Keep-alive by its framing, then closed: the next request on it fails.
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	s := c.NewSession()
	r := &surgehttp.Request{Method: "GET", URL: mustURL(t, "http://"+addr+"/"), Timeout: 5 * time.Second}
	if res := timed(t, s, r); res.Class != metrics.OK || res.Reused {
		t.Fatalf("first request: class %v reused %v err %v", res.Class, res.Reused, res.Err)
	}
	time.Sleep(20 * time.Millisecond) // let the close arrive
	res := timed(t, s, r)
	if res.Class != metrics.OK || res.Reused {
		t.Fatalf("retried request: class %v reused %v err %v; want ok on a new connection", res.Class, res.Reused, res.Err)
	}
	if res.Phases[metrics.PhaseBlocked] <= 0 || res.Phases[metrics.PhaseConnect] <= 0 {
		t.Errorf("retried request: blocked %v connect %v, want both > 0", res.Phases[metrics.PhaseBlocked], res.Phases[metrics.PhaseConnect])
	}
}

// TestProtoReported: each response says which protocol carried it, and a
// request without a response the protocol it was sent with, if known.
func TestProtoReported(t *testing.T) {
	t.Parallel()
	http10 := serveRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		if _, err := c.Read(buf); err == nil {
			_, _ = io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	refused := "http://" + refusedAddr(t) + "/"
	for _, tc := range []struct {
		name string
		opts surgehttp.Options
		url  string
		want metrics.Proto
	}{
		{"lean HTTP/1.0", surgehttp.Options{}, "http://" + http10 + "/", metrics.ProtoHTTP10},
		{"net/http HTTP/1.0", surgehttp.Options{ForceNetHTTP: true}, "http://" + http10 + "/", metrics.ProtoHTTP10},
		{"lean refused", surgehttp.Options{}, refused, metrics.ProtoHTTP11},
		{"net/http refused", surgehttp.Options{ForceNetHTTP: true}, refused, metrics.ProtoHTTP11},
		{"h2 refused", surgehttp.Options{HTTP2: true}, refused, metrics.ProtoHTTP2},
		// The TLS handshake, which would choose the protocol, never began.
		{"https refused", surgehttp.Options{}, "https://" + refused[len("http://"):], metrics.ProtoUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := surgehttp.NewClient(tc.opts)
			defer c.Close()
			res := timed(t, c.NewSession(), &surgehttp.Request{Method: "GET", URL: mustURL(t, tc.url), Timeout: 5 * time.Second})
			if res.Proto != tc.want {
				t.Errorf("proto %v (class %v err %v), want %v", res.Proto, res.Class, res.Err, tc.want)
			}
		})
	}
}
