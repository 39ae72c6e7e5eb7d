package grpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/grpcschema"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/protocol/netcount"
)

// Options configure a Conn. The zero value is usable.
type Options struct {
	// Insecure skips TLS certificate verification (https:// targets).
	Insecure bool
	// DialTimeout bounds the TCP connect; 0 means 30 s.
	DialTimeout time.Duration
}

// Conn is one client connection to a target. It is safe for concurrent
// use; its bytes are counted on the wire (TLS records included).
type Conn struct {
	cc *grpc.ClientConn
	n  netcount.Counter
	// dialErr is the error of the latest dial or TLS handshake, nil once
	// one succeeded: a call that fails Unavailable while it is set failed
	// for want of a connection.
	dialErr atomic.Pointer[error]
}

// Dial makes a connection to target (see Address). Nothing is dialed
// until the first call; a connection that breaks is dialed again.
func Dial(target string, o Options) (*Conn, error) {
	addr, useTLS, err := grpcschema.Address(target)
	if err != nil {
		return nil, err
	}
	timeout := o.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c := &Conn{}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	creds := insecure.NewCredentials()
	if useTLS {
		creds = &recordingCreds{TransportCredentials: credentials.NewTLS(&tls.Config{InsecureSkipVerify: o.Insecure}), c: c}
	}
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			nc, err := d.DialContext(ctx, "tcp", a)
			if err != nil {
				c.dialErr.Store(&err)
				return nil, err
			}
			if !useTLS {
				c.dialErr.Store(nil)
			}
			return &netcount.Conn{Conn: nc, C: &c.n}, nil
		}),
		// Proxies from the environment are not used, as protocol/http uses none.
		grpc.WithNoProxy(),
		grpc.WithStatsHandler(answers{}),
	)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", target, err)
	}
	c.cc = cc
	return c, nil
}

// recordingCreds records the TLS handshake's failure for Classify.
type recordingCreds struct {
	credentials.TransportCredentials
	c *Conn
}

func (r *recordingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	nc, info, err := r.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		r.c.dialErr.Store(&err)
	} else {
		r.c.dialErr.Store(nil)
	}
	return nc, info, err
}

func (r *recordingCreds) Clone() credentials.TransportCredentials {
	return &recordingCreds{TransportCredentials: r.TransportCredentials.Clone(), c: r.c}
}

// answers marks a call whose server answered (sent headers or trailers):
// its status is the server's, not one the client made up for a call that
// failed on its way.
type answers struct{}

// answeredKey carries a call's answered flag to the stats handler.
type answeredKey struct{}

func (answers) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (answers) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (answers) HandleConn(context.Context, stats.ConnStats) {}
func (answers) HandleRPC(ctx context.Context, s stats.RPCStats) {
	switch s.(type) {
	case *stats.InHeader, *stats.InTrailer:
		if a, ok := ctx.Value(answeredKey{}).(*atomic.Bool); ok {
			a.Store(true)
		}
	}
}

// Close closes the connection; calls in flight fail.
func (c *Conn) Close() { _ = c.cc.Close() }

// Bytes returns the bytes the connection has sent and received so far.
func (c *Conn) Bytes() (sent, received int64) { return c.n.Bytes() }

// Result is the outcome of a call.
type Result struct {
	// Code is the call's status (codes.OK when it succeeded).
	Code codes.Code
	// Header and Trailer are the response's metadata.
	Header, Trailer metadata.MD
	// Answered is whether the server answered (with a status of its own
	// when the call failed).
	Answered bool
	Class    metrics.Class
	// Err is the error behind a Class other than OK.
	Err error
}

// Invoke calls the unary method at path ("/package.Service/Method", see
// Path) with req and md, filling resp. ctx bounds the call.
func (c *Conn) Invoke(ctx context.Context, path string, md metadata.MD, req, resp proto.Message) Result {
	var r Result
	callCtx := ctx
	if len(md) > 0 {
		callCtx = metadata.NewOutgoingContext(callCtx, md)
	}
	var answered atomic.Bool
	callCtx = context.WithValue(callCtx, answeredKey{}, &answered)
	err := c.cc.Invoke(callCtx, path, req, resp, grpc.Header(&r.Header), grpc.Trailer(&r.Trailer))
	r.Answered = answered.Load()
	if err != nil {
		r.Err = err
		r.Code = status.Code(err)
		r.Class = c.Classify(ctx, err, r.Answered)
	}
	return r
}

// Classify maps an error of a call (or of a reflection request) made
// with ctx to an outcome class (see the package doc); answered is whether
// the server answered it.
func (c *Conn) Classify(ctx context.Context, err error, answered bool) metrics.Class {
	if _, ok := status.FromError(err); !ok {
		return surgehttp.Classify(ctx, err)
	}
	switch code := status.Code(err); {
	case code == codes.DeadlineExceeded || code == codes.Canceled:
	case answered:
		return metrics.GRPCStatus
	}
	switch status.Code(err) {
	case codes.OK:
		return metrics.OK
	case codes.DeadlineExceeded:
		return metrics.Timeout
	case codes.Canceled:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return metrics.Timeout
		}
		return surgehttp.Classify(ctx, context.Canceled)
	case codes.Unavailable:
		if p := c.dialErr.Load(); p != nil {
			if k := surgehttp.Classify(ctx, *p); k != metrics.Other {
				return k
			}
			return metrics.ConnRefused
		}
		return metrics.ConnReset
	}
	return metrics.Other // an error the client made of the call, not the server's
}

// Message describes a call's error so that errors group: "grpc status
// NotFound: no such user" (the server's message cut to 120 bytes), a
// failed dial as protocol/http describes it.
func (c *Conn) Message(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return surgehttp.Message(err)
	}
	if st.Code() == codes.Unavailable {
		if p := c.dialErr.Load(); p != nil {
			return surgehttp.Message(*p)
		}
	}
	msg := st.Message()
	if len(msg) > 120 {
		msg = msg[:120]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
		msg += "…"
	}
	if msg == "" {
		return "grpc status " + st.Code().String()
	}
	return "grpc status " + st.Code().String() + ": " + msg
}
