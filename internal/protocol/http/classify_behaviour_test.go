package http_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

// The classifier, class by class, fed the errors the network really
// produces (every one on loopback: DNS is answered by a server on
// 127.0.0.1, so no lookup leaves the machine), and then the error shapes
// one by one. A classifier that swaps two classes fails here in
// milliseconds, not only in the slow end-to-end tests.

// startNXDomain serves DNS on 127.0.0.1 over UDP, answering every query
// "no such name", and returns a resolver that asks only it.
func startNXDomain(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			q := buf[:n]
			// Header: same ID; QR=1, opcode and RD copied; RA=1, RCODE=3
			// (NXDOMAIN); the question echoed, no answers.
			resp := append([]byte{}, q[:12]...)
			resp[2] = 0x80 | (q[2] & 0x79)
			resp[3] = 0x80 | 3
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			resp = append(resp, q[12:]...)
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// resetAfterRequest accepts connections on loopback, reads a request head
// and aborts the connection with a TCP RST (SO_LINGER 0).
func resetAfterRequest(t *testing.T) string {
	t.Helper()
	return serveRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	})
}

// serveRaw runs handle on every connection to a loopback listener and
// closes the connection after it; it returns the listener's address.
func serveRaw(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func parseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Through both of Surge's clients (the lean HTTP/1.1 one and net/http),
// every network event yields its class.
func TestClassesFromRealEvents(t *testing.T) {
	refused := refusedAddr(t)
	reset := resetAfterRequest(t)
	hang := serveRaw(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	garbage := serveRaw(t, func(c net.Conn) {
		_, _ = bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "SMTP ready\r\n\r\n")
	})
	status := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		var code int
		_, _ = fmt.Sscanf(r.URL.Path, "/%d", &code)
		w.WriteHeader(code)
	}))
	t.Cleanup(status.Close)
	tlsSrv := httptest.NewTLSServer(nethttp.HandlerFunc(func(nethttp.ResponseWriter, *nethttp.Request) {}))
	t.Cleanup(tlsSrv.Close)
	plainAddr := strings.TrimPrefix(status.URL, "http://")

	tests := []struct {
		name string
		url  string
		want metrics.Class
	}{
		{"200", status.URL + "/200", metrics.OK},
		{"302 is no error", status.URL + "/302", metrics.OK},
		{"404", status.URL + "/404", metrics.Status4xx},
		{"503", status.URL + "/503", metrics.Status5xx},
		{"refused", "http://" + refused + "/", metrics.ConnRefused},
		{"reset", "http://" + reset + "/", metrics.ConnReset},
		{"timeout", "http://" + hang + "/", metrics.Timeout},
		{"garbage response", "http://" + garbage + "/", metrics.Other},
		// https:// always goes through net/http
		{"untrusted certificate", tlsSrv.URL + "/", metrics.TLS},
		{"TLS to a plain HTTP server", "https://" + plainAddr + "/", metrics.TLS},
		{"https refused", "https://" + refused + "/", metrics.ConnRefused},
	}
	for _, cl := range []struct {
		name string
		opts surgehttp.Options
	}{{"lean", surgehttp.Options{}}, {"net/http", surgehttp.Options{ForceNetHTTP: true}}} {
		c := surgehttp.NewClient(cl.opts)
		t.Cleanup(c.Close)
		for _, tt := range tests {
			t.Run(cl.name+"/"+tt.name, func(t *testing.T) {
				var res surgehttp.Response
				c.NewSession().Do(context.Background(), &surgehttp.Request{Method: "GET", URL: parseURL(t, tt.url), Timeout: 300 * time.Millisecond}, &res)
				if res.Class != tt.want {
					t.Fatalf("class %v (err %v), want %v", res.Class, res.Err, tt.want)
				}
				if tt.want == metrics.OK || tt.want == metrics.Status4xx || tt.want == metrics.Status5xx {
					if res.Err != nil {
						t.Fatalf("an HTTP status came with a transport error %v", res.Err)
					}
				} else if res.Err == nil {
					t.Fatal("a transport failure without its error")
				}
				if tt.want == metrics.ConnRefused && res.BytesSent != 0 {
					t.Fatalf("refused connection sent %d bytes", res.BytesSent)
				}
			})
		}
	}
}

