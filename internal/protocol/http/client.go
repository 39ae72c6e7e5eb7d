package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// UserAgent is sent unless a request sets its own.
const UserAgent = "surge"

// Request is one request to send. It is not modified by Do.
type Request struct {
	Method  string
	URL     *url.URL
	Header  nethttp.Header
	Body    []byte
	Timeout time.Duration // 0 means no timeout of its own (the caller's ctx still applies)
	// KeepBody is how many bytes of the response body to keep in
	// Response.Body for checks and extraction; the rest is read and counted.
	KeepBody int
}

// Response is the outcome of one request.
type Response struct {
	Status        int
	Header        nethttp.Header
	Body          []byte // at most Request.KeepBody bytes
	BodySize      int64  // the whole body's size as read
	BytesSent     int64  // the request as it goes on the wire (HTTP/1.1 framing)
	BytesReceived int64  // status line, headers and body
	Class         metrics.Class
	Err           error // the transport error behind Class, if any
	// CookiesDropped is how many cookies this response set that the
	// session's jar refused, or that evicted others, by the jar's limits
	// (MaxCookieSize, MaxCookiesPerDomain, MaxCookies).
	CookiesDropped int
	// Phases is where the request's time went, from PhaseBlocked to
	// PhaseReceive (see metrics.Phase); they add up to the time Do took,
	// whatever the outcome: a failed request's phase under way runs to
	// the failure. PhaseQueued is the caller's to fill.
	Phases metrics.Phases
	// Proto is the protocol of the response, or, without one, the
	// protocol the request was sent with when it was known.
	Proto metrics.Proto
	// Reused reports that the request went out on a connection that had
	// carried one before (its connect and tls phases are 0).
	Reused bool
	// Start is when Do began, by the monotonic clock: Start plus
	// Phases.Total() is when it ended. A caller that measures latency
	// from an earlier moment (an open-model due time) gets the time in
	// between as Start.Sub(due), without reading the clock again.
	Start time.Time
}

// Options configure a Client. The zero value is usable.
type Options struct {
	// MaxConnsPerHost caps connections to one host; 0 means no cap.
	MaxConnsPerHost int
	// IdleConnsPerHost is how many idle keep-alive connections to keep per
	// host; 0 means DefaultIdleConns. Set it to at least the number of VUs.
	IdleConnsPerHost int
	// Insecure skips TLS certificate verification.
	Insecure bool
	// DisableKeepAlive opens a new connection for every request.
	DisableKeepAlive bool
	// ForceNetHTTP sends plain http:// requests with net/http too. By
	// default they go through the lean HTTP/1.1 client (h1.go), which costs
	// a fraction of the CPU; https:// always uses net/http (TLS, HTTP/2).
	ForceNetHTTP bool
	// HTTP2 sends every request with HTTP/2 (through net/http): with prior
	// knowledge to http:// targets (h2c), and over TLS offering only h2,
	// so that a server that does not speak it fails the handshake (class
	// tls). Without it, https:// requests use HTTP/2 when the server
	// offers it, and http:// ones HTTP/1.1.
	HTTP2 bool
	// HTTP1 sends every request with HTTP/1.1, over TLS too: the TLS
	// handshake offers only http/1.1, so a server that prefers h2 answers
	// in HTTP/1.1 (defaults.http: 1, --http2=false). Without it or HTTP2,
	// an https:// server chooses by ALPN. HTTP2 wins when both are set.
	HTTP1 bool
	// SessionsPerConn is, with HTTP2, how many sessions (VUs) share one
	// connection to a host, their requests multiplexed on it as streams;
	// 0 means DefaultSessionsPerConn. Sessions are grouped in the order
	// NewSession made them. (MaxConnsPerHost does not apply with HTTP2: a
	// group dials one connection to a host at a time.)
	SessionsPerConn int
}

// DefaultSessionsPerConn is the HTTP/2 sessions per connection when
// unset. A VU has one request under way at a time, so a group's
// connection carries at most this many streams at once: 100 is the least
// a server should allow (RFC 9113, 6.5.2, and the default of Apache, h2o
// and many others), so a group's requests never wait for the server's
// stream limit and a run of N VUs opens N/100 connections per host, as a
// gRPC client's few channels would, rather than one per VU (which would
// not multiplex at all) or one for the whole run (whose single TCP stream
// and, on many servers, single worker would cap what the run can offer).
// A server allowing fewer streams gets more connections (net/http opens
// one when a connection's streams are all in use).
const DefaultSessionsPerConn = 100

// maxDials bounds the lean client's connection attempts under way at once.
const maxDials = 1024

