package http

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// A connection of the lean client, and its I/O.
//
// On a TCP connection the request is written from inside a raw read call
// (syscall.RawConn.Read): the runtime arms the read notification, the
// callback writes the request and reports "not readable yet", and the
// goroutine parks until the response arrives, then reads it. That saves the
// read which would otherwise fail with EAGAIN right after every write, and
// means a VU waiting for its response holds no read buffer: buffers are
// taken from a pool when bytes arrive and returned when a response has been
// read. Ten thousand VUs waiting on a slow endpoint hold ten thousand
// sockets, not forty megabytes of buffers.

// h1Conn is one connection owned by a session.
type h1Conn struct {
	nc   net.Conn
	rc   syscall.RawConn       // nil when nc is not a socket (tests)
	read func(fd uintptr) bool // rawRead as a method value, made once
	host string                // the URL host it was dialled for, as written in the URL

	prevC, nextC *h1Conn // the client's list of open connections (Client.mu)

	buf  []byte // unread bytes are buf[r:w]; nil while nothing is buffered
	r, w int

	reused   bool      // carried a whole exchange before: a failure before any response byte may mean the server closed it while idle
	closing  bool      // the exchange under way is the connection's last
	got      int64     // bytes of the current response read so far
	deadline time.Time // the socket's deadline as last set
	// Clock readings (mono) of the exchange under way: when the request
	// was written, and when the response's first bytes were read; 0 until
	// then.
	wrote, first time.Duration

	// rawRead's state.
	pend  []byte // the request, while it is being written
	pendN int    // bytes of pend written
	werr  error  // the request's write failed
	rerr  error  // a read failed (or met EOF); returned by the next fill
}

var bufPool = sync.Pool{New: func() any { return new([h1BufSize]byte) }}

var discardPool = sync.Pool{New: func() any { return new([h1DiscardSize]byte) }}

// aLongTimeAgo is a deadline in the past: setting it unblocks any I/O.
var aLongTimeAgo = time.Unix(1, 0)

func newH1Conn(nc net.Conn, host string) *h1Conn {
	c := &h1Conn{nc: nc, host: host}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
			c.read = c.rawRead
		}
	}
	return c
}

// setDeadline makes dl (zero: none) the connection's deadline, give or take
// h1DeadlineSlack.
func (c *h1Conn) setDeadline(dl time.Time, timeout time.Duration) error {
	if dl.IsZero() {
		if c.deadline.IsZero() {
			return nil
		}
	} else if !c.deadline.IsZero() && !c.deadline.Before(dl) {
		slack := h1DeadlineSlack
		if timeout > 0 {
			slack = min(slack, timeout/64)
		}
		if c.deadline.Sub(dl) <= slack {
			return nil
		}
	}
	if !dl.IsZero() && timeout > 0 {
		// Set it a little late, so that the next requests can keep it.
		dl = dl.Add(min(h1DeadlineSlack, timeout/64))
	}
	c.deadline = dl
	return c.nc.SetDeadline(dl)
}

// send writes the request. On a socket it also waits for the response's
// first bytes and reads them (see above); a read error is kept for fill.
// It takes the readings c.wrote and, if the response came, c.first.
func (c *h1Conn) send(wire []byte) (int, error) {
	c.wrote, c.first = 0, 0
	if c.rc == nil {
		n, err := c.nc.Write(wire)
		if err == nil {
			c.wrote = mono()
		}
		return n, err
	}
	c.pend, c.pendN, c.werr, c.rerr = wire, 0, nil, nil
	err := c.rc.Read(c.read)
	n, pending := c.pendN, c.pend != nil
	c.pend = nil
	switch {
	case c.werr != nil:
		err, c.werr = c.opError("write", c.werr), nil
		return n, err
	case err != nil && pending:
		return n, c.rawError(err) // e.g. the deadline passed before anything was written
	case err != nil:
		c.rerr = c.rawError(err) // written; the wait for the response failed
	case pending:
		// The socket buffer filled up (a large body): write the rest the
		// usual, blocking way.
		m, err := c.nc.Write(wire[n:])
		if err == nil {
			c.wrote = mono()
		}
		return n + m, err
	case c.w > 0:
		c.first = mono() // the response's first bytes, read by rawRead
	}
	return n, nil
}

