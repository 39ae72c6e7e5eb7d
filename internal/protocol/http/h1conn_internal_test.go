package http

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deadlineConn replays a response and records the deadlines set on it.
type deadlineConn struct {
	*replayConn
	sets []time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.sets = append(c.sets, t)
	return nil
}

// TestSocketDeadline: a request's socket deadline fires no later than its
// own deadline plus the slack (h1DeadlineSlack, or 1/64 of the timeout if
// less), and consecutive requests whose deadlines are within the slack
// share one, set once. The requests' deadlines come from their contexts,
// so the sequence does not depend on how fast the machine is.
func TestSocketDeadline(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // the request's own; later than every context deadline
		ahead   time.Duration // the first context deadline, from now
		step    time.Duration // the next request's deadline is this much later (negative: earlier)
		n       int           // requests
		slack   time.Duration // how late the socket deadline may fire
		sets    int           // deadlines set on the socket over the n requests
	}{
		// Without a timeout of its own the slack is h1DeadlineSlack: the
		// deadline moves once it is more than 10 ms late, and exactly 10 ms
		// is still within it.
		{name: "earlier deadlines, no timeout", ahead: time.Hour, step: -time.Millisecond, n: 21, slack: h1DeadlineSlack, sets: 2},
		// Exactly 10 ms earlier keeps the deadline; 20 ms earlier sets it.
		{name: "earlier by exactly the slack", ahead: time.Hour, step: -h1DeadlineSlack, n: 3, slack: h1DeadlineSlack, sets: 2},
		{name: "earlier by more than the slack", ahead: time.Hour, step: -h1DeadlineSlack - time.Nanosecond, n: 3, slack: h1DeadlineSlack, sets: 3},
		// A 600 ms timeout allows 600/64 = 9.375 ms: a deadline 0.1 ms
		// earlier than the last must be set anew.
		{name: "earlier deadlines, short timeout", timeout: 600 * time.Millisecond, ahead: 550 * time.Millisecond, step: -100 * time.Microsecond, n: 11, slack: 600 * time.Millisecond / 64, sets: 11},
		// Later deadlines within the slack share the first one, set that
		// much late.
		{name: "later deadlines, long timeout", timeout: time.Hour, ahead: 30 * time.Minute, step: time.Microsecond, n: 20, slack: h1DeadlineSlack, sets: 1},
		{name: "later deadlines, short timeout", timeout: 600 * time.Millisecond, ahead: 550 * time.Millisecond, step: time.Millisecond, n: 20, slack: 600 * time.Millisecond / 64, sets: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A stall of the machine longer than the first deadline's lead
			// would expire a context: then run the sequence again.
			for attempt := 0; ; attempt++ {
				expired, err := deadlineSequence(tt.timeout, tt.ahead, tt.step, tt.n, tt.slack, tt.sets)
				if !expired {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if attempt == 2 {
					t.Fatal("the contexts expired before their requests three times")
				}
			}
		})
	}
}

func deadlineSequence(timeout, ahead, step time.Duration, n int, slack time.Duration, sets int) (bool, error) {
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	u, _ := url.Parse("http://127.0.0.1:1/")
	s := NewClient(Options{}).NewSession()
	dc := &deadlineConn{replayConn: &replayConn{resp: []byte(resp)}}
	s.h1.conns = append(s.h1.conns, &h1Conn{nc: dc, host: u.Host, buf: make([]byte, h1BufSize)})
	first := time.Now().Add(ahead)
	var res Response
	for i := range n {
		dl := first.Add(time.Duration(i) * step)
		// Not cancelled until the end: a session drops its connections
		// when it moves on from a cancelled context.
		ctx, cancel := context.WithDeadline(context.Background(), dl)
		defer cancel()
		s.Do(ctx, &Request{URL: u, Timeout: timeout}, &res)
		expired := ctx.Err() != nil
		if res.Err != nil {
			if expired {
				return true, nil
			}
			return false, fmt.Errorf("request %d: %v", i, res.Err)
		}
		if len(dc.sets) == 0 {
			return false, fmt.Errorf("request %d: no deadline set", i)
		}
		got := dc.sets[len(dc.sets)-1]
		if got.Before(dl) || got.Sub(dl) > slack {
			return false, fmt.Errorf("request %d: socket deadline %v after its own, want 0 to %v", i, got.Sub(dl), slack)
		}
	}
	if len(dc.sets) != sets {
		return false, fmt.Errorf("%d deadlines set over %d requests, want %d", len(dc.sets), n, sets)
	}
	return false, nil
}