// DefaultIdleConns is the idle-connection pool size per host when unset.
const DefaultIdleConns = 1024

// Client sends requests: plain http:// ones through the lean HTTP/1.1
// client, on connections each Session owns, and the rest through a shared
// net/http connection pool.
type Client struct {
	transport *nethttp.Transport
	dialer    net.Dialer
	lean      bool // plain http:// requests use the lean client
	keepAlive bool

	// HTTP/2 mode (Options.HTTP2): a transport per group of perConn
	// sessions, made as sessions are; newH2 makes one.
	http2    bool
	perConn  int
	newH2    func() *nethttp.Transport
	sessions int                  // sessions made so far (mu)
	h2       []*nethttp.Transport // the groups' transports (mu)

	dials    chan struct{}                // a token per dial under way; buffered maxDials
	mu       sync.Mutex                   // guards open and watchers
	open     *h1Conn                      // the lean client's open connections, for Close
	watchers map[context.Context]*watcher // contexts whose cancellation aborts sessions
}

// NewClient returns a Client.
func NewClient(o Options) *Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	c := &Client{
		transport: newTransport(o, dialer),
		dialer:    *dialer,
		lean:      !o.ForceNetHTTP && !o.HTTP2 && o.MaxConnsPerHost == 0,
		dials:     make(chan struct{}, maxDials),
		keepAlive: !o.DisableKeepAlive,
		http2:     o.HTTP2,
		perConn:   o.SessionsPerConn,
	}
	if c.perConn <= 0 {
		c.perConn = DefaultSessionsPerConn
	}
	if o.HTTP2 {
		c.newH2 = func() *nethttp.Transport {
			t := newTransport(o, dialer)
			var p nethttp.Protocols
			p.SetHTTP2(true)
			p.SetUnencryptedHTTP2(true)
			t.Protocols = &p
			t.HTTP2 = &nethttp.HTTP2Config{}
			t.MaxConnsPerHost = 1
			return t
		}
	}
	return c
}

// newTransport returns the net/http transport for o.
func newTransport(o Options, dialer *net.Dialer) *nethttp.Transport {
	idle := o.IdleConnsPerHost
	if idle <= 0 {
		idle = DefaultIdleConns
	}
	t := &nethttp.Transport{
		Proxy:                  nil, // a load generator talks to the target itself
		DialContext:            dialer.DialContext,
		MaxIdleConns:           0,
		MaxIdleConnsPerHost:    idle,
		MaxConnsPerHost:        o.MaxConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: h1MaxHead, // as the lean client (net/http's default is 10 MB)
		DisableCompression:     true,      // count and read bodies as sent
		DisableKeepAlives:      o.DisableKeepAlive,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: o.Insecure}, //nolint:gosec // opt-in flag
	}
	if o.HTTP1 && !o.HTTP2 {
		var p nethttp.Protocols
		p.SetHTTP1(true)
		t.Protocols = &p
	}
	return t
}

// Close closes idle connections, and every connection of the lean client:
// call it when no request is under way.
func (c *Client) Close() {
	c.transport.CloseIdleConnections()
	c.mu.Lock()
	h2 := c.h2
	c.mu.Unlock()
	for _, t := range h2 {
		t.CloseIdleConnections()
	}
	c.closeH1()
}

// Session is one VU's view of the client: its own cookie jar and, for
// plain http:// targets, its own keep-alive connections.
type Session struct {
	c   *Client
	jar Jar
	h1  h1Session
	std *nethttp.Transport // for the requests that go through net/http
	// The trace of its net/http requests, and the context that carries
	// it for the caller's context traceParent (trace.go).
	trace                 *stdTrace
	traceParent, traceCtx context.Context
}

// NewSession returns a session with an empty cookie jar.
func (c *Client) NewSession() *Session {
	s := &Session{c: c, std: c.transport}
	if c.http2 {
		c.mu.Lock()
		g := c.sessions / c.perConn
		if g == len(c.h2) {
			c.h2 = append(c.h2, c.newH2())
		}
		s.std = c.h2[g]
		c.sessions++
		c.mu.Unlock()
	}
	return s
}

// Jar returns the session's cookie jar.
func (s *Session) Jar() *Jar { return &s.jar }

// Do sends r and fills res. It always counts as one request sent: whatever
// happens is in res.Class. res.Header and res.Body are reused by the next
// Do with the same res: copy what must outlive it.
func (s *Session) Do(ctx context.Context, r *Request, res *Response) {
	hdr := res.Header
	if len(hdr) > h1KeepHeaders {
		hdr = nil // a map grown by a huge head would stay that size for the VU's life
	}
	clear(hdr)
	*res = Response{Body: res.Body[:0], Header: hdr}
	if s.c.useH1(r) {
		s.doH1(ctx, r, res)
		return
	}
	res.Header = nil // net/http gives a new one
	start := mono()
	res.Start = deadline(start)
	tctx, t := s.traced(ctx)
	s.doStd(tctx, r, res)
	t.end(start, mono(), res)
}

