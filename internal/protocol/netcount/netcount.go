// Package netcount counts the bytes a connection carries as they cross it,
// for the protocols whose clients dial through a library (WebSocket,
// gRPC): their requests report the bytes on the wire, as the HTTP/1.1
// client's do.
package netcount

import (
	"net"
	"sync/atomic"
)

// Counter is the bytes one or more connections sent and received.
type Counter struct{ sent, received atomic.Int64 }

// Bytes returns the bytes sent and received so far.
func (c *Counter) Bytes() (sent, received int64) { return c.sent.Load(), c.received.Load() }

// Conn is a connection that counts its bytes in C.
type Conn struct {
	net.Conn
	C *Counter
}

// Read counts what it read.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.C.received.Add(int64(n))
	return n, err
}

// Write counts b before it is written, and takes back what was not: a
// library writes from a goroutine of its own, and the answer can be read
// (and the call return) before that goroutine, once its write returned,
// would have got to count it.
func (c *Conn) Write(b []byte) (int, error) {
	c.C.sent.Add(int64(len(b)))
	n, err := c.Conn.Write(b)
	if n < len(b) {
		c.C.sent.Add(int64(n - len(b)))
	}
	return n, err
}
