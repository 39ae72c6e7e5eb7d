package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/protocol/netcount"
)

// Options configure a Dialer. The zero value is usable.
type Options struct {
	// Insecure skips TLS certificate verification (wss://).
	Insecure bool
	// DialTimeout bounds the TCP connect when the handshake's context has
	// no earlier deadline; 0 means 30 s.
	DialTimeout time.Duration
}

// Dialer opens sockets. It is safe for concurrent use.
type Dialer struct {
	client *nethttp.Client
}

// counterKey carries a socket's byte counter to the transport's dial.
type counterKey struct{}

// NewDialer returns a Dialer with o.
func NewDialer(o Options) *Dialer {
	timeout := o.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr := &nethttp.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if c, ok := ctx.Value(counterKey{}).(*netcount.Counter); ok {
				return &netcount.Conn{Conn: nc, C: c}, nil
			}
			return nc, nil
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: o.Insecure, NextProtos: []string{"http/1.1"}},
		// Each handshake takes its connection over; one that failed is
		// closed rather than kept, so that every socket dials (and counts)
		// its own.
		DisableKeepAlives: true,
		ForceAttemptHTTP2: false,
	}
	return &Dialer{client: &nethttp.Client{
		Transport: tr,
		// A handshake that redirects is answered as it is: a WebSocket
		// endpoint that moved is an error to see, not to follow.
		CheckRedirect: func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse },
	}}
}

// Conn is one open socket.
type Conn struct {
	c   *websocket.Conn
	n   *netcount.Counter
	buf []byte // the latest message read, at most Await's keep bytes
}

// Handshake is the outcome of opening a socket.
type Handshake struct {
	// Status is the handshake's response status (101 when it succeeded;
	// 0 when no response arrived).
	Status        int
	BytesSent     int64
	BytesReceived int64
	Class         metrics.Class
	// Err is the error behind Class, if any.
	Err error
}

// Dial opens a socket to rawURL (ws://, wss://, http:// or https://),
// sending header with the handshake. ctx bounds the handshake only. On
// failure the Conn is nil and h says why.
func (d *Dialer) Dial(ctx context.Context, rawURL string, header nethttp.Header) (*Conn, Handshake) {
	n := &netcount.Counter{}
	c, resp, err := websocket.Dial(context.WithValue(ctx, counterKey{}, n), rawURL, &websocket.DialOptions{
		HTTPClient: d.client,
		HTTPHeader: header,
	})
	var h Handshake
	if resp != nil {
		h.Status = resp.StatusCode
		if resp.Body != nil && err != nil {
			// A refused handshake's body is read (bounded) so that its
			// bytes are counted, and the connection closed.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
		}
	}
	h.BytesSent, h.BytesReceived = n.Bytes()
	if err != nil {
		h.Err = err
		switch {
		case h.Status >= 400:
			h.Class = metrics.StatusClass(h.Status)
			h.Err = &StatusError{Status: h.Status}
		case h.Status != 0 && h.Status != nethttp.StatusSwitchingProtocols:
			h.Class = metrics.Other
			h.Err = &StatusError{Status: h.Status}
		default:
			h.Class = Classify(ctx, err)
		}
		return nil, h
	}
	// Messages of any size are read: Await keeps at most its keep bytes of
	// each and counts the rest, and its context bounds the time.
	c.SetReadLimit(-1)
	return &Conn{c: c, n: n}, h
}

// StatusError is a handshake the server answered with a status other than
// 101 Switching Protocols.
type StatusError struct{ Status int }

func (e *StatusError) Error() string {
	if t := nethttp.StatusText(e.Status); t != "" {
		return fmt.Sprintf("handshake answered %d %s", e.Status, t)
	}
	return fmt.Sprintf("handshake answered status %d", e.Status)
}

// Bytes returns the bytes the socket has sent and received so far,
// handshake included.
func (c *Conn) Bytes() (sent, received int64) { return c.n.Bytes() }

// Send sends msg as one text message. A ctx that ends first closes the
// socket.
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	return c.c.Write(ctx, websocket.MessageText, msg)
}

// Await reads messages until match accepts one, keeping at most keep bytes
// of each (the rest is read and counted), and returns the one accepted:
// it is valid until the next Await. A ctx that ends first closes the
// socket: the error is then the context's.
func (c *Conn) Await(ctx context.Context, keep int, match func(msg []byte) bool) ([]byte, error) {
	for {
		_, r, err := c.c.Reader(ctx)
		if err != nil {
			return nil, c.err(ctx, err)
		}
		c.buf = c.buf[:0]
		for len(c.buf) < keep {
			if cap(c.buf) == len(c.buf) {
				c.buf = append(c.buf, 0)[:len(c.buf)]
			}
			m, err := r.Read(c.buf[len(c.buf):min(cap(c.buf), keep)])
			c.buf = c.buf[:len(c.buf)+m]
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, c.err(ctx, err)
			}
		}
		if len(c.buf) == keep {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return nil, c.err(ctx, err)
			}
		}
		if match(c.buf) {
			return c.buf, nil
		}
	}
}

// err puts the context's error first: coder/websocket answers a read cut
// short by its context with the closed connection's error or the
// context's, whichever it saw first.
func (c *Conn) err(ctx context.Context, err error) error {
	if ctx.Err() != nil && websocket.CloseStatus(err) == -1 {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Close closes the socket: with polite set, with a close frame (normal
// closure) and a bounded wait for the server's; otherwise at once.
func (c *Conn) Close(polite bool) {
	if polite {
		_ = c.c.Close(websocket.StatusNormalClosure, "")
		return
	}
	_ = c.c.CloseNow()
}

// Classify maps an error of Dial, Send or Await to an outcome class. ctx
// is the operation's context: its deadline passing makes an error a
// timeout.
func Classify(ctx context.Context, err error) metrics.Class {
	var se *StatusError
	switch {
	case websocket.CloseStatus(err) != -1:
		return metrics.WSClosed
	case errors.As(err, &se):
		if se.Status >= 400 {
			return metrics.StatusClass(se.Status)
		}
		return metrics.Other
	}
	return surgehttp.Classify(ctx, err)
}

// Message describes err so that errors group: a close frame by its status
// ("closed by the server: 1011 StatusInternalError"), the rest as
// protocol/http describes a request's errors.
func Message(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("closed by the server: %d %v", int(ce.Code), ce.Code)
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Error()
	}
	return surgehttp.Message(err)
}
