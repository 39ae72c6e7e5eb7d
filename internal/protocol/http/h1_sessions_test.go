package http_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

// A session's connections across hosts, the client's list of them, and
// the context hook that aborts them; the request head for odd headers; the
// Cookie header the jar writes.

// TestLeanHostsLeastRecentlyUsed: a session keeps connections to four
// hosts; a fifth closes the least recently used one, and using a host
// again makes it the most recently used.
func TestLeanHostsLeastRecentlyUsed(t *testing.T) {
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	srv := map[string]*rawServer{}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		srv[name] = startRaw(t, reply(resp))
	}
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	s := c.NewSession()
	var res surgehttp.Response
	for i, name := range []string{"a", "b", "c", "d", "a", "e", "a", "b", "d"} {
		s.Do(context.Background(), &surgehttp.Request{URL: mustURL(t, srv[name].URL()+"/"), Timeout: 5 * time.Second}, &res)
		if res.Class != metrics.OK {
			t.Fatalf("request %d to %s: class %v err %v", i, name, res.Class, res.Err)
		}
	}
	// a was used again before e came, so b was the least recently used;
	// b's return then closed c, the least recently used by then.
	want := map[string]int64{"a": 1, "b": 2, "c": 1, "d": 1, "e": 1}
	for name, n := range want {
		if got := srv[name].conns.Load(); got != n {
			t.Errorf("host %s: %d connections, want %d", name, got, n)
		}
	}
}

// TestLeanCloseAfterAClosedConnection: Client.Close still closes every
// open connection after the most recently opened one was closed by its
// server (Connection: close).
func TestLeanCloseAfterAClosedConnection(t *testing.T) {
	ended := make(chan struct{})
	kept := startRaw(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		defer close(ended)
		for {
			if _, ok := s.readRequest(br); !ok {
				return // the client closed the connection
			}
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); err != nil {
				return
			}
		}
	})
	closing := startRaw(t, replyClose("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
	c := surgehttp.NewClient(surgehttp.Options{})
	var res surgehttp.Response
	c.NewSession().Do(context.Background(), &surgehttp.Request{URL: mustURL(t, kept.URL()+"/")}, &res)
	c.NewSession().Do(context.Background(), &surgehttp.Request{URL: mustURL(t, closing.URL()+"/")}, &res)
	if res.Class != metrics.OK {
		t.Fatalf("class %v err %v", res.Class, res.Err)
	}
	c.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the kept connection is still open after Close")
	}
}

// holdServer reads a request and never answers; requests tells when one
// has arrived.
func holdServer(t *testing.T) (string, chan struct{}) {
	t.Helper()
	requests := make(chan struct{}, 16)
	srv := startRaw(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		for {
			if _, ok := s.readRequest(br); !ok {
				return
			}
			requests <- struct{}{}
		}
	})
	return srv.URL(), requests
}

// TestLeanAbortAfterAnotherSessionLeft: when one of two sessions on a
// context moves to another context, cancelling the first still ends the
// other's request at once.
func TestLeanAbortAfterAnotherSessionLeft(t *testing.T) {
	ok := startRaw(t, reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	hold, arrived := holdServer(t)
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	s1, s2 := c.NewSession(), c.NewSession()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var res surgehttp.Response
	s1.Do(ctx, &surgehttp.Request{URL: mustURL(t, ok.URL()+"/")}, &res)
	s2.Do(ctx, &surgehttp.Request{URL: mustURL(t, ok.URL()+"/")}, &res)
	s1.Do(context.Background(), &surgehttp.Request{URL: mustURL(t, ok.URL()+"/")}, &res) // s1 leaves ctx
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-time.After(5 * time.Second):
		}
	}()
	start := time.Now()
	s2.Do(ctx, &surgehttp.Request{URL: mustURL(t, hold+"/"), Timeout: 4 * time.Second}, &res)
	if took := time.Since(start); took > 2*time.Second || !errors.Is(res.Err, context.Canceled) {
		t.Errorf("after %v: class %v err %v; want the cancellation to end the request at once", took, res.Class, res.Err)
	}
}