// A name that does not resolve is a dns error, never tls or other: the
// error net/http and a net.Dialer really return, from a resolver that
// asks a DNS server on loopback.
func TestClassifyDNS(t *testing.T) {
	r := startNXDomain(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err := r.LookupHost(ctx, "nx.surge.test.")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("the loopback DNS server did not answer NXDOMAIN: %v", err)
	}
	if c := surgehttp.Classify(ctx, err); c != metrics.DNS {
		t.Fatalf("lookup error %v classified %v, want dns", err, c)
	}
	if m := surgehttp.Message(err); !strings.HasPrefix(m, "dns: ") || strings.Contains(m, "nx.surge.test") {
		t.Fatalf("message %q, want \"dns: …\" without the name", m)
	}

	d := &net.Dialer{Resolver: r, Timeout: 5 * time.Second}
	_, err = d.DialContext(ctx, "tcp", "nx.surge.test.:80")
	if c := surgehttp.Classify(ctx, err); c != metrics.DNS {
		t.Fatalf("dial error %v classified %v, want dns", err, c)
	}

	tr := &nethttp.Transport{DialContext: d.DialContext, Proxy: nil}
	defer tr.CloseIdleConnections()
	for _, scheme := range []string{"http", "https"} {
		req, _ := nethttp.NewRequestWithContext(ctx, "GET", scheme+"://nx.surge.test./", nil)
		_, err = tr.RoundTrip(req)
		if c := surgehttp.Classify(ctx, err); c != metrics.DNS {
			t.Fatalf("%s: net/http error %v classified %v, want dns", scheme, err, c)
		}
	}
}

