package netcount_test

import (
	"errors"
	"net"
	"testing"

	"github.com/surgeload/surge/internal/protocol/netcount"
)

// short is a connection that writes at most n bytes of each write.
type short struct {
	net.Conn
	n int
}

func (s short) Write(b []byte) (int, error) {
	if len(b) > s.n {
		return s.n, errors.New("short write")
	}
	return len(b), nil
}

// A write is counted as it was written, a short one only as far as it
// went; reads count what came.
func TestConnCountsWhatCrossedIt(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	var c netcount.Counter
	conn := &netcount.Conn{Conn: a, C: &c}
	go func() { _, _ = b.Write([]byte("hello")); _, _ = b.Read(make([]byte, 3)) }()
	buf := make([]byte, 5)
	if _, err := conn.Read(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if sent, recv := c.Bytes(); sent != 3 || recv != 5 {
		t.Errorf("sent %d, received %d; want 3, 5", sent, recv)
	}
	sc := &netcount.Conn{Conn: short{n: 2}, C: &c}
	if n, err := sc.Write([]byte("wxyz")); n != 2 || err == nil {
		t.Fatalf("short write: %d, %v", n, err)
	}
	if sent, _ := c.Bytes(); sent != 5 {
		t.Errorf("after a short write of 2 of 4 bytes: sent %d, want 5", sent)
	}
}