// headOf sends r through a client built from o to a server that records
// the request head, and returns the head's lines, with the server's
// address written HOST.
func headOf(t *testing.T, o surgehttp.Options, r *surgehttp.Request) ([]string, surgehttp.Response) {
	t.Helper()
	heads := make(chan []string, 1)
	srv := startRaw(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		lines, ok := s.readRequest(br)
		if ok {
			heads <- lines
			_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		}
	})
	u := *r.URL
	u.Host = srv.ln.Addr().String()
	rr := *r
	rr.URL = &u
	res := do(t, o, &rr)
	select {
	case h := <-heads:
		for i := range h {
			h[i] = strings.ReplaceAll(h[i], u.Host, "HOST")
		}
		return h, res
	default:
		return nil, res
	}
}

// TestRequestHeadEdgeCases: an empty Host list means the URL's host; a
// header name with every letter case and digit is sent; a relative path
// gets its slash. Both clients agree. The lean client sends OPTIONS * as
// is (net/http, given a URL, cannot).
func TestRequestHeadEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		req  surgehttp.Request
		want []string // lines of the head ("HOST" for the server's address)
	}{
		{"empty Host list", surgehttp.Request{URL: mustURL(t, "http://HOST/"), Header: nethttp.Header{"Host": {}}},
			[]string{"GET / HTTP/1.1", "Host: HOST"}},
		{"empty Host value", surgehttp.Request{URL: mustURL(t, "http://HOST/"), Header: nethttp.Header{"Host": {""}}},
			[]string{"GET / HTTP/1.1", "Host: HOST"}},
		{"name of every class", surgehttp.Request{URL: mustURL(t, "http://HOST/"), Header: nethttp.Header{"X-Zz-Aa-09": {"1"}}},
			[]string{"X-Zz-Aa-09: 1"}},
		{"relative path", surgehttp.Request{URL: mustURL(t, "http://HOST/"), Header: nil}, []string{"GET /rel HTTP/1.1"}},
		{"options star", surgehttp.Request{Method: "OPTIONS", URL: mustURL(t, "http://HOST/")}, []string{"OPTIONS * HTTP/1.1"}},
	}
	for _, tt := range tests {
		for _, cl := range clients {
			if tt.name == "options star" && cl.opts.ForceNetHTTP {
				continue // net/http sends the URL's path, /*
			}
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				r := tt.req
				u := *r.URL
				switch tt.name {
				case "relative path":
					u.Path = "rel"
				case "options star":
					u.Path = "*"
				}
				r.URL = &u
				head, res := headOf(t, cl.opts, &r)
				if res.Class != metrics.OK || head == nil {
					t.Fatalf("class %v err %v, head %q", res.Class, res.Err, head)
				}
				text := strings.Join(head, "\n")
				for _, w := range tt.want {
					if !strings.Contains(text, w) {
						t.Errorf("head lacks %q:\n%s", w, text)
					}
				}
			})
		}
	}
}

// TestLeanRefusesInvalidTokens: a method or header name that is no token
// is refused before anything is sent, and every token character passes.
func TestLeanRefusesInvalidTokens(t *testing.T) {
	var arrived atomic.Int64
	srv := startRaw(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		for {
			if _, ok := s.readRequest(br); !ok {
				return
			}
			arrived.Add(1)
			if _, err := io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n"); err != nil {
				return
			}
		}
	})
	u := mustURL(t, srv.URL()+"/")
	for _, tt := range []struct {
		method string
		header string
		ok     bool
	}{
		{"GET", "X-Ok", true},
		{"M!#$%&'*+-.^_`|~09azAZ", "N!#$%&'*+-.^_`|~09azAZ", true},
		{"GE T", "X-Ok", false},
		{"GET", "Bad Name", false},
		{"GET", "Bad:Name", false},
		{"GET", "Bad\"Name", false},
		{"", "", true},
	} {
		h := nethttp.Header{}
		if tt.header != "" {
			h[tt.header] = []string{"v"}
		}
		before := arrived.Load()
		res := do(t, surgehttp.Options{}, &surgehttp.Request{Method: tt.method, URL: u, Header: h})
		if sentOK := res.Class == metrics.OK && arrived.Load() == before+1; sentOK != tt.ok {
			t.Errorf("method %q header %q: class %v err %v, %d requests arrived; want sent: %v", tt.method, tt.header, res.Class, res.Err, arrived.Load()-before, tt.ok)
		}
		if !tt.ok && (res.Class != metrics.Other || res.BytesSent != 0) {
			t.Errorf("method %q header %q: class %v, %d bytes sent; want other and none", tt.method, tt.header, res.Class, res.BytesSent)
		}
	}
}

