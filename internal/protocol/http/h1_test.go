package http_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/testbed"
)

// clients are the two implementations behind Session.Do: every outcome must
// be the same whichever sends the request.
var clients = []struct {
	name string
	opts surgehttp.Options
}{
	{"lean", surgehttp.Options{}},
	{"net/http", surgehttp.Options{ForceNetHTTP: true}},
}

func startTestbed(t testing.TB) *testbed.Server {
	t.Helper()
	tb, err := testbed.Start("127.0.0.1:0", testbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	return tb
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// do sends one request with a fresh session of a client built from o.
func do(t *testing.T, o surgehttp.Options, r *surgehttp.Request) surgehttp.Response {
	t.Helper()
	c := surgehttp.NewClient(o)
	t.Cleanup(c.Close)
	var res surgehttp.Response
	c.NewSession().Do(context.Background(), r, &res)
	return res
}

// TestConformanceTestbed sends the testbed's well- and misbehaving endpoints
// through both clients and expects the same classified outcome.
func TestConformanceTestbed(t *testing.T) {
	tb := startTestbed(t)
	refused := closedPort(t)
	tests := []struct {
		name      string
		method    string
		url       string
		body      string
		timeout   time.Duration
		keep      int
		wantClass metrics.Class
		wantCode  int
		wantSize  int64 // body size, -1: don't care
		wantBody  string
	}{
		{name: "ok", url: "/hello", keep: 100, wantClass: metrics.OK, wantCode: 200, wantSize: 25, wantBody: "hello from surge testbed\n"},
		{name: "keep prefix", url: "/hello", keep: 5, wantClass: metrics.OK, wantCode: 200, wantSize: 25, wantBody: "hello"},
		{name: "post body", method: "POST", url: "/hello", body: strings.Repeat("x", 10000), wantClass: metrics.OK, wantCode: 200, wantSize: 25},
		{name: "huge post body", method: "POST", url: "/hello", body: strings.Repeat("y", 16<<20), timeout: 20 * time.Second, wantClass: metrics.OK, wantCode: 200, wantSize: 25},
		{name: "head", method: "HEAD", url: "/hello", wantClass: metrics.OK, wantCode: 200, wantSize: 0},
		{name: "404", url: "/nope", wantClass: metrics.Status4xx, wantCode: 404, wantSize: -1},
		{name: "503", url: "/status/503", wantClass: metrics.Status5xx, wantCode: 503, wantSize: 0},
		{name: "204", url: "/status/204", wantClass: metrics.OK, wantCode: 204, wantSize: 0},
		{name: "304", url: "/status/304", wantClass: metrics.OK, wantCode: 304, wantSize: 0},
		{name: "big body", url: "/big?kb=3000", keep: 10, wantClass: metrics.OK, wantCode: 200, wantSize: 3000 * 1024, wantBody: strings.Repeat("\x00", 10)},
		{name: "slow chunked body", url: "/slow?ms=100", keep: 8, wantClass: metrics.OK, wantCode: 200, wantSize: 80, wantBody: "chunk 0\n"},
		{name: "slow body times out", url: "/slow?ms=2000", timeout: 300 * time.Millisecond, wantClass: metrics.Timeout, wantCode: 200, wantSize: -1},
		{name: "hang times out", url: "/hang", timeout: 200 * time.Millisecond, wantClass: metrics.Timeout, wantSize: 0},
		{name: "delay within timeout", url: "/delay?ms=50", timeout: time.Second, wantClass: metrics.OK, wantCode: 200, wantSize: 3},
		{name: "reset", url: "/reset", wantClass: metrics.ConnReset, wantSize: 0},
		{name: "close", url: "/close", wantClass: metrics.ConnReset, wantSize: 0},
		{name: "garbage", url: "/garbage", wantClass: metrics.Other, wantSize: 0},
		{name: "refused", url: refused + "/", wantClass: metrics.ConnRefused, wantSize: 0},
	}
	for _, tt := range tests {
		for _, cl := range clients {
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				t.Parallel()
				raw := tt.url
				if strings.HasPrefix(raw, "/") {
					raw = tb.URL() + raw
				}
				res := do(t, cl.opts, &surgehttp.Request{
					Method: tt.method, URL: mustURL(t, raw), Body: []byte(tt.body),
					Timeout: tt.timeout, KeepBody: tt.keep,
				})
				if res.Class != tt.wantClass {
					t.Errorf("class %v (err %v), want %v", res.Class, res.Err, tt.wantClass)
				}
				if res.Status != tt.wantCode {
					t.Errorf("status %d, want %d", res.Status, tt.wantCode)
				}
				if tt.wantSize >= 0 && res.BodySize != tt.wantSize {
					t.Errorf("body size %d, want %d", res.BodySize, tt.wantSize)
				}
				if tt.keep > 0 && string(res.Body) != tt.wantBody {
					t.Errorf("body %q, want %q", res.Body, tt.wantBody)
				}
				if (res.Err != nil) != (res.Class != metrics.OK && res.Status == 0 || res.Class == metrics.Timeout) {
					t.Errorf("err %v with class %v", res.Err, res.Class)
				}
				if res.Class == metrics.OK && (res.BytesSent == 0 || res.BytesReceived == 0) {
					t.Errorf("bytes sent %d, received %d: want both counted", res.BytesSent, res.BytesReceived)
				}
				if res.Class == metrics.OK && res.BytesSent < int64(len(tt.body)) {
					t.Errorf("bytes sent %d, less than the %d-byte body", res.BytesSent, len(tt.body))
				}
				if res.Class == metrics.ConnRefused && res.BytesSent != 0 {
					t.Errorf("refused, yet %d bytes sent", res.BytesSent)
				}
			})
		}
	}
}

