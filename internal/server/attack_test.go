package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/server"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (all of 127.0.0.0/8 is loopback on Linux).
func clientFrom(t testing.TB, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// guess sends n requests at once and counts the answers by status.
func guess(t *testing.T, c *http.Client, n int, newReq func() *http.Request) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := newReq()
			<-start
			resp, err := c.Do(req)
			if err != nil {
				t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Errorf("a 429 without Retry-After")
			}
			mu.Lock()
			counts[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

func TestWrongSecretsAreLimitedPerClient(t *testing.T) {
	e := startServer(t, server.Options{})
	const n, limit = 300, 10 // limit: the server's allowance per client and minute

	login := func(secret string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/login", strings.NewReader(`{"secret":"`+secret+`"}`))
			return req
		}
	}
	bearer := func(secret string) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/runs", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			return req
		}
	}
	for _, tc := range []struct {
		name     string
		attacker string
		attempt  func(string) func() *http.Request
	}{
		{"login", "127.0.0.1", login},
		{"bearer", "127.0.0.3", bearer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attacker := clientFrom(t, tc.attacker)
			got := guess(t, attacker, n, tc.attempt("wrong-guess"))
			if got[http.StatusUnauthorized] > limit || got[http.StatusUnauthorized]+got[http.StatusTooManyRequests] != n {
				t.Fatalf("%d parallel wrong guesses: answers %v, want at most %d 401s and 429s for the rest", n, got, limit)
			}
			// The attacker's right guess is refused too now: a 429 must not
			// leave an oracle open.
			if got := guess(t, attacker, 1, tc.attempt(testSecret)); got[http.StatusTooManyRequests] != 1 {
				t.Errorf("the right secret from a locked-out client: %v, want 429", got)
			}
			// The owner, elsewhere, still gets in.
			if got := guess(t, clientFrom(t, "127.0.0.2"), 1, tc.attempt(testSecret)); got[http.StatusOK] != 1 {
				t.Errorf("the owner from another address: %v, want 200", got)
			}
		})
	}

	t.Run("forwarded-for is not trusted by default", func(t *testing.T) {
		c := clientFrom(t, "127.0.0.4")
		i := 0
		var mu sync.Mutex
		got := guess(t, c, 3*limit, func() *http.Request {
			req := bearer("wrong")()
			mu.Lock()
			i++
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i))
			mu.Unlock()
			return req
		})
		if got[http.StatusUnauthorized] > limit {
			t.Errorf("made-up X-Forwarded-For addresses got %d wrong guesses checked, want at most %d", got[http.StatusUnauthorized], limit)
		}
	})
}

func TestTrustedProxyLimitsByForwardedFor(t *testing.T) {
	e := startServer(t, server.Options{TrustProxy: true})
	c := clientFrom(t, "127.0.0.1")
	req := func(xff, secret string) func() *http.Request {
		return func() *http.Request {
			r, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/runs", nil)
			r.Header.Set("Authorization", "Bearer "+secret)
			r.Header.Set("X-Forwarded-For", xff)
			return r
		}
	}
	if got := guess(t, c, 50, req("203.0.113.9", "wrong")); got[http.StatusUnauthorized] > 10 {
		t.Fatalf("wrong guesses through the proxy: %v", got)
	}
	// Another client behind the same proxy is not locked out.
	if got := guess(t, c, 1, req("198.51.100.1, 203.0.113.7", testSecret)); got[http.StatusOK] != 1 {
		t.Errorf("another client behind the proxy: %v, want 200", got)
	}
}

// serve runs srv behind the http.Server it configures, on a loopback port.
func serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ln.Addr().String()
}

func TestSlowClientsAreCutOff(t *testing.T) {
	e := startServer(t, server.Options{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second})
	addr := serve(t, e.srv)

	// trickle sends text one byte at a time, a byte per interval, and
	// reports how long the server took to hang up (or that it did not).
	trickle := func(t *testing.T, head, body string, every time.Duration) (time.Duration, bool) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		begin := time.Now()
		closed := make(chan struct{})
		go func() {
			// The server answers 408 or just closes; either way a read ends.
			_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
			close(closed)
		}()
		if _, err := io.WriteString(conn, head); err != nil {
			return time.Since(begin), true
		}
		deadline := time.After(8 * time.Second)
		for i := 0; ; i++ {
			select {
			case <-closed:
				return time.Since(begin), true
			case <-deadline:
				return time.Since(begin), false
			case <-time.After(every):
			}
			if i < len(body) {
				if _, err := conn.Write([]byte{body[i]}); err != nil {
					<-closed
					return time.Since(begin), true
				}
			}
		}
	}

	t.Run("headers at 1 byte/s", func(t *testing.T) {
		took, cut := trickle(t, "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", time.Second/2)
		if !cut || took > 5*time.Second {
			t.Errorf("a client trickling its headers was not cut off (after %v, cut %v)", took, cut)
		}
	})
	t.Run("unauthenticated body at 2 bytes/s", func(t *testing.T) {
		body := `{"secret":"` + strings.Repeat("a", 40) + `"}`
		head := fmt.Sprintf("POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		took, cut := trickle(t, head, body, time.Second/2)
		if !cut || took > 6*time.Second {
			t.Errorf("a stranger trickling a body was not cut off (after %v, cut %v)", took, cut)
		}
	})
	t.Run("an authenticated body may take longer", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := `{"name":"slow","plan":{"flows":[{"name":"f","steps":[{"url":"http://127.0.0.1:1/"}]}]}}`
		fmt.Fprintf(conn, "POST /api/v1/recordings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
			testSecret, len(body), body[:len(body)-25])
		for i := len(body) - 25; i < len(body); i++ { // 25 bytes over 3s: past ReadTimeout
			time.Sleep(120 * time.Millisecond)
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				t.Fatalf("cut off while sending an authenticated body: %v", err)
			}
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("a slow authenticated body: status %d, want 201", resp.StatusCode)
		}
	})
}

func TestSymlinkOutsideScenariosIsNotFound(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	writeFile(t, outside, "name: outside\n")
	if err := os.Symlink(outside, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	e := startServer(t, server.Options{ScenarioDir: dir})
	status, body := e.do("GET", "/api/v1/scenarios/link.yaml", nil)
	if status != http.StatusNotFound || strings.Contains(string(body), "outside") {
		t.Errorf("a symlink leading outside the folder: %d %s, want 404", status, body)
	}
}