// TLS failures of every kind are tls: an unknown authority, a name the
// certificate does not cover, a peer that speaks no TLS.
func TestClassifyTLS(t *testing.T) {
	srv := httptest.NewTLSServer(nethttp.HandlerFunc(func(nethttp.ResponseWriter, *nethttp.Request) {}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	ctx := context.Background()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	dial := func(cfg *tls.Config, addr string) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	plain := serveRaw(t, func(c net.Conn) {
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
	})
	cases := map[string]error{
		"unknown authority": dial(&tls.Config{ServerName: "example.com"}, addr),
		"wrong name":        dial(&tls.Config{RootCAs: pool, ServerName: "not-the-name.test"}, addr),
		"not TLS":           dial(&tls.Config{InsecureSkipVerify: true}, plain), //nolint:gosec // test
	}
	for name, err := range cases {
		if err == nil {
			t.Fatalf("%s: the handshake succeeded", name)
		}
		if c := surgehttp.Classify(ctx, err); c != metrics.TLS {
			t.Errorf("%s: %v classified %v, want tls", name, err, c)
		}
	}
	// The trusted handshake works, so the failures above are the TLS ones.
	if err := dial(&tls.Config{RootCAs: pool, ServerName: "example.com"}, addr); err != nil {
		t.Fatalf("trusted handshake: %v", err)
	}
}

// The error shapes one at a time, wrapped as the clients wrap them.
func TestClassifyErrorShapes(t *testing.T) {
	op := func(e error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: e}}
	}
	wrap := func(e error) error {
		return &url.Error{Op: "Get", URL: "http://x/", Err: fmt.Errorf("reading body: %w", e)}
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	bg := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want metrics.Class
	}{
		{"deadline", bg, context.DeadlineExceeded, metrics.Timeout},
		{"wrapped deadline", bg, wrap(context.DeadlineExceeded), metrics.Timeout},
		{"socket deadline", bg, op(os.ErrDeadlineExceeded), metrics.Timeout},
		{"request deadline passed, any error", expired, io.EOF, metrics.Timeout},
		{"net.Error timeout", bg, timeoutErr{}, metrics.Timeout},
		{"cancelled is not a timeout", cancelled, context.Canceled, metrics.Other},
		{"dns", bg, &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, metrics.DNS},
		{"refused", bg, op(syscall.ECONNREFUSED), metrics.ConnRefused},
		{"reset", bg, op(syscall.ECONNRESET), metrics.ConnReset},
		{"broken pipe", bg, op(syscall.EPIPE), metrics.ConnReset},
		{"aborted", bg, op(syscall.ECONNABORTED), metrics.ConnReset},
		{"EOF", bg, wrap(io.EOF), metrics.ConnReset},
		{"unexpected EOF", bg, wrap(io.ErrUnexpectedEOF), metrics.ConnReset},
		{"record header", bg, wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), metrics.TLS},
		{"alert", bg, wrap(tls.AlertError(40)), metrics.TLS},
		{"unknown authority", bg, wrap(x509.UnknownAuthorityError{}), metrics.TLS},
		{"hostname", bg, wrap(x509.HostnameError{Host: "x"}), metrics.TLS},
		{"invalid certificate", bg, wrap(x509.CertificateInvalidError{Reason: x509.Expired}), metrics.TLS},
		{"verification", bg, wrap(&tls.CertificateVerificationError{Err: errors.New("bad")}), metrics.TLS},
		{"anything else", bg, errors.New("malformed HTTP response"), metrics.Other},
		{"other syscall", bg, op(syscall.EACCES), metrics.Other},
	}
	for _, tt := range tests {
		if got := surgehttp.Classify(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: %v classified %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// Messages group errors: no addresses or ports, the same text for the same
// event, long texts cut.
func TestMessageGroupsErrors(t *testing.T) {
	op := func(call string, e error) error {
		return &net.OpError{Op: call, Net: "tcp", Source: &net.TCPAddr{Port: 51234}, Addr: &net.TCPAddr{Port: 80}, Err: &os.SyscallError{Syscall: call, Err: e}}
	}
	long := strings.Repeat("x", 300)
	tests := []struct {
		err  error
		want string
	}{
		{op("read", syscall.ECONNRESET), "read: connection reset by peer"},
		{fmt.Errorf("reading body: %w", op("read", syscall.ECONNRESET)), "read: connection reset by peer"},
		{op("connect", syscall.ECONNREFUSED), "connect: connection refused"},
		{&net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "socket", Err: errors.New("weird")}}, "socket: weird"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route")}, "dial: no route"},
		{&net.DNSError{Err: "no such host", Name: "secret.example"}, "dns: no such host"},
		{context.DeadlineExceeded, "request timed out"},
		{fmt.Errorf("x: %w", os.ErrDeadlineExceeded), "request timed out"},
		{errors.New("short"), "short"},
		{errors.New(long), long[:200]},
	}
	for _, tt := range tests {
		if got := surgehttp.Message(tt.err); got != tt.want {
			t.Errorf("Message(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	// The same event twice gives the same (cached) text.
	a, b := surgehttp.Message(op("write", syscall.EPIPE)), surgehttp.Message(op("write", syscall.EPIPE))
	if a != b || a != "write: broken pipe" {
		t.Errorf("messages %q and %q, want both \"write: broken pipe\"", a, b)
	}
}

// A server that closes a keep-alive connection after each response: the
// next request on the stale connection is retried once on a new one, is
// no error, and reaches the server exactly once. The test waits until the
// server has closed the connection (no sleep standing in for the FIN), so
// the client always meets a connection the server has closed.
func TestLeanRetriesOnAConnectionTheServerClosed(t *testing.T) {
	closed := make(chan struct{}, 16)
	var reqs, conns atomic.Int64
	addr := serveRaw(t, func(c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		reqs.Add(1)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_ = c.Close()
		closed <- struct{}{}
	})
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	sess := c.NewSession()
	req := &surgehttp.Request{Method: "GET", URL: parseURL(t, "http://"+addr+"/")}
	var res surgehttp.Response
	for i := range 5 {
		sess.Do(context.Background(), req, &res)
		if res.Class != metrics.OK {
			t.Fatalf("request %d: class %v, err %v", i, res.Class, res.Err)
		}
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not close the connection")
		}
	}
	if r, n := reqs.Load(), conns.Load(); r != 5 || n != 5 {
		t.Fatalf("server saw %d requests on %d connections, want 5 on 5", r, n)
	}
}

// Bytes sent and received are what crossed the wire, through both
// clients: the server counts what it read and writes a known response.
func TestBytesCountedAsOnTheWire(t *testing.T) {
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"
	var read atomic.Int64
	addr := serveRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			n, clen := 0, 0
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				n += len(line)
				if strings.HasPrefix(strings.ToLower(line), "content-length:") {
					_, _ = fmt.Sscanf(strings.TrimSpace(line[len("content-length:"):]), "%d", &clen)
				}
				if line == "\r\n" {
					break
				}
			}
			body := make([]byte, clen)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			read.Store(int64(n + clen))
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	})
	for _, cl := range []struct {
		name string
		opts surgehttp.Options
	}{{"lean", surgehttp.Options{}}, {"net/http", surgehttp.Options{ForceNetHTTP: true}}} {
		c := surgehttp.NewClient(cl.opts)
		for _, r := range []*surgehttp.Request{
			{Method: "GET", URL: parseURL(t, "http://"+addr+"/a?b=c")},
			{Method: "POST", URL: parseURL(t, "http://"+addr+"/p"), Body: []byte(`{"k":"v"}`), Header: nethttp.Header{"Content-Type": {"application/json"}, "X-Two": {"1", "2"}}},
		} {
			var res surgehttp.Response
			c.NewSession().Do(context.Background(), r, &res)
			if res.Class != metrics.OK {
				t.Fatalf("%s %s: class %v, err %v", cl.name, r.Method, res.Class, res.Err)
			}
			if got := read.Load(); res.BytesSent != got {
				t.Errorf("%s %s: counted %d bytes sent, the server read %d", cl.name, r.Method, res.BytesSent, got)
			}
			if res.BytesReceived != int64(len(resp)) {
				t.Errorf("%s %s: counted %d bytes received, the server wrote %d", cl.name, r.Method, res.BytesReceived, len(resp))
			}
			if res.BodySize != 5 {
				t.Errorf("%s: body size %d, want 5", cl.name, res.BodySize)
			}
		}
		c.Close()
	}
}

