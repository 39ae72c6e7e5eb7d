package ws_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/protocol/ws"
)

// server answers each message it reads with a 5000-byte message of 'x'
// and then the message itself; on /redirect and /missing it refuses the
// handshake with 302 and 404.
func server(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		case "/missing":
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if string(msg) == "close" {
				c.Close(websocket.StatusGoingAway, "bye")
				return
			}
			if c.Write(r.Context(), websocket.MessageText, bytes.Repeat([]byte("x"), 5000)) != nil ||
				c.Write(r.Context(), websocket.MessageText, msg) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string) *ws.Conn {
	t.Helper()
	c, h := ws.NewDialer(ws.Options{}).Dial(context.Background(), url, http.Header{"X-Test": {"1"}})
	if c == nil {
		t.Fatalf("dial %s: %v (%v)", url, h.Err, h.Class)
	}
	if h.Status != http.StatusSwitchingProtocols || h.BytesSent <= 0 || h.BytesReceived <= 0 {
		t.Errorf("handshake %+v", h)
	}
	t.Cleanup(func() { c.Close(false) })
	return c
}

// TestAwait: a message longer than keep is kept in part and counted whole;
// messages match lets pass are skipped; the bytes of a message sent are
// its frame exactly (2 bytes of header, 4 of mask, the payload).
func TestAwait(t *testing.T) {
	c := dial(t, server(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s0, r0 := c.Bytes()
	if err := c.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if s1, _ := c.Bytes(); s1-s0 != 2+4+5 {
		t.Errorf("sending 5 bytes put %d on the wire, want 11", s1-s0)
	}
	var seen []int
	msg, err := c.Await(ctx, 100, func(b []byte) bool {
		seen = append(seen, len(b))
		return string(b) == "hello"
	})
	if err != nil || string(msg) != "hello" {
		t.Fatalf("await: %q, %v", msg, err)
	}
	if len(seen) != 2 || seen[0] != 100 {
		t.Errorf("match saw messages of %v bytes, want [100 5]", seen)
	}
	// 5000 bytes in a frame with a 2-byte length, 5 with none.
	if _, r1 := c.Bytes(); r1-r0 != 4+5000+2+5 {
		t.Errorf("received %d bytes, want 5011", r1-r0)
	}
}

// TestClassify: each way a socket fails has its class and a message that
// groups.
func TestClassify(t *testing.T) {
	url := server(t)
	d := ws.NewDialer(ws.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		path    string
		class   metrics.Class
		message string
	}{
		{"/missing", metrics.Status4xx, "handshake answered 404 Not Found"},
		{"/redirect", metrics.Other, "handshake answered 302 Found"},
	} {
		if c, h := d.Dial(ctx, url+tc.path, nil); c != nil || h.Class != tc.class || ws.Message(h.Err) != tc.message {
			t.Errorf("%s: class %v, message %q; want %v, %q", tc.path, h.Class, ws.Message(h.Err), tc.class, tc.message)
		}
	}
	if c, h := d.Dial(ctx, "ws://127.0.0.1:1/", nil); c != nil || h.Class != metrics.ConnRefused || h.Status != 0 {
		t.Errorf("a closed port: %v, %v (%v)", h.Class, h.Status, h.Err)
	}

	c := dial(t, url)
	if err := c.Send(ctx, []byte("close")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Await(ctx, 10, func([]byte) bool { return true })
	if got := ws.Classify(ctx, err); got != metrics.WSClosed || ws.Message(err) != "closed by the server: 1001 StatusGoingAway" {
		t.Errorf("a close frame: %v, %q (%v)", got, ws.Message(err), err)
	}

	c = dial(t, url)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err = c.Await(short, 10, func([]byte) bool { return true })
	if got := ws.Classify(short, err); got != metrics.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("no message in time: %v (%v)", got, err)
	}
	if d := time.Since(t0); d < 30*time.Millisecond || d > 2*time.Second {
		t.Errorf("a 30ms wait took %v", d)
	}
}