// TestJarCookieHeader: the Cookie header holds the request's own cookies,
// then the jar's, with "; " between them only; a request the jar has no
// cookie for, and that has none of its own, gets no Cookie header at all.
func TestJarCookieHeader(t *testing.T) {
	var mu sync.Mutex
	var got []string // the Cookie header of each request, "-" for none
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		mu.Lock()
		if v, ok := r.Header["Cookie"]; ok {
			got = append(got, strings.Join(v, " | "))
		} else {
			got = append(got, "-")
		}
		mu.Unlock()
		if r.URL.Path == "/login" {
			w.Header().Add("Set-Cookie", "sid=1; Path=/a")
		}
	}))
	defer srv.Close()
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			c := surgehttp.NewClient(cl.opts)
			defer c.Close()
			s := c.NewSession()
			var res surgehttp.Response
			for _, r := range []struct {
				path string
				own  []string
			}{
				{"/login", nil},
				{"/b", nil},
				{"/a", nil},
				{"/a", []string{"mine=1"}},
				{"/b", []string{"mine=1"}},
			} {
				h := nethttp.Header{}
				if r.own != nil {
					h["Cookie"] = r.own
				}
				s.Do(context.Background(), &surgehttp.Request{URL: mustURL(t, srv.URL+r.path), Header: h, Timeout: 5 * time.Second}, &res)
				if res.Class != metrics.OK {
					t.Fatalf("%s: class %v err %v", r.path, res.Class, res.Err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			want := []string{"-", "-", "sid=1", "mine=1; sid=1", "mine=1"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Cookie headers %q, want %q", got, want)
			}
		})
	}
}

// TestConformanceTruncatedHeads: a head cut short by the end of the
// connection is a reset, unless a line that did arrive is garbled, which
// makes it a malformed response: the same class from both clients.
func TestConformanceTruncatedHeads(t *testing.T) {
	tests := []struct {
		name, resp string
		want       metrics.Class
	}{
		{"after a header", "HTTP/1.1 200 OK\r\nA: b\r\n", metrics.ConnReset},
		{"inside CRLF", "HTTP/1.1 200 OK\r\nA: b\r\n\r", metrics.Other},
		{"after a continuation", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n", metrics.ConnReset},
		{"after an interim response", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", metrics.ConnReset},
		{"after an empty name", "HTTP/1.1 200 OK\r\nA: b\r\n:x\r\n", metrics.Other},
		{"after a continuation first", "HTTP/1.1 200 OK\r\n X: 1\r\n", metrics.Other},
		{"inside a name", "HTTP/1.1 200 OK\r\nA: b\r\nX-Cut", metrics.Other},
	}
	for _, tt := range tests {
		for _, cl := range clients {
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				srv := startRaw(t, replyClose(tt.resp))
				res := do(t, cl.opts, &surgehttp.Request{URL: mustURL(t, srv.URL()+"/"), Timeout: 5 * time.Second})
				if res.Class != tt.want || res.Err == nil {
					t.Errorf("class %v err %v, want %v", res.Class, res.Err, tt.want)
				}
			})
		}
	}
}

// TestLeanCloseDuringRequest: Client.Close ends a request under way at
// once; its error reads as a read on a closed connection, as net's own
// Read names it (not the raw read the lean client waits in).
func TestLeanCloseDuringRequest(t *testing.T) {
	hold, arrived := holdServer(t)
	c := surgehttp.NewClient(surgehttp.Options{})
	go func() {
		select {
		case <-arrived:
			c.Close()
		case <-time.After(5 * time.Second):
		}
	}()
	var res surgehttp.Response
	start := time.Now()
	c.NewSession().Do(context.Background(), &surgehttp.Request{URL: mustURL(t, hold+"/"), Timeout: 4 * time.Second}, &res)
	msg := ""
	if res.Err != nil {
		msg = surgehttp.Message(res.Err)
	}
	if took := time.Since(start); took > 2*time.Second || res.Class != metrics.Other || msg != "read: use of closed network connection" {
		t.Errorf("after %v: class %v, message %q (err %v)", took, res.Class, msg, res.Err)
	}
}