// doStd sends r with net/http. (It is apart from Do to keep Do's stack
// frame small: a VU's goroutine waits for every response under it.)
func (s *Session) doStd(ctx context.Context, r *Request, res *Response) {
	switch {
	case s.c.http2:
		res.Proto = metrics.ProtoHTTP2 // what it was sent with, until the response says
	case r.URL.Scheme == "http":
		res.Proto = metrics.ProtoHTTP11
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	req, err := nethttp.NewRequestWithContext(ctx, r.Method, r.URL.String(), body)
	if err != nil {
		res.Class, res.Err = metrics.Other, fmt.Errorf("building request: %w", err)
		return
	}
	for k, v := range r.Header {
		if k == "Host" {
			if len(v) > 0 {
				req.Host = v[0] // net/http ignores a Host in Header
			}
			continue
		}
		req.Header[k] = v
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", UserAgent) // (an empty one means none, in both clients)
	}
	if s.jar.used.Load() {
		// One header, as the lean client writes it: the request's own
		// Cookie values first, then the jar's.
		var b []byte
		for i, v := range req.Header["Cookie"] {
			if i > 0 {
				b = append(b, "; "...)
			}
			b = append(b, v...)
		}
		if b, ok := s.jar.appendCookies(b, r.URL, len(b) > 0); ok {
			req.Header["Cookie"] = []string{string(b)}
		}
	}
	res.BytesSent = requestSize(req, len(r.Body))

	resp, err := s.std.RoundTrip(req)
	if err != nil {
		res.Class, res.Err = Classify(ctx, err), err
		switch res.Class {
		case metrics.ConnRefused, metrics.DNS, metrics.TLS:
			res.BytesSent = 0 // no connection, nothing went out
		}
		return
	}
	defer resp.Body.Close()
	res.Proto = protoOf(resp)
	res.Status = resp.StatusCode
	res.Header = resp.Header
	if lines := resp.Header["Set-Cookie"]; len(lines) > 0 {
		res.CookiesDropped = s.storeCookies(r.URL, lines)
	}
	res.BytesReceived = headerSize(resp)
	n, kept, err := readBody(resp.Body, res.Body, r.KeepBody)
	res.Body = kept
	res.BodySize = n
	res.BytesReceived += n
	if err != nil {
		res.Class, res.Err = Classify(ctx, err), fmt.Errorf("reading body: %w", err)
		return
	}
	res.Class = metrics.StatusClass(resp.StatusCode)
}

func protoOf(resp *nethttp.Response) metrics.Proto {
	switch {
	case resp.ProtoMajor == 2:
		return metrics.ProtoHTTP2
	case resp.ProtoMajor == 1 && resp.ProtoMinor == 0:
		return metrics.ProtoHTTP10
	case resp.ProtoMajor == 1:
		return metrics.ProtoHTTP11
	}
	return metrics.ProtoUnknown
}

// readBody reads r to the end, keeping its first keep bytes in buf.
func readBody(r io.Reader, buf []byte, keep int) (int64, []byte, error) {
	var n int64
	if keep > 0 {
		b := bytes.NewBuffer(buf[:0])
		m, err := b.ReadFrom(io.LimitReader(r, int64(keep)))
		buf, n = b.Bytes(), m
		if err != nil {
			return n, buf, err
		}
	}
	m, err := io.Copy(io.Discard, r)
	return n + m, buf, err
}

// requestSize is the request's size in HTTP/1.1 framing: request line,
// headers (with those the transport adds) and body.
func requestSize(req *nethttp.Request, body int) int64 {
	n := len(req.Method) + 1 + len(req.URL.RequestURI()) + len(" HTTP/1.1\r\n")
	n += len("Host: \r\n") + len(req.URL.Host)
	for k, vs := range req.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	if body > 0 {
		n += len("Content-Length: \r\n") + len(strconv.Itoa(body))
	}
	return int64(n + 2 + body)
}

// headerSize is the response's status line and headers in HTTP/1.1 framing.
func headerSize(resp *nethttp.Response) int64 {
	n := len("HTTP/1.1 ") + len(resp.Status) + 2
	for k, vs := range resp.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return int64(n + 2)
}

// Classify maps a transport error to an outcome class. ctx is the request's
// context: its deadline passing makes any error a timeout.
func Classify(ctx context.Context, err error) metrics.Class {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded):
		return metrics.Timeout
	case errors.As(err, &dnsErr):
		return metrics.DNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return metrics.ConnRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNABORTED):
		return metrics.ConnReset
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid),
		remoteAlert(err):
		return metrics.TLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return metrics.Timeout
	}
	if c, ok := classifyText(err.Error()); ok {
		return c
	}
	return metrics.Other
}

