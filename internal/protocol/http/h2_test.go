package http_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

// HTTP/2 mode (Options.HTTP2) against real servers on loopback.

// protoServer counts the requests it serves by protocol, and its
// connections.
type protoServer struct {
	mu       sync.Mutex
	protos   map[string]int
	prefaces int
	conns    atomic.Int64
	url      string
}

func (p *protoServer) seen() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.protos))
	for k, v := range p.protos {
		out[k] = v
	}
	return out
}

// startProtoServer starts a server speaking the protocols set, over TLS
// or not.
func startProtoServer(t *testing.T, tlsOn bool, set func(*nethttp.Protocols)) *protoServer {
	t.Helper()
	ps := &protoServer{protos: map[string]int{}}
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		ps.mu.Lock()
		if r.Method == "PRI" {
			// An HTTP/1.1-only server hands the HTTP/2 connection preface
			// ("PRI * HTTP/2.0") to the handler: not a request.
			ps.prefaces++
		} else {
			ps.protos[r.Proto]++
		}
		ps.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s nethttp.ConnState) {
		if s == nethttp.StateNew {
			ps.conns.Add(1)
		}
	}
	srv.Config.Protocols = new(nethttp.Protocols)
	set(srv.Config.Protocols)
	if tlsOn {
		srv.EnableHTTP2 = srv.Config.Protocols.HTTP2()
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	ps.url = srv.URL
	return ps
}

// TestH2MultiplexesAndCounts: in HTTP/2 mode every request the server sees
// is HTTP/2.0, the client's totals are the server's, and the sessions'
// streams share one connection per group of SessionsPerConn sessions.
func TestH2MultiplexesAndCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tls  bool
		set  func(*nethttp.Protocols)
	}{
		{"h2c", false, func(p *nethttp.Protocols) { p.SetUnencryptedHTTP2(true) }},
		{"h2c beside HTTP/1.1", false, func(p *nethttp.Protocols) { p.SetHTTP1(true); p.SetUnencryptedHTTP2(true) }},
		{"h2 over TLS", true, func(p *nethttp.Protocols) { p.SetHTTP1(true); p.SetHTTP2(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startProtoServer(t, tc.tls, tc.set)
			const sessions, perConn, each = 12, 4, 20
			c := surgehttp.NewClient(surgehttp.Options{HTTP2: true, SessionsPerConn: perConn, Insecure: true})
			defer c.Close()
			var ok, sent atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range sessions {
				s := c.NewSession()
				wg.Go(func() {
					<-start
					r := &surgehttp.Request{Method: "POST", URL: mustURL(t, srv.url+"/x"), Body: []byte("body"), Timeout: 5 * time.Second}
					var res surgehttp.Response
					for range each {
						s.Do(context.Background(), r, &res)
						sent.Add(1)
						if res.Class != metrics.OK || res.Proto != metrics.ProtoHTTP2 {
							t.Errorf("class %v proto %v err %v", res.Class, res.Proto, res.Err)
							continue
						}
						ok.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			seen := srv.seen()
			if want := map[string]int{"HTTP/2.0": sessions * each}; fmt.Sprint(seen) != fmt.Sprint(want) {
				t.Errorf("server saw %v, want %v", seen, want)
			}
			if ok.Load() != sessions*each || sent.Load() != sessions*each {
				t.Errorf("client: %d ok of %d sent, want %d", ok.Load(), sent.Load(), sessions*each)
			}
			if n, groups := srv.conns.Load(), int64(sessions/perConn); n != groups {
				t.Errorf("%d connections for %d sessions in groups of %d, want %d", n, sessions, perConn, groups)
			}
		})
	}
}

// TestH2RefusedByAnHTTP1Server: forcing HTTP/2 on a server that speaks
// only HTTP/1.1 fails each request with a class, and never falls back.
func TestH2RefusedByAnHTTP1Server(t *testing.T) {
	t.Parallel()
	h1only := func(p *nethttp.Protocols) { p.SetHTTP1(true) }
	for _, tc := range []struct {
		name string
		tls  bool
		want []metrics.Class
	}{
		// The TLS handshake finds no common protocol (ALPN).
		{"tls", true, []metrics.Class{metrics.TLS}},
		// The server answers the HTTP/2 preface with an HTTP/1.1 400 and
		// closes. The client reads a malformed frame (other, as garbage
		// is to HTTP/1.1), or, when the close comes first, net/http says
		// only that the connection closed before its first request
		// (connection_reset, as a connection closed before a response).
		{"cleartext", false, []metrics.Class{metrics.Other, metrics.ConnReset}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startProtoServer(t, tc.tls, h1only)
			c := surgehttp.NewClient(surgehttp.Options{HTTP2: true, Insecure: true})
			defer c.Close()
			s := c.NewSession()
			for range 2 {
				res := timed(t, s, &surgehttp.Request{Method: "GET", URL: mustURL(t, srv.url+"/"), Timeout: 5 * time.Second})
				if !slices.Contains(tc.want, res.Class) {
					t.Fatalf("class %v err %v (message %q), want one of %v", res.Class, res.Err, surgehttp.Message(res.Err), tc.want)
				}
			}
			if seen := srv.seen(); len(seen) != 0 {
				t.Errorf("the HTTP/1.1 server served %v: the client fell back", seen)
			}
		})
	}
}

// TestH2ErrorClasses: HTTP/2's failures land in the same classes as the
// same events on HTTP/1.1, and their messages group.
func TestH2ErrorClasses(t *testing.T) {
	t.Parallel()
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/abort", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		panic(nethttp.ErrAbortHandler) // HTTP/2: RST_STREAM; HTTP/1.1: the connection closes
	})
	mux.HandleFunc("/slow", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/503", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.WriteHeader(nethttp.StatusServiceUnavailable)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(nethttp.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Config.ErrorLog = quietLog()
	srv.Start()
	t.Cleanup(srv.Close)
	// A server that accepts and hangs up, and one that answers garbage.
	hangUp := serveRaw(t, func(c net.Conn) {})
	banner := serveRaw(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n") // speaks first, before any request
		_, _ = io.Copy(io.Discard, c)
	})
	garbage := serveRaw(t, func(c net.Conn) {
		// To HTTP/2, a GOAWAY before any SETTINGS; to HTTP/1.1, a garbled
		// status line.
		_, _ = io.WriteString(c, strings.Repeat("\x00\x00\x08\x07\x00\x00\x00\x00\x00", 4)+"\r\n\r\n")
		_, _ = io.Copy(io.Discard, c)
	})
	for _, tc := range []struct {
		name, url string
		timeout   time.Duration
		want      metrics.Class
	}{
		{"stream reset", srv.URL + "/abort", 5 * time.Second, metrics.ConnReset},
		{"timeout", srv.URL + "/slow", 50 * time.Millisecond, metrics.Timeout},
		{"status", srv.URL + "/503", 5 * time.Second, metrics.Status5xx},
		{"refused", "http://" + refusedAddr(t) + "/", 5 * time.Second, metrics.ConnRefused},
		{"hang-up", "http://" + hangUp + "/", 5 * time.Second, metrics.ConnReset},
		{"garbage", "http://" + garbage + "/", 5 * time.Second, metrics.Other},
		// (Its timeout is short of the server's 5 s: a client that missed
		// the banner would see it only when the server hangs up.)
		{"banner", "http://" + banner + "/", time.Second, metrics.Other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, m := range phaseModes {
				c := surgehttp.NewClient(m.opts)
				s := c.NewSession()
				r := &surgehttp.Request{Method: "GET", URL: mustURL(t, tc.url), Timeout: tc.timeout}
				var msgs []string
				for range 2 {
					res := timed(t, s, r)
					ok := res.Class == tc.want
					if (tc.name == "banner" || tc.name == "garbage") && m.proto == metrics.ProtoHTTP2 {
						// Garbled frames, or net/http saying only that the
						// connection closed before its first request (see
						// TestH2RefusedByAnHTTP1Server).
						ok = ok || res.Class == metrics.ConnReset
					}
					if !ok {
						t.Errorf("%s: class %v err %v, want %v", m.name, res.Class, res.Err, tc.want)
					}
					if res.Err != nil {
						msgs = append(msgs, surgehttp.Message(res.Err))
					}
				}
				// The stream reset's message names the stream (1, then 3):
				// it must group. (A hang-up's depends on timing: EOF, a
				// reset or a broken pipe, on either protocol.)
				if tc.name == "stream reset" && (len(msgs) != 2 || msgs[0] != msgs[1]) {
					t.Errorf("%s: messages %q and %q do not group", m.name, msgs[0], msgs[1])
				}
				c.Close()
			}
		})
	}
}

