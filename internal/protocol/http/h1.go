package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// The lean HTTP/1.1 client.
//
// A VU sends one request at a time, so its Session can own its connections
// outright: no pool, no lock on the request path, no reader and writer
// goroutines per connection, one write and usually one read system call per
// request. The request is framed into a buffer the session reuses, and the
// response head is parsed in place; the only allocation per response is the
// string that backs Response.Header. Bytes sent and received are counted
// exactly as they cross the socket.
//
// Errors are the ones net/http would give for the same event (a *net.OpError
// from the socket, io.EOF, io.ErrUnexpectedEOF, context.DeadlineExceeded, a
// "malformed HTTP response" error), so Classify and Message treat both
// clients alike; the conformance tests hold them to that.

const (
	// h1BufSize is a connection's read buffer: a small response arrives in
	// one read. It grows for a larger response head and shrinks back after.
	h1BufSize = 4 << 10
	// h1MaxHead bounds a response's status line and headers.
	h1MaxHead = 1 << 20
	// h1KeepHeaders is how many header lines' worth of Response.Header and
	// its backing arrays a session keeps for the next response; a head with
	// more gets its own, which are dropped after it. The head itself is
	// bounded by h1MaxHead, but a megabyte of short header lines grows a
	// map and slices to several times that, for as long as the VU lives.
	h1KeepHeaders = 64
	// h1MaxLine bounds a chunk-size or trailer line.
	h1MaxLine = 4 << 10
	// h1MaxInterim is how many 1xx responses may precede the final one.
	h1MaxInterim = 5
	// h1MaxHosts is how many hosts a session keeps connections to; the
	// least recently used beyond that is closed.
	h1MaxHosts = 4
	// h1DeadlineSlack lets consecutive requests on a connection share one
	// socket deadline: it is moved only when it would fire more than this
	// (or 1/64 of the timeout, if less) after the request's own deadline.
	// Moving it costs a runtime timer update per request; a timeout that
	// fires up to this late is still reported as a timeout.
	h1DeadlineSlack = 10 * time.Millisecond
	// h1DiscardSize is the buffer large bodies are read through.
	h1DiscardSize = 32 << 10
)

var (
	errHeadTooLarge   = errors.New("server response headers exceeded 1048576 bytes; aborted")
	errTooManyInterim = errors.New("too many 1xx informational responses")
	errLineTooLong    = errors.New("chunk line too long")
)

// h1Session is a session's lean-client state. Only the VU's goroutine
// touches it, except the cancellation hook that watch registers, which
// takes mu to reach the connections.
type h1Session struct {
	mu    sync.Mutex // guards conns against abort
	conns []*h1Conn  // most recently used last
	wbuf  []byte     // the request being framed
	vals  []string   // backing for Response.Header values
	keys  []string   // the keys of Response.Header, in order
	// watched is the context whose cancellation aborts the connections;
	// the session is on that context's watcher list (see watch).
	watched      context.Context
	prevW, nextW *Session
	// at is the clock reading (mono) that ended the request's last phase.
	at time.Duration
}

