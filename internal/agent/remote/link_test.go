package remote

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// link is a TCP proxy on loopback between a worker and its server that
// plays the network: it delays every byte by a one-way latency, carries
// at most a bandwidth (each way), and can
// be cut (it then forwards nothing either way and answers nothing, as a
// pulled cable or a dropping firewall does: no FIN, no RST) and mended.
// New connections made while it is cut hang until it is mended.
type link struct {
	ln     net.Listener
	to     string
	oneWay time.Duration
	bw     int // bytes/s each way; 0: no limit

	mu    sync.Mutex
	cut   bool
	mend  chan struct{} // closed when a cut is mended
	conns []net.Conn
}

func newLink(t *testing.T, to string, oneWay time.Duration) *link {
	t.Helper()
	return newSlowLink(t, to, oneWay, 0)
}

// newSlowLink is newLink carrying at most bw bytes/s each way.
func newSlowLink(t *testing.T, to string, oneWay time.Duration, bw int) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, to: to, oneWay: oneWay, bw: bw, mend: make(chan struct{})}
	close(l.mend)
	go l.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, c := range l.conns {
			_ = c.Close()
		}
		if l.cut {
			close(l.mend)
			l.cut = false
		}
	})
	return l
}

// url is the server's URL through the link.
func (l *link) url() string { return "http://" + l.ln.Addr().String() }

func (l *link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", l.to)
		if err != nil {
			_ = c.Close()
			continue
		}
		l.mu.Lock()
		l.conns = append(l.conns, c, s)
		l.mu.Unlock()
		go l.pipe(c, s)
		go l.pipe(s, c)
	}
}

// pipe copies from src to dst, each chunk oneWay after it was read, and
// holds it while the link is cut.
func (l *link) pipe(src, dst net.Conn) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 1024)
	go func() {
		defer dst.Close()
		for c := range q {
			time.Sleep(time.Until(c.at))
			l.wait()
			if _, err := dst.Write(c.b); err != nil {
				return
			}
			if l.bw > 0 {
				time.Sleep(time.Duration(len(c.b)) * time.Second / time.Duration(l.bw))
			}
		}
	}()
	defer close(q)
	for {
		b := make([]byte, 32<<10)
		n, err := src.Read(b)
		if n > 0 {
			l.wait()
			q <- chunk{b[:n], time.Now().Add(l.oneWay)}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = src.Close()
			}
			return
		}
	}
}

// wait blocks while the link is cut.
func (l *link) wait() {
	l.mu.Lock()
	m := l.mend
	l.mu.Unlock()
	<-m
}

// setCut cuts the link or mends it.
func (l *link) setCut(cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cut == l.cut {
		return
	}
	l.cut = cut
	if cut {
		l.mend = make(chan struct{})
	} else {
		close(l.mend)
	}
}