// quietLog discards a test server's complaints about the aborts it is
// told to make.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// TestH2ServerAllowsFewerStreams: when the server allows fewer streams
// than a group has sessions, the group opens another connection when its
// connections' streams are all in use (never more than that), and no
// request fails for it.
func TestH2ServerAllowsFewerStreams(t *testing.T) {
	t.Parallel()
	const hold = 20 * time.Millisecond
	const sessions, streams = 6, 2
	var conns atomic.Int64
	var inFlight, most atomic.Int64
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(hold)
	}))
	srv.Config.Protocols = new(nethttp.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Config.HTTP2 = &nethttp.HTTP2Config{MaxConcurrentStreams: streams}
	srv.Config.ConnState = func(_ net.Conn, s nethttp.ConnState) {
		if s == nethttp.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := surgehttp.NewClient(surgehttp.Options{HTTP2: true, SessionsPerConn: sessions})
	defer c.Close()
	var wg sync.WaitGroup
	for range sessions {
		s := c.NewSession()
		wg.Go(func() {
			r := &surgehttp.Request{Method: "GET", URL: mustURL(t, srv.URL+"/"), Timeout: 5 * time.Second}
			for range 3 {
				if res := timed(t, s, r); res.Class != metrics.OK {
					t.Errorf("class %v err %v", res.Class, res.Err)
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n < 1 || n > sessions/streams {
		t.Errorf("%d connections for %d sessions on a server allowing %d streams, want 1 to %d", n, sessions, streams, sessions/streams)
	}
	if m, n := most.Load(), conns.Load(); m > streams*n {
		t.Errorf("%d requests at once on %d connections of %d streams", m, n, streams)
	}
}