// useH1 reports whether r goes through the lean client. URLs with user
// information or an internationalised host name, which net/http turns into
// an Authorization header and punycode, are left to net/http.
func (c *Client) useH1(r *Request) bool {
	u := r.URL
	return c.lean && u.Scheme == "http" && u.Host != "" && u.User == nil && u.Opaque == "" && isASCII(u.Host)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// doH1 sends r with the lean client. It reads the clock four times on a
// reused connection: at the start (which also makes the deadline), when
// the request is written, at the response's first bytes and at the end;
// a new connection adds a reading after the dial (and one after waiting
// for a dial slot, if it had to). Each reading closes a phase (mark).
func (s *Session) doH1(ctx context.Context, r *Request, res *Response) {
	h := &s.h1
	start := mono()
	h.at = start
	res.Start = deadline(start)
	res.Proto = metrics.ProtoHTTP11
	var dl time.Time
	if r.Timeout > 0 {
		dl = res.Start.Add(r.Timeout)
	}
	if d, ok := ctx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
		dl = d
	}
	if ctx != h.watched {
		s.watch(ctx)
	}
	if err := ctx.Err(); err != nil {
		s.mark(res, metrics.PhaseBlocked, mono())
		res.Class, res.Err = Classify(ctx, err), err
		return
	}
	wire, err := s.frame(r)
	if err != nil {
		s.mark(res, metrics.PhaseBlocked, mono())
		res.Class, res.Err = metrics.Other, fmt.Errorf("building request: %w", err)
		return
	}
	hdr := res.Header
	for attempt := 0; ; attempt++ {
		c, err := s.conn(ctx, r.URL, dl, res)
		if err != nil {
			res.Class, res.Err = Classify(ctx, err), err
			return
		}
		res.Reused = c.reused
		retry, err := s.exchange(c, r, wire, dl, res)
		if err == nil {
			s.endPhases(res, c, mono())
			if !c.reusable() {
				s.closeConn(c)
			} else {
				c.reused = true
			}
			res.Class = metrics.StatusClass(res.Status)
			return
		}
		now := mono()
		s.closeConn(c)
		if retry && attempt == 0 && ctx.Err() == nil {
			// The server closed an idle keep-alive connection before it saw
			// the request: retry once on a new connection, as net/http does.
			// The failed attempt was time spent without a usable connection.
			*res = Response{Body: res.Body[:0], Header: hdr, Proto: metrics.ProtoHTTP11, Start: res.Start}
			res.Phases[metrics.PhaseBlocked] = now - start
			h.at = now
			continue
		}
		s.endPhases(res, c, now)
		if cerr := ctx.Err(); cerr != nil {
			err = cerr // aborted: report why, as net/http does
		}
		res.Class, res.Err = Classify(ctx, err), err
		return
	}
}

// endPhases closes the send, wait and receive phases of an exchange on c
// that ended at the reading end: the readings c took when the request was
// written and when the response's first bytes came, where it got that far;
// the phase under way when it failed runs to end.
func (s *Session) endPhases(res *Response, c *h1Conn, end time.Duration) {
	if c.wrote == 0 {
		s.mark(res, metrics.PhaseSend, end)
		return
	}
	s.mark(res, metrics.PhaseSend, c.wrote)
	if c.first == 0 {
		s.mark(res, metrics.PhaseWait, end)
		return
	}
	s.mark(res, metrics.PhaseWait, c.first)
	s.mark(res, metrics.PhaseReceive, end)
}