// What the lean client writes: header names of every token character
// class, values with spaces and tabs, a Host override, no User-Agent when
// it is set empty; both clients agree on the header lines.
func TestRequestHeadOnTheWire(t *testing.T) {
	heads := make(chan string, 4)
	addr := serveRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		heads <- head.String()
		_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	})
	hdr := nethttp.Header{
		"Az09":       {"a b\tc"},
		"X-Tok!#$%&": {"v"},
		"User-Agent": {""},
		"Host":       {"example.test"},
	}
	for _, cl := range []struct {
		name string
		opts surgehttp.Options
	}{{"lean", surgehttp.Options{}}, {"net/http", surgehttp.Options{ForceNetHTTP: true}}} {
		c := surgehttp.NewClient(cl.opts)
		var res surgehttp.Response
		c.NewSession().Do(context.Background(), &surgehttp.Request{Method: "GET", URL: parseURL(t, "http://"+addr+"/p?q=1"), Header: hdr}, &res)
		c.Close()
		if res.Class != metrics.OK || res.Status != 204 {
			t.Fatalf("%s: class %v status %d err %v", cl.name, res.Class, res.Status, res.Err)
		}
		var head string
		select {
		case head = <-heads:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no request arrived", cl.name)
		}
		lines := strings.Split(head, "\r\n")
		if lines[0] != "GET /p?q=1 HTTP/1.1" {
			t.Errorf("%s: request line %q", cl.name, lines[0])
		}
		for _, want := range []string{"Host: example.test\r\n", "Az09: a b\tc\r\n", "X-Tok!#$%&: v\r\n"} {
			if !strings.Contains(head, want) {
				t.Errorf("%s: no %q in\n%s", cl.name, want, head)
			}
		}
		if strings.Contains(strings.ToLower(head), "user-agent") {
			t.Errorf("%s: an empty User-Agent was sent:\n%s", cl.name, head)
		}
	}
	// Without a User-Agent of its own a request says it is Surge's.
	c := surgehttp.NewClient(surgehttp.Options{})
	defer c.Close()
	var res surgehttp.Response
	c.NewSession().Do(context.Background(), &surgehttp.Request{Method: "GET", URL: parseURL(t, "http://"+addr+"/")}, &res)
	if head := <-heads; !strings.Contains(head, "User-Agent: "+surgehttp.UserAgent+"\r\n") || !strings.Contains(head, "Host: "+addr+"\r\n") {
		t.Errorf("default head:\n%s", head)
	}
}