// rawRead is the callback of the raw read: it first writes the pending
// request, then reads into the buffer. It returns false to wait until the
// socket is readable.
func (c *h1Conn) rawRead(fd uintptr) bool {
	for c.pend != nil {
		n, err := syscall.Write(int(fd), c.pend[c.pendN:])
		if n > 0 {
			c.pendN += n
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true // finish in send
		case err != nil:
			c.werr = err
			return true
		case c.pendN == len(c.pend):
			c.pend = nil
			c.wrote = mono()
			if c.reused {
				return false // the response cannot be here yet: wait for it
			}
			// A new connection may hold bytes the server sent before the
			// request (a server that speaks first, such as SSH's banner):
			// the raw read cleared the socket's readiness when it began,
			// so waiting would miss them until the deadline. Read once.
		}
	}
	if c.buf == nil {
		c.buf = bufPool.Get().(*[h1BufSize]byte)[:]
	}
	for {
		n, err := syscall.Read(int(fd), c.buf[c.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.release() // hold no buffer while waiting
			return false
		case n > 0:
			c.w += n
		case err != nil:
			c.rerr = c.opError("read", err)
		default:
			c.rerr = io.EOF
		}
		return true
	}
}

// fill reads more bytes into the buffer, moving unread ones to its start
// and growing it up to limit (then failing with tooLong).
func (c *h1Conn) fill(limit int, tooLong error) error {
	if err := c.rerr; err != nil {
		c.rerr = nil
		return err
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.w == len(c.buf) && c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.buf != nil && c.w == len(c.buf) {
		if len(c.buf) >= limit {
			return tooLong
		}
		nb := make([]byte, min(2*len(c.buf), limit))
		copy(nb, c.buf[:c.w])
		if len(c.buf) == h1BufSize && c.rc != nil {
			bufPool.Put((*[h1BufSize]byte)(c.buf))
		}
		c.buf = nb
	}
	if c.rc != nil {
		w := c.w
		if err := c.rc.Read(c.read); err != nil {
			return c.rawError(err)
		}
		if c.w == w {
			err := c.rerr
			c.rerr = nil
			return err
		}
		if c.first == 0 {
			c.first = mono()
		}
		return nil
	}
	if c.buf == nil {
		c.buf = make([]byte, h1BufSize)
	}
	for {
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if n > 0 {
			if c.first == 0 {
				c.first = mono()
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readDirect reads body bytes straight from the socket into a pooled buffer.
func (c *h1Conn) readDirect(n int64, res *Response, keep int) (int64, error) {
	bp := discardPool.Get().(*[h1DiscardSize]byte)
	defer discardPool.Put(bp)
	b := bp[:]
	if n >= 0 && n < int64(len(b)) {
		b = b[:n]
	}
	m, err := c.nc.Read(b)
	take(res, b[:m], keep)
	c.got += int64(m)
	if m > 0 {
		err = nil
	}
	return int64(m), err
}

// release returns an empty buffer to the pool (or drops one that grew).
func (c *h1Conn) release() {
	if c.r != c.w || c.buf == nil {
		return
	}
	c.r, c.w = 0, 0
	switch {
	case len(c.buf) != h1BufSize:
		c.buf = nil // grew for a large head: let it go
	case c.rc != nil:
		bufPool.Put((*[h1BufSize]byte)(c.buf))
		c.buf = nil
	}
	// Without a raw connection every read needs a buffer: keep it.
}

// reusable reports whether c can carry another request after this
// exchange, and lets go of its buffer.
func (c *h1Conn) reusable() bool {
	if c.r != c.w {
		return false // bytes beyond the response: the stream is out of step
	}
	c.release()
	return !c.closing
}

func (c *h1Conn) close() error {
	c.r, c.w = 0, 0
	c.release()
	return c.nc.Close()
}

// opError wraps a system call's error as net's own Read and Write do, so
// that Classify and Message see the same error from either client.
func (c *h1Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError(op, err)}
}

// rawError reports a raw read's failure (a deadline, a closed connection)
// as a plain read's.
func (c *h1Conn) rawError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "raw-read" {
		e := *op
		e.Op = "read"
		return &e
	}
	return err
}