// TestSocketDeadlineCleared: a request without any deadline after one
// with a deadline clears the socket's, and the next one without sets
// nothing.
func TestSocketDeadlineCleared(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1/")
	s := NewClient(Options{}).NewSession()
	dc := &deadlineConn{replayConn: &replayConn{resp: []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")}}
	s.h1.conns = append(s.h1.conns, &h1Conn{nc: dc, host: u.Host, buf: make([]byte, h1BufSize)})
	var res Response
	s.Do(context.Background(), &Request{URL: u, Timeout: time.Hour}, &res)
	s.Do(context.Background(), &Request{URL: u}, &res)
	s.Do(context.Background(), &Request{URL: u}, &res)
	if len(dc.sets) != 2 || dc.sets[0].IsZero() || !dc.sets[1].IsZero() {
		t.Errorf("deadlines set %v, want one, then none", dc.sets)
	}
}

// TestIdleConnectionHoldsNoBuffer: between requests a keep-alive
// connection holds no read buffer (ten thousand idle VUs must not hold ten
// thousand buffers); a response that arrives in pieces, with pauses
// between them, still reads whole. (Whether a connection waiting for its
// response holds one cannot be seen from another goroutine without a race.)
func TestIdleConnectionHoldsNoBuffer(t *testing.T) {
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: 1\r\n\r\nhello world"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	waiting := make(chan struct{}) // the client has the request and waits
	proceed := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
			}
			if i == 1 {
				waiting <- struct{}{}
				<-proceed
			}
			// In pieces: the status line, the headers cut mid-line, the
			// body; each after a pause long enough for the client to wait.
			for _, part := range []string{resp[:17], resp[17:30], resp[30:50], resp[50:]} {
				if _, err := io.WriteString(c, part); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	u, _ := url.Parse("http://" + ln.Addr().String() + "/")
	cl := NewClient(Options{})
	defer cl.Close()
	s := cl.NewSession()
	var res Response
	check := func(when string) {
		t.Helper()
		if res.Status != 200 || string(res.Body) != "hello world" || res.BytesReceived != int64(len(resp)) || res.Header.Get("X-A") != "1" {
			t.Fatalf("%s: status %d body %q received %d err %v", when, res.Status, res.Body, res.BytesReceived, res.Err)
		}
		if len(s.h1.conns) != 1 {
			t.Fatalf("%s: %d connections", when, len(s.h1.conns))
		}
		if c := s.h1.conns[0]; c.buf != nil {
			t.Errorf("%s: the idle connection holds a %d-byte buffer", when, len(c.buf))
		}
	}
	s.Do(context.Background(), &Request{URL: u, Timeout: 5 * time.Second, KeepBody: 64}, &res)
	check("after the first response")
	// The second response comes after a pause: the client waits for it
	// parked on the socket.
	go func() {
		<-waiting
		time.Sleep(20 * time.Millisecond)
		close(proceed)
	}()
	s.Do(context.Background(), &Request{URL: u, Timeout: 5 * time.Second, KeepBody: 64}, &res)
	check("after the second response")
}

// TestAllocationsPerRequest: a request on a kept connection costs one
// allocation, the string behind Response.Header, including for a head of
// exactly h1KeepHeaders header lines, whose map and arrays the session
// keeps.
func TestAllocationsPerRequest(t *testing.T) {
	var full strings.Builder
	full.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
	for i := range h1KeepHeaders - 1 {
		fmt.Fprintf(&full, "X-H%d: %d\r\n", i, i)
	}
	full.WriteString("\r\n")
	for _, tt := range []struct {
		name, resp string
		headers    int
	}{
		{"nginx", nginxResponse, 5},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nc\r\nhello world\n\r\n0\r\n\r\n", 1},
		{"h1KeepHeaders headers", full.String(), h1KeepHeaders},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse("http://127.0.0.1:18080/")
			s := leanSession(u, tt.resp)
			r := &Request{Method: "GET", URL: u, Timeout: 10 * time.Second, KeepBody: 64}
			var res Response
			ctx := context.Background()
			s.Do(ctx, r, &res)
			if res.Status != 200 || len(res.Header) != tt.headers {
				t.Fatalf("status %d, %d headers, err %v", res.Status, len(res.Header), res.Err)
			}
			if n := testing.AllocsPerRun(50, func() { s.Do(ctx, r, &res) }); n > 1 {
				t.Errorf("%.1f allocations per request, want 1", n)
			}
		})
	}
}

// TestMessageDoesNotAllocate: describing a socket error, once per failed
// request, allocates nothing once the message is known.
func TestMessageDoesNotAllocate(t *testing.T) {
	err := error(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})
	wrapped := fmt.Errorf("reading body: %w", err)
	for _, e := range []error{err, wrapped} {
		if m := Message(e); m != "read: connection reset by peer" {
			t.Fatalf("Message %q", m)
		}
		if n := testing.AllocsPerRun(100, func() { _ = Message(e) }); n != 0 {
			t.Errorf("Message(%v): %.1f allocations, want 0", e, n)
		}
	}
}