// TestConformanceMessages checks that both clients describe the same failure
// with the same grouped message.
func TestConformanceMessages(t *testing.T) {
	tb := startTestbed(t)
	for _, path := range []string{"/reset", "/close", "/hang"} {
		t.Run(path, func(t *testing.T) {
			var msgs []string
			for _, cl := range clients {
				res := do(t, cl.opts, &surgehttp.Request{URL: mustURL(t, tb.URL()+path), Timeout: 200 * time.Millisecond})
				if res.Err == nil {
					t.Fatalf("%s: no error", cl.name)
				}
				msgs = append(msgs, surgehttp.Message(res.Err))
			}
			if msgs[0] != msgs[1] {
				t.Errorf("lean client says %q, net/http %q", msgs[0], msgs[1])
			}
		})
	}
}

func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// rawServer serves scripted HTTP/1.1 exchanges on loopback: handle runs once
// per connection and answers requests as it likes.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int64
	reqs  atomic.Int64
	wg    sync.WaitGroup

	mu       sync.Mutex
	received bytes.Buffer // every request byte read, across connections
}

func startRaw(t testing.TB, handle func(s *rawServer, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(s, c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) URL() string { return "http://" + s.ln.Addr().String() }

// readRequest reads one request head and body; it returns the head's lines
// and false at the end of the connection.
func (s *rawServer) readRequest(br *bufio.Reader) ([]string, bool) {
	var lines []string
	var raw bytes.Buffer
	n := 0
	for {
		line, err := br.ReadString('\n')
		raw.WriteString(line)
		if err != nil {
			return nil, false
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		lines = append(lines, line)
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, false
	}
	raw.Write(body)
	s.mu.Lock()
	s.received.Write(raw.Bytes())
	s.mu.Unlock()
	s.reqs.Add(1)
	return lines, true
}

// reply answers every request on the connection with resp.
func reply(resp string) func(*rawServer, net.Conn, *bufio.Reader) {
	return func(s *rawServer, c net.Conn, br *bufio.Reader) {
		for {
			if _, ok := s.readRequest(br); !ok {
				return
			}
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	}
}

// replyClose answers one request with resp and closes the connection.
func replyClose(resp string) func(*rawServer, net.Conn, *bufio.Reader) {
	return func(s *rawServer, c net.Conn, br *bufio.Reader) {
		if _, ok := s.readRequest(br); ok {
			_, _ = io.WriteString(c, resp)
		}
	}
}

// TestConformanceRaw drives both clients through HTTP/1.1 corner cases a
// real server may produce.
func TestConformanceRaw(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		handle    func(*rawServer, net.Conn, *bufio.Reader)
		timeout   time.Duration
		wantClass metrics.Class
		wantCode  int
		wantSize  int64
		wantBody  string
	}{
		{name: "content-length", handle: reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 5, wantBody: "hello"},
		{name: "chunked with extension and trailer",
			handle:    reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 11, wantBody: "hello world"},
		{name: "chunked wins over length",
			handle:    reply("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 2, wantBody: "hi"},
		{name: "body to end of connection", handle: replyClose("HTTP/1.1 200 OK\r\n\r\nuntil close"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 11, wantBody: "until close"},
		{name: "http/1.0", handle: replyClose("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 2, wantBody: "ok"},
		{name: "connection close", handle: reply("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 2, wantBody: "ok"},
		{name: "100 continue then 200", handle: reply("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 2, wantBody: "ok"},
		{name: "103 early hints then 404", handle: reply("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
			wantClass: metrics.Status4xx, wantCode: 404, wantSize: 0},
		{name: "304 with length but no body", handle: reply("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"),
			wantClass: metrics.OK, wantCode: 304, wantSize: 0},
		{name: "204", handle: reply("HTTP/1.1 204 No Content\r\n\r\n"),
			wantClass: metrics.OK, wantCode: 204, wantSize: 0},
		{name: "head with length", method: "HEAD", handle: reply("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 0},
		{name: "bare LF line endings", handle: reply("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
			wantClass: metrics.OK, wantCode: 200, wantSize: 2, wantBody: "ok"},
		{name: "short body then close", handle: replyClose("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"),
			wantClass: metrics.ConnReset, wantCode: 200, wantSize: 4},
		{name: "chunked cut short", handle: replyClose("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"),
			wantClass: metrics.ConnReset, wantCode: 200, wantSize: 3},
		{name: "head cut short", handle: replyClose("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"),
			wantClass: metrics.ConnReset, wantSize: 0},
		{name: "head cut inside a line", handle: replyClose("HTTP/1.1 200 OK\r\nContent-Le"),
			wantClass: metrics.Other, wantSize: 0}, // a garbled line, as net/http sees it
		{name: "status line cut short", handle: replyClose("HTTP/1."),
			wantClass: metrics.Other, wantSize: 0},
		{name: "closed without answer", handle: replyClose(""),
			wantClass: metrics.ConnReset, wantSize: 0},
		{name: "bad status code", handle: replyClose("HTTP/1.1 2x0 OK\r\n\r\n"),
			wantClass: metrics.Other, wantSize: 0},
		{name: "bad version", handle: replyClose("HTTX/1.1 200 OK\r\n\r\n"),
			wantClass: metrics.Other, wantSize: 0},
		{name: "garbage without blank line", handle: func(s *rawServer, c net.Conn, br *bufio.Reader) {
			if _, ok := s.readRequest(br); ok {
				_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n")
				time.Sleep(time.Second) // no blank line ever comes
			}
		}, timeout: 5 * time.Second, wantClass: metrics.Other, wantSize: 0},
		{name: "bad content-length", handle: replyClose("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
			wantClass: metrics.Other, wantSize: 0},
		{name: "conflicting content-lengths", handle: replyClose("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
			wantClass: metrics.Other, wantSize: 0},
		{name: "unsupported transfer-encoding", handle: replyClose("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc"),
			wantClass: metrics.Other, wantSize: 0},
		{name: "bad chunk size", handle: replyClose("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
			wantClass: metrics.Other, wantCode: 200, wantSize: 0},
		{name: "header line without colon", handle: replyClose("HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n"),
			wantClass: metrics.Other, wantSize: 0},
		{name: "huge head", handle: func(s *rawServer, c net.Conn, br *bufio.Reader) {
			if _, ok := s.readRequest(br); ok {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
				line := "X-Filler: " + strings.Repeat("a", 1000) + "\r\n"
				for range 12000 { // ~12 MB of headers: beyond both clients' limits
					if _, err := io.WriteString(c, line); err != nil {
						return
					}
				}
			}
		}, timeout: 10 * time.Second, wantClass: metrics.Other, wantSize: 0},
		{name: "head just over a megabyte", handle: func(s *rawServer, c net.Conn, br *bufio.Reader) {
			if _, ok := s.readRequest(br); ok {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
				line := "X-Filler: " + strings.Repeat("a", 1000) + "\r\n"
				for range 1100 { // 1.1 MB: both clients stop at 1 MiB
					if _, err := io.WriteString(c, line); err != nil {
						return
					}
				}
				_, _ = io.WriteString(c, "\r\n")
			}
		}, timeout: 10 * time.Second, wantClass: metrics.Other, wantSize: 0},
		{name: "stalled head times out", handle: func(s *rawServer, c net.Conn, br *bufio.Reader) {
			if _, ok := s.readRequest(br); ok {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
				time.Sleep(time.Second)
			}
		}, timeout: 200 * time.Millisecond, wantClass: metrics.Timeout, wantSize: 0},
	}
	for _, tt := range tests {
		for _, cl := range clients {
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				t.Parallel()
				srv := startRaw(t, tt.handle)
				res := do(t, cl.opts, &surgehttp.Request{Method: tt.method, URL: mustURL(t, srv.URL()+"/x"), Timeout: tt.timeout, KeepBody: 64})
				if res.Class != tt.wantClass {
					t.Errorf("class %v (err %v), want %v", res.Class, res.Err, tt.wantClass)
				}
				if res.Class == metrics.OK && res.Status != tt.wantCode || res.Status != 0 && res.Status != tt.wantCode {
					t.Errorf("status %d, want %d", res.Status, tt.wantCode)
				}
				if res.BodySize != tt.wantSize {
					t.Errorf("body size %d, want %d", res.BodySize, tt.wantSize)
				}
				if res.Class == metrics.OK && string(res.Body) != tt.wantBody {
					t.Errorf("body %q, want %q", res.Body, tt.wantBody)
				}
			})
		}
	}
}

// TestLeanKeepAlive checks connection reuse, Connection: close, and that
// the lean client counts the exact bytes on the wire.
func TestLeanKeepAlive(t *testing.T) {
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	tests := []struct {
		name      string
		resp      string
		n         int
		wantConns int64
	}{
		{"keep-alive reuses one connection", resp, 20, 1},
		{"connection close opens one per request", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", 5, 5},
		{"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", 3, 3},
		{"http/1.0 keep-alive reuses", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello", 4, 1},
		{"chunked keeps the connection", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startRaw(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
				closing := strings.Contains(tt.resp, "close") || strings.HasPrefix(tt.resp, "HTTP/1.0") && !strings.Contains(tt.resp, "keep-alive")
				for {
					if _, ok := s.readRequest(br); !ok {
						return
					}
					if _, err := io.WriteString(c, tt.resp); err != nil || closing {
						return
					}
				}
			})
			c := surgehttp.NewClient(surgehttp.Options{})
			defer c.Close()
			sess := c.NewSession()
			req := &surgehttp.Request{Method: "POST", URL: mustURL(t, srv.URL()+"/p?q=1"), Body: []byte("abc"),
				Header: nethttp.Header{"X-A": {"1", "2"}}}
			var res surgehttp.Response
			var sent, received int64
			for range tt.n {
				sess.Do(context.Background(), req, &res)
				if res.Class != metrics.OK || res.BodySize != 5 {
					t.Fatalf("class %v err %v size %d", res.Class, res.Err, res.BodySize)
				}
				sent += res.BytesSent
				received += res.BytesReceived
			}
			if got := srv.conns.Load(); got != tt.wantConns {
				t.Errorf("%d connections, want %d", got, tt.wantConns)
			}
			srv.mu.Lock()
			wire := int64(srv.received.Len())
			srv.mu.Unlock()
			if sent != wire {
				t.Errorf("counted %d bytes sent, the server read %d", sent, wire)
			}
			if want := int64(tt.n * len(tt.resp)); received != want {
				t.Errorf("counted %d bytes received, the server wrote %d", received, want)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLeanRequestWire checks the request as it goes on the wire.
func TestLeanRequestWire(t *testing.T) {
	tests := []struct {
		name   string
		req    surgehttp.Request
		want   []string // lines that must be in the head
		absent []string
	}{
		{name: "get", req: surgehttp.Request{URL: mustURL(t, "http://HOST/a%20b?x=1&y")},
			want: []string{"GET /a%20b?x=1&y HTTP/1.1", "Host: HOST", "User-Agent: surge"}, absent: []string{"Content-Length"}},
		{name: "empty post has a length", req: surgehttp.Request{Method: "POST", URL: mustURL(t, "http://HOST")},
			want: []string{"POST / HTTP/1.1", "Content-Length: 0"}},
		{name: "own host and agent", req: surgehttp.Request{URL: mustURL(t, "http://HOST/"),
			Header: nethttp.Header{"Host": {"example.test"}, "User-Agent": {"me"}, "Content-Length": {"99"}}},
			want: []string{"Host: example.test", "User-Agent: me"}, absent: []string{"Host: 127.0.0.1", "Content-Length"}},
		{name: "body", req: surgehttp.Request{Method: "PUT", URL: mustURL(t, "http://HOST/k"), Body: []byte("12345")},
			want: []string{"PUT /k HTTP/1.1", "Content-Length: 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var head []string
			srv := startRaw(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
				lines, ok := s.readRequest(br)
				if ok {
					head = lines
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				}
			})
			host := srv.ln.Addr().String()
			r := tt.req
			u := *r.URL
			u.Host = host
			r.URL = &u
			res := do(t, surgehttp.Options{}, &r)
			if res.Class != metrics.OK {
				t.Fatalf("class %v err %v", res.Class, res.Err)
			}
			text := strings.ReplaceAll(strings.Join(head, "\n"), host, "HOST")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("head lacks %q:\n%s", w, text)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(text, a) {
					t.Errorf("head has %q:\n%s", a, text)
				}
			}
		})
	}
}

func TestLeanRejectsHeaderInjection(t *testing.T) {
	res := do(t, surgehttp.Options{}, &surgehttp.Request{URL: mustURL(t, "http://127.0.0.1:1/"),
		Header: nethttp.Header{"X-Evil": {"a\r\nInjected: 1"}}})
	if res.Class != metrics.Other || res.Err == nil || res.BytesSent != 0 {
		t.Errorf("class %v err %v sent %d: want the request refused before sending", res.Class, res.Err, res.BytesSent)
	}
}

// TestLeanHeaderAndCookies checks Response.Header and the session's jar.
func TestLeanHeaderAndCookies(t *testing.T) {
	var cookies []string
	var mu sync.Mutex
	srv := startRaw(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		for {
			lines, ok := s.readRequest(br)
			if !ok {
				return
			}
			mu.Lock()
			for _, l := range lines {
				if v, ok := strings.CutPrefix(l, "Cookie: "); ok {
					cookies = append(cookies, v)
				}
			}
			mu.Unlock()
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nSet-Cookie: sid=abc; Path=/\r\n"+
				"X-Multi: 1\r\nX-Multi: 2\r\nContent-Length: 0\r\n\r\n")
		}
	})
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			mu.Lock()
			cookies = nil
			mu.Unlock()
			c := surgehttp.NewClient(cl.opts)
			defer c.Close()
			sess := c.NewSession()
			req := &surgehttp.Request{URL: mustURL(t, srv.URL()+"/"), Header: nethttp.Header{"Cookie": {"mine=1"}}}
			var res surgehttp.Response
			sess.Do(context.Background(), req, &res)
			if got := res.Header.Get("Content-Type"); got != "text/plain" {
				t.Errorf("Content-Type %q", got)
			}
			if got := res.Header.Values("X-Multi"); len(got) != 2 || got[0] != "1" || got[1] != "2" {
				t.Errorf("X-Multi %q", got)
			}
			sess.Do(context.Background(), req, &res)
			mu.Lock()
			defer mu.Unlock()
			if len(cookies) != 2 || cookies[0] != "mine=1" || !strings.Contains(cookies[1], "sid=abc") || !strings.Contains(cookies[1], "mine=1") {
				t.Errorf("cookies sent %q", cookies)
			}
		})
	}
}

// TestLeanAbort: cancelling the context ends a request in flight, as with
// net/http, and the outcome is classified the same way.
func TestLeanAbort(t *testing.T) {
	tb := startTestbed(t)
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			c := surgehttp.NewClient(cl.opts)
			defer c.Close()
			sess := c.NewSession()
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				waitFor(t, func() bool { return tb.CountPath("/hang") > 0 })
				cancel()
			}()
			var res surgehttp.Response
			start := time.Now()
			sess.Do(ctx, &surgehttp.Request{URL: mustURL(t, tb.URL()+"/hang"), Timeout: 30 * time.Second}, &res)
			if time.Since(start) > 10*time.Second {
				t.Fatal("cancel did not end the request")
			}
			if res.Class != metrics.Other || !errors.Is(res.Err, context.Canceled) {
				t.Errorf("class %v err %v, want other/context canceled", res.Class, res.Err)
			}
			// The session recovers on a new context.
			sess.Do(context.Background(), &surgehttp.Request{URL: mustURL(t, tb.URL()+"/hello")}, &res)
			if res.Class != metrics.OK {
				t.Errorf("after abort: class %v err %v", res.Class, res.Err)
			}
		})
	}
}

// TestLeanClose: Client.Close closes the connections sessions hold.
func TestLeanClose(t *testing.T) {
	srv := startRaw(t, reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	c := surgehttp.NewClient(surgehttp.Options{})
	var res surgehttp.Response
	for range 3 {
		c.NewSession().Do(context.Background(), &surgehttp.Request{URL: mustURL(t, srv.URL()+"/")}, &res)
	}
	c.Close()
	// The raw server's handlers end when their connection closes; the
	// cleanup's Wait would hang otherwise (until the 10 s deadline).
	done := make(chan struct{})
	go func() {
		_ = srv.ln.Close()
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("connections still open after Close")
	}
}

// TestLeanManyVUs runs concurrent sessions against the testbed and checks
// that every request is counted once and seen once.
func TestLeanManyVUs(t *testing.T) {
	tb := startTestbed(t)
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	const vus, per = 20, 50
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess := c.NewSession()
			req := &surgehttp.Request{URL: mustURL(t, tb.URL()+"/hello"), Timeout: 5 * time.Second}
			var res surgehttp.Response
			for range per {
				sess.Do(context.Background(), req, &res)
				if res.Class == metrics.OK {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != vus*per || tb.CountPath("/hello") != vus*per {
		t.Errorf("ok %d, target saw %d, want %d", ok.Load(), tb.CountPath("/hello"), vus*per)
	}
}

func Example_session() {
	tb, err := testbed.Start("127.0.0.1:0", testbed.Options{})
	if err != nil {
		panic(err)
	}
	defer tb.Close()
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	u, _ := url.Parse(tb.URL() + "/hello")
	var res surgehttp.Response
	c.NewSession().Do(context.Background(), &surgehttp.Request{URL: u, KeepBody: 64}, &res)
	fmt.Println(res.Status, res.Class, res.BodySize)
	// Output: 200 ok 25
}

// TestLeanCancelWhileIdle: a context cancelled between requests leaves the
// session's connection usable for requests under a new context.
func TestLeanCancelWhileIdle(t *testing.T) {
	tb := startTestbed(t)
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	sess := c.NewSession()
	req := &surgehttp.Request{URL: mustURL(t, tb.URL()+"/hello"), Timeout: 5 * time.Second}
	var res surgehttp.Response
	ctx, cancel := context.WithCancel(context.Background())
	sess.Do(ctx, req, &res)
	if res.Class != metrics.OK {
		t.Fatalf("first request: class %v err %v", res.Class, res.Err)
	}
	cancel()
	sess.Do(ctx, req, &res)
	if res.Class != metrics.Other || !errors.Is(res.Err, context.Canceled) || res.BytesSent != 0 {
		t.Errorf("under a cancelled context: class %v err %v sent %d", res.Class, res.Err, res.BytesSent)
	}
	sess.Do(context.Background(), req, &res)
	if res.Class != metrics.OK {
		t.Errorf("under a new context: class %v err %v", res.Class, res.Err)
	}
	if got := tb.CountPath("/hello"); got != 2 {
		t.Errorf("target saw %d requests, want 2", got)
	}
}

// TestLeanAbortManySessions: one cancellation ends the requests of every
// session under that context.
func TestLeanAbortManySessions(t *testing.T) {
	tb := startTestbed(t)
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	const n = 20
	var wg sync.WaitGroup
	var canceled atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res surgehttp.Response
			c.NewSession().Do(ctx, &surgehttp.Request{URL: mustURL(t, tb.URL()+"/hang"), Timeout: 30 * time.Second}, &res)
			if errors.Is(res.Err, context.Canceled) {
				canceled.Add(1)
			}
		}()
	}
	waitFor(t, func() bool { return tb.CountPath("/hang") == n })
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not end the requests")
	}
	if canceled.Load() != n {
		t.Errorf("%d of %d requests ended as cancelled", canceled.Load(), n)
	}
}
