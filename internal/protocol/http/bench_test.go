package http

import (
	"bufio"
	"context"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxResponse is what nginx answers to the benchmark's GET.
const nginxResponse = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 11:58:39 GMT\r\n" +
	"Content-Type: text/plain\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nhello world\n"

// replayConn is a net.Conn whose every Read returns the same response and
// whose Writes vanish: the client's own cost, with no system calls.
type replayConn struct {
	net.Conn
	resp []byte
	off  int
}

func (c *replayConn) Read(b []byte) (int, error) {
	n := copy(b, c.resp[c.off:])
	if c.off += n; c.off == len(c.resp) {
		c.off = 0
	}
	return n, nil
}
func (c *replayConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *replayConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// leanSession returns a session whose connection to u's host replays resp.
func leanSession(u *url.URL, resp string) *Session {
	c := NewClient(Options{})
	s := c.NewSession()
	s.h1.conns = append(s.h1.conns, &h1Conn{nc: &replayConn{resp: []byte(resp)}, host: u.Host, buf: make([]byte, h1BufSize)})
	return s
}

func benchRequest(b *testing.B) *Request {
	u, err := url.Parse("http://127.0.0.1:18080/api/items?page=2")
	if err != nil {
		b.Fatal(err)
	}
	return &Request{Method: "GET", URL: u, Timeout: 10 * time.Second,
		Header: nethttp.Header{"Accept": {"application/json"}, "Authorization": {"Bearer abcdef0123456789"}}}
}

// BenchmarkLeanDo is a whole lean-client request (frame, write, read,
// parse) on a connection that costs nothing: the client's own CPU.
func BenchmarkLeanDo(b *testing.B) {
	for _, tc := range []struct {
		name, resp string
	}{
		{"nginx", nginxResponse},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nc\r\nhello world\n\r\n0\r\n\r\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := benchRequest(b)
			s := leanSession(r.URL, tc.resp)
			var res Response
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s.Do(ctx, r, &res)
				if res.Status != 200 {
					b.Fatal(res.Status, res.Err)
				}
			}
		})
	}
}

// BenchmarkLeanDoTimed is a lean request as a VU times it: "caller" reads
// the clock around Do for the latency, as a caller that ignores the
// phases must; "phases" takes the latency from the response's phases
// (Start and Phases.Total), reading no clock of its own.
func BenchmarkLeanDoTimed(b *testing.B) {
	r := benchRequest(b)
	var sink time.Duration
	b.Run("caller", func(b *testing.B) {
		s := leanSession(r.URL, nginxResponse)
		var res Response
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			from := time.Now()
			s.Do(ctx, r, &res)
			sink += time.Since(from)
		}
	})
	b.Run("phases", func(b *testing.B) {
		s := leanSession(r.URL, nginxResponse)
		var res Response
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			s.Do(ctx, r, &res)
			sink += res.Phases.Total()
		}
	})
	_ = sink
}

// BenchmarkFrame is building the request's wire form.
func BenchmarkFrame(b *testing.B) {
	r := benchRequest(b)
	s := NewClient(Options{}).NewSession()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.frame(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseResponse is reading and parsing one response that is
// already buffered.
func BenchmarkParseResponse(b *testing.B) {
	r := benchRequest(b)
	s := leanSession(r.URL, nginxResponse)
	c := s.h1.conns[0]
	var res Response
	b.ReportAllocs()
	for b.Loop() {
		res.Body = res.Body[:0]
		clear(res.Header)
		if err := s.readResponse(c, r, &res); err != nil {
			b.Fatal(err)
		}
		c.r, c.w = 0, 0
	}
}

// BenchmarkNetHTTPParse is net/http's own response parsing, for scale.
func BenchmarkNetHTTPParse(b *testing.B) {
	req, _ := nethttp.NewRequest("GET", "http://127.0.0.1/", nil)
	rd := strings.NewReader(nginxResponse)
	br := bufio.NewReader(rd)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(nginxResponse)
		br.Reset(rd)
		resp, err := nethttp.ReadResponse(br, req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkLoopback compares the two clients end to end against an
// in-process HTTP/1.1 server on 127.0.0.1. The server's CPU is in the
// figure too, so compare the clients with each other, not with wrk.
func BenchmarkLoopback(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go serveCanned(ln, nginxResponse)
	u, _ := url.Parse("http://" + ln.Addr().String() + "/")
	for _, tc := range []struct {
		name string
		opts Options
	}{{"lean", Options{}}, {"net-http", Options{ForceNetHTTP: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			c := NewClient(tc.opts)
			defer c.Close()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				s := c.NewSession()
				r := &Request{Method: "GET", URL: u, Timeout: 10 * time.Second}
				var res Response
				for pb.Next() {
					s.Do(context.Background(), r, &res)
					if res.Status != 200 {
						b.Error(res.Class, res.Err)
						return
					}
				}
			})
		})
	}
}

// serveCanned answers every request on every connection with resp.
func serveCanned(ln net.Listener, resp string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 {
						break
					}
				}
				if _, err := io.WriteString(c, resp); err != nil {
					return
				}
			}
		}()
	}
}

// BenchmarkMessage is describing a transport error for grouping, once per
// failed request.
func BenchmarkMessage(b *testing.B) {
	err := error(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})
	b.ReportAllocs()
	for b.Loop() {
		if Message(err) != "read: connection reset by peer" {
			b.Fatal(Message(err))
		}
	}
}
