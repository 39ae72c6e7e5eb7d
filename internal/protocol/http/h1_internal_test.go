package http

import (
	"context"
	"net"
	"net/url"
	"testing"
)

// TestWatchersFollowContexts: a session that moves from context to context
// leaves no hook behind on the ones it left.
func TestWatchersFollowContexts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveCanned(ln, nginxResponse)
	u, _ := url.Parse("http://" + ln.Addr().String() + "/")
	c := NewClient(Options{})
	defer c.Close()
	s1, s2 := c.NewSession(), c.NewSession()
	var res Response
	for range 100 {
		ctx, cancel := context.WithCancel(context.Background())
		s1.Do(ctx, &Request{URL: u}, &res)
		s2.Do(ctx, &Request{URL: u}, &res)
		if res.Status != 200 {
			t.Fatalf("status %d, err %v", res.Status, res.Err)
		}
		cancel()
	}
	c.mu.Lock()
	n := len(c.watchers)
	c.mu.Unlock()
	if n > 1 {
		t.Errorf("%d context hooks left, want at most the last one", n)
	}
	s1.Do(context.Background(), &Request{URL: u}, &res)
	s2.Do(context.Background(), &Request{URL: u}, &res)
	c.mu.Lock()
	n = len(c.watchers)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d context hooks left after moving to a context without cancellation", n)
	}
}