func isDeadline(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// watch makes ctx the context whose cancellation aborts the session's
// connections. Sessions watching the same context share one
// context.AfterFunc (the engine gives every VU the same one): a hook per
// session would cost 10,000 entries in the context's children map and
// ~0.8 KiB per VU.
func (s *Session) watch(ctx context.Context) {
	h := &s.h1
	if old := h.watched; old != nil && old.Err() != nil {
		// The previous context was cancelled, and its hook may have broken
		// the connections (their deadlines are in the past): start afresh.
		for len(h.conns) > 0 {
			s.closeConn(h.conns[len(h.conns)-1])
		}
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.watched != nil {
		c.unwatchLocked(s)
	}
	h.watched = ctx
	if ctx.Done() == nil {
		return // never cancelled
	}
	w := c.watchers[ctx]
	if w == nil {
		w = &watcher{}
		if c.watchers == nil {
			c.watchers = make(map[context.Context]*watcher)
		}
		c.watchers[ctx] = w
		w.stop = context.AfterFunc(ctx, func() { c.abort(w) })
	}
	h.prevW, h.nextW = nil, w.first
	if w.first != nil {
		w.first.h1.prevW = s
	}
	w.first = s
}

// watcher is the hook on one context and the sessions that watch it.
type watcher struct {
	stop  func() bool
	first *Session
}

// unwatchLocked takes s off its context's list; the last one off removes
// the hook. c.mu is held.
func (c *Client) unwatchLocked(s *Session) {
	h := &s.h1
	w := c.watchers[h.watched]
	if w == nil {
		return
	}
	if h.prevW != nil {
		h.prevW.h1.nextW = h.nextW
	} else {
		w.first = h.nextW
	}
	if h.nextW != nil {
		h.nextW.h1.prevW = h.prevW
	}
	h.prevW, h.nextW = nil, nil
	if w.first == nil {
		w.stop()
		delete(c.watchers, h.watched)
	}
}

// abort pulls the deadlines of every connection of w's sessions into the
// past, which ends their requests under way.
func (c *Client) abort(w *watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := w.first; s != nil; s = s.h1.nextW {
		s.h1.mu.Lock()
		for _, conn := range s.h1.conns {
			_ = conn.nc.SetDeadline(aLongTimeAgo)
		}
		s.h1.mu.Unlock()
	}
}

// conn returns the session's connection to u's host, dialling one if
// needed; a dial closes res's blocked and connect phases.
func (s *Session) conn(ctx context.Context, u *url.URL, dl time.Time, res *Response) (*h1Conn, error) {
	h := &s.h1
	for i := len(h.conns) - 1; i >= 0; i-- {
		if c := h.conns[i]; c.host == u.Host {
			if i != len(h.conns)-1 {
				copy(h.conns[i:], h.conns[i+1:])
				h.conns[len(h.conns)-1] = c
			}
			return c, nil
		}
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	nc, err := s.dial(ctx, addr, dl, res)
	s.mark(res, metrics.PhaseConnect, mono())
	if err != nil {
		if isDeadline(err) {
			return nil, context.DeadlineExceeded
		}
		return nil, err
	}
	c := newH1Conn(nc, u.Host)
	s.c.track(c, true)
	if len(h.conns) >= h1MaxHosts {
		s.closeConn(h.conns[0]) // the least recently used
	}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	if ctx.Err() != nil {
		// cancelled while dialling: watch's callback may have missed it
		_ = nc.SetDeadline(aLongTimeAgo)
	}
	return c, nil
}

// dial connects to addr on a goroutine of its own: dialling runs deep
// (resolver, happy eyeballs, socket setup) and would grow the VU's goroutine
// stack from 4 to 8 KiB for good (a stack shrinks only at a GC, and only to
// the depth at which the VU waits), 40 MB more for 10,000 VUs. At most
// maxDials dials run at once, which bounds those 8 KiB stacks when every VU
// connects at the same moment, and keeps the SYNs under the target's
// listen backlog. (Dialer.DialTCP is shallow but binds the socket before
// connecting, which runs out of ports when many connections are in
// TIME_WAIT.)
// Time spent waiting for a slot is the blocked phase.
func (s *Session) dial(ctx context.Context, addr string, dl time.Time, res *Response) (net.Conn, error) {
	c := s.c
	select {
	case c.dials <- struct{}{}:
	default:
		err := c.waitDial(ctx, dl)
		s.mark(res, metrics.PhaseBlocked, mono())
		if err != nil {
			return nil, err
		}
	}
	type result struct {
		nc  net.Conn
		err error
	}
	done := make(chan result, 1) // the dialler never blocks on it
	go func() {
		defer func() { <-c.dials }()
		d := c.dialer
		if !dl.IsZero() {
			d.Deadline = dl
		}
		nc, err := d.DialContext(ctx, "tcp", addr)
		done <- result{nc, err}
	}()
	r := <-done
	return r.nc, r.err
}

// waitDial waits for a free dial slot, until ctx ends or dl passes.
func (c *Client) waitDial(ctx context.Context, dl time.Time) error {
	var expired <-chan time.Time
	if !dl.IsZero() {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		expired = t.C
	}
	select {
	case c.dials <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return context.DeadlineExceeded
	}
}

func (s *Session) closeConn(c *h1Conn) {
	h := &s.h1
	h.mu.Lock()
	for i, x := range h.conns {
		if x == c {
			h.conns = append(h.conns[:i], h.conns[i+1:]...)
			break
		}
	}
	h.mu.Unlock()
	s.c.track(c, false)
	_ = c.close()
}

// track adds conn to the client's open connections, or removes it: Close
// closes them all. The list is intrusive, so 10,000 connections cost no
// map.
func (c *Client) track(conn *h1Conn, open bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if open {
		conn.prevC, conn.nextC = nil, c.open
		if c.open != nil {
			c.open.prevC = conn
		}
		c.open = conn
		return
	}
	if conn.prevC != nil {
		conn.prevC.nextC = conn.nextC
	} else if c.open == conn {
		c.open = conn.nextC
	}
	if conn.nextC != nil {
		conn.nextC.prevC = conn.prevC
	}
	conn.prevC, conn.nextC = nil, nil
}

func (c *Client) closeH1() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := c.open; conn != nil; conn = conn.nextC {
		_ = conn.nc.Close()
	}
}

// exchange sends wire on c and reads the response into res. retry reports
// that the request failed in a way that shows the server closed a reused
// connection before it read the request.
func (s *Session) exchange(c *h1Conn, r *Request, wire []byte, dl time.Time, res *Response) (retry bool, err error) {
	if err := c.setDeadline(dl, r.Timeout); err != nil {
		return false, err
	}
	n, err := c.send(wire)
	res.BytesSent = int64(n)
	if err != nil {
		// A write failing on a reused connection means the server had
		// closed it; a request that did not go out at all, or may go out
		// twice, is sent again.
		return c.reused && !isDeadline(err) && (n == 0 || idempotent(r)), wrapDeadline(err)
	}
	err = s.readResponse(c, r, res)
	if err != nil && c.reused && res.BytesReceived == 0 && c.r == c.w && idempotent(r) &&
		(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		return true, err
	}
	return false, wrapDeadline(err)
}

// wrapDeadline reports a socket deadline passing as net/http reports its
// request timeout.
func wrapDeadline(err error) error {
	if err != nil && isDeadline(err) {
		return context.DeadlineExceeded
	}
	return err
}

func idempotent(r *Request) bool {
	switch r.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "":
		return true
	}
	_, ok := r.Header["Idempotency-Key"]
	return ok
}

// frame writes r's HTTP/1.1 form into the session's buffer.
func (s *Session) frame(r *Request) ([]byte, error) {
	method := r.Method
	if method == "" {
		method = "GET"
	}
	if !validToken(method) {
		return nil, fmt.Errorf("invalid method %q", method)
	}
	b := s.h1.wbuf[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = appendRequestURI(b, r.URL)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	if hv, ok := r.Header["Host"]; ok && len(hv) > 0 && hv[0] != "" {
		if !validValue(hv[0]) {
			return nil, fmt.Errorf("invalid Host header %q", hv[0])
		}
		b = append(b, hv[0]...)
	} else {
		b = append(b, r.URL.Host...)
	}
	b = append(b, "\r\n"...)
	if _, ok := r.Header["User-Agent"]; !ok {
		b = append(b, "User-Agent: "+UserAgent+"\r\n"...)
	}
	jar := s.jar.used.Load() // the jar's cookies and the request's go in one Cookie header
	for k, vs := range r.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		case "Cookie":
			if jar {
				continue // written below, with the jar's
			}
		}
		if !validToken(k) {
			return nil, fmt.Errorf("invalid header field name %q", k)
		}
		for _, v := range vs {
			if !validValue(v) {
				return nil, fmt.Errorf("invalid header field value for %q", k)
			}
			if k == "User-Agent" && v == "" {
				continue // an empty User-Agent means none
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if jar {
		start := len(b)
		b = append(b, "Cookie: "...)
		sep := false
		for _, v := range r.Header["Cookie"] {
			if !validValue(v) {
				return nil, fmt.Errorf("invalid header field value for %q", "Cookie")
			}
			if sep {
				b = append(b, "; "...)
			}
			b, sep = append(b, v...), true
		}
		var added bool
		if b, added = s.jar.appendCookies(b, r.URL, sep); sep || added {
			b = append(b, "\r\n"...)
		} else {
			b = b[:start] // neither the request nor the jar has a cookie for this URL
		}
	}
	if len(r.Body) > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.Body)), 10)
		b = append(b, "\r\n"...)
	}
	if !s.c.keepAlive {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, r.Body...)
	s.h1.wbuf = b
	return b, nil
}

// appendRequestURI appends u's path and query, escaped, as net/http sends them.
func appendRequestURI(b []byte, u *url.URL) []byte {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	} else if p[0] != '/' && p != "*" {
		b = append(b, '/')
	}
	b = append(b, p...)
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool { return tokenTable[c] }

// tokenTable marks the bytes allowed in a token (RFC 9110, 5.6.2).
var tokenTable = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// validValue rejects control bytes (but tab) in a header value, which would
// let a value end the header early or smuggle another one.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
