package http

import (
	"io"
	"net"
	"net/url"
	"testing"
	"time"
)

// onceConn is a net.Conn that reads data, in chunks of at most chunk bytes,
// then EOF.
type onceConn struct {
	net.Conn
	data  []byte
	chunk int
}

func (c *onceConn) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), c.chunk)], c.data)
	c.data = c.data[n:]
	return n, nil
}
func (c *onceConn) Write(b []byte) (int, error)     { return len(b), nil }
func (c *onceConn) SetDeadline(time.Time) error     { return nil }
func (c *onceConn) Close() error                    { return nil }
func (c *onceConn) LocalAddr() net.Addr             { return &net.TCPAddr{} }
func (c *onceConn) RemoteAddr() net.Addr            { return &net.TCPAddr{} }
func (c *onceConn) SetReadDeadline(time.Time) error { return nil }

// FuzzReadResponse feeds arbitrary bytes to the lean client's response
// reader: it must never panic or hang, never count more bytes than arrived,
// and on success report a plausible status.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		nginxResponse,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nto the end",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\nSet-Cookie: a=b\r\n X-Folded: c\r\n\r\nabc",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"\x00\x01garbage that is not HTTP\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(7), false)
	}
	u, _ := url.Parse("http://127.0.0.1/")
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, head bool) {
		s := NewClient(Options{}).NewSession()
		c := newH1Conn(&onceConn{data: data, chunk: int(chunk%64) + 1}, u.Host)
		r := &Request{Method: "GET", URL: u, KeepBody: 16}
		if head {
			r.Method = "HEAD"
		}
		var res Response
		err := s.readResponse(c, r, &res)
		if res.BytesReceived > int64(len(data)) || res.BodySize > int64(len(data)) {
			t.Fatalf("counted %d bytes (body %d) of %d", res.BytesReceived, res.BodySize, len(data))
		}
		if len(res.Body) > 16 {
			t.Fatalf("kept %d body bytes, asked for 16", len(res.Body))
		}
		if err == nil && (res.Status < 100 || res.Status > 999) {
			t.Fatalf("status %d without error", res.Status)
		}
	})
}
