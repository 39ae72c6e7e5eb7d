package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
)

const testSecret = "test-secret-0123456789"

// env is a running server on a loopback port with its own store.
type env struct {
	t      testing.TB
	srv    *server.Server
	st     *store.Store
	ts     *httptest.Server
	dir    string
	client *http.Client
}

func startServer(t testing.TB, o server.Options) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Store, o.Secret = st, testSecret
	srv := server.New(o)
	ts := httptest.NewServer(srv.Handler())
	e := &env{t: t, srv: srv, st: st, ts: ts, dir: dir, client: &http.Client{Timeout: 40 * time.Second}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing server: %v", err)
		}
		ts.Close()
		st.Close()
	})
	return e
}

// do sends a request with the bearer secret (unless auth is "none") and
// returns the status and body.
func (e *env) do(method, path string, body any, auth ...string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(auth) == 0 {
		req.Header.Set("Authorization", "Bearer "+testSecret)
	} else if auth[0] != "none" {
		req.Header.Set("Authorization", auth[0])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// json sends a request and decodes the answer into out, failing unless the
// status is want.
func (e *env) json(method, path string, body any, want int, out any) {
	e.t.Helper()
	status, b := e.do(method, path, body)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

type runInfo struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Status  string          `json:"status"`
	Model   string          `json:"model"`
	Source  string          `json:"source"`
	Started string          `json:"started"`
	Ended   string          `json:"ended"`
	Error   string          `json:"error"`
	Control string          `json:"control"`
	Plan    json.RawMessage `json:"plan"`
	Events  []store.Event   `json:"events"`
}

func (e *env) run(id string) runInfo {
	e.t.Helper()
	var r runInfo
	e.json("GET", "/api/v1/runs/"+id, nil, http.StatusOK, &r)
	return r
}

func (e *env) summary(id string) report.Summary {
	e.t.Helper()
	var s report.Summary
	e.json("GET", "/api/v1/runs/"+id+"/summary", nil, http.StatusOK, &s)
	return s
}

// waitEnded polls until the run leaves "running" or the deadline passes.
func (e *env) waitEnded(id string, within time.Duration) runInfo {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := e.run(id)
		if r.Status != "running" {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s still running after %v", id, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data []byte
}

// stream opens a live stream and returns its events on a channel, closed
// when the stream ends.
func (e *env) stream(ctx context.Context, path string) <-chan sseEvent {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		e.t.Fatalf("GET %s: status %d, content type %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = append(ev.data, strings.TrimPrefix(line, "data: ")...)
			}
		}
	}()
	return ch
}

// next waits for the next event with one of the names.
func next(t testing.TB, ch <-chan sseEvent, within time.Duration, names ...string) sseEvent {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended while waiting for %v", names)
			}
			for _, n := range names {
				if ev.name == n {
					return ev
				}
			}
		case <-timeout:
			t.Fatalf("no %v event within %v", names, within)
		}
	}
}

func httptestServer(t testing.TB, srv *server.Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