// remoteAlert reports a TLS alert from the server ("remote error: tls:
// no application protocol", "… bad certificate"): the handshake failed.
func remoteAlert(err error) bool {
	op, ok := find[*net.OpError](err)
	return ok && op.Op == "remote error"
}

// classifyText classes net/http's errors whose types are unexported, by
// their text. A connection the server closed before any response byte
// ("server closed idle connection") is connection_reset, as the lean
// client's EOF is. For HTTP/2, the server resetting the
// stream (RST_STREAM, whatever its code), sending GOAWAY or dropping the
// connection is connection_reset, as a reset or closed connection is on
// HTTP/1.1; the server breaking the protocol (a connection error, or a
// stream error the client raised) is other, as a malformed HTTP/1.1
// response is; no response headers within the transport's own timeout is
// timeout.
func classifyText(msg string) (metrics.Class, bool) {
	switch {
	case strings.Contains(msg, "http: server closed idle connection"):
		return metrics.ConnReset, true
	case strings.Contains(msg, "stream error: "):
		if strings.Contains(msg, "received from peer") {
			return metrics.ConnReset, true
		}
		return metrics.Other, true
	case strings.Contains(msg, "http2: server sent GOAWAY"),
		strings.Contains(msg, "http2: Transport received Server's graceful shutdown GOAWAY"),
		strings.Contains(msg, "http2: client connection lost"),
		strings.Contains(msg, "http2: client conn is closed"),
		strings.Contains(msg, "http2: client conn not usable"),
		strings.Contains(msg, "http2: client conn could not be established"),
		strings.Contains(msg, "http2: client connection force closed"):
		return metrics.ConnReset, true
	case strings.Contains(msg, "http2: timeout awaiting response headers"):
		return metrics.Timeout, true
	case strings.Contains(msg, "connection error: "):
		return metrics.Other, true
	}
	return 0, false
}

// Message describes err without the addresses and ports that make every
// occurrence unique ("read: connection reset by peer"), so errors group.
func Message(err error) string {
	// The socket's errors are found by unwrapping by hand: errors.As would
	// allocate, and a failing target makes this run for every request.
	if op, ok := find[*net.OpError](err); ok {
		inner := op.Err
		if sys, ok := find[*os.SyscallError](inner); ok {
			if errno, ok := sys.Err.(syscall.Errno); ok {
				return syscallMessage(sys.Syscall, errno)
			}
			return sys.Syscall + ": " + sys.Err.Error()
		}
		return op.Op + ": " + inner.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "dns: " + dnsErr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return "request timed out"
	}
	msg := h2Message(err.Error())
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// h2Message drops the stream numbers from an HTTP/2 error, which would
// make every occurrence unique: "stream error: stream ID 7; CANCEL" is
// "stream error: CANCEL", and a GOAWAY's LastStreamID goes.
func h2Message(msg string) string {
	if i := strings.Index(msg, "stream error: stream ID "); i >= 0 {
		rest := msg[i+len("stream error: stream ID "):]
		if j := strings.Index(rest, "; "); j >= 0 {
			return msg[:i] + "stream error: " + rest[j+2:]
		}
	}
	if i := strings.Index(msg, "LastStreamID="); i >= 0 {
		rest := msg[i:]
		if j := strings.Index(rest, ", "); j >= 0 {
			return msg[:i] + rest[j+2:]
		}
	}
	return msg
}

// find returns the first error of type T in err's tree: by hand along
// single wraps, which covers the clients' errors without allocating, then
// with errors.As.
func find[T error](err error) (T, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if t, ok := e.(T); ok {
			return t, true
		}
	}
	var t T
	ok := errors.As(err, &t)
	return t, ok
}

// syscallMessages caches "read: connection reset by peer" and the like, so
// that a target failing every request costs no allocation per message.
// System call names and errno values are few, so it stays small.
var syscallMessages sync.Map // syscallKey -> string

type syscallKey struct {
	call  string
	errno syscall.Errno
}

func syscallMessage(call string, errno syscall.Errno) string {
	k := syscallKey{call, errno}
	if m, ok := syscallMessages.Load(k); ok {
		return m.(string)
	}
	m := call + ": " + errno.Error()
	syscallMessages.Store(k, m)
	return m
}
