package workload_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/workload"
)

// wsServer is a WebSocket server on loopback, written for these tests,
// that counts what it saw. Its path says how it answers each message:
//
//	/echo     echoes it at once
//	/delay    echoes it after 30 ms
//	/welcome  sends {"type":"hello"} first, then answers each message
//	          with {"type":"welcome","you":MESSAGE} (a string if it is
//	          not JSON)
//	/close    closes the socket with 1011 (internal error) instead
//	/die      closes it so on the message "die", and echoes the rest
//	/silent   never answers
//	/deny     refuses the handshake with 403
type wsServer struct {
	*httptest.Server
	handshakes atomic.Int64 // upgrades accepted
	messages   atomic.Int64 // data messages read
	closes     atomic.Int64 // close frames from the client (a normal closure)
	mu         sync.Mutex
	got        []string // every message, in order
}

func startWS(t *testing.T) *wsServer {
	t.Helper()
	s := &wsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *wsServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/deny" {
		http.Error(w, "no", http.StatusForbidden)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	s.handshakes.Add(1)
	ctx := r.Context()
	if r.URL.Path == "/welcome" {
		if c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)) != nil {
			return
		}
	}
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				s.closes.Add(1)
			}
			return
		}
		s.messages.Add(1)
		s.mu.Lock()
		s.got = append(s.got, string(msg))
		s.mu.Unlock()
		reply := msg
		switch r.URL.Path {
		case "/delay":
			time.Sleep(30 * time.Millisecond)
		case "/welcome":
			var you any = string(msg)
			if json.Valid(msg) {
				you = json.RawMessage(msg)
			}
			reply, _ = json.Marshal(map[string]any{"type": "welcome", "you": you})
		case "/close":
			c.Close(websocket.StatusInternalError, "boom")
			return
		case "/die":
			if string(msg) == "die" {
				c.Close(websocket.StatusInternalError, "boom")
				return
			}
		case "/silent":
			continue
		}
		if c.Write(ctx, websocket.MessageText, reply) != nil {
			return
		}
	}
}

func (s *wsServer) target() string { return s.URL }

// endpointOf returns the row of (name, method).
func (r result) endpointOf(t *testing.T, name, method string) metrics.Endpoint {
	t.Helper()
	for _, e := range r.snap.Endpoints {
		if e.Name == name && e.Method == method {
			return e
		}
	}
	t.Fatalf("no endpoint %s %q in %v", method, name, r.snap.Endpoints)
	return metrics.Endpoint{}
}

// TestWebSocketFlow runs a chat flow: open, wait for the server's
// welcome, send a templated JSON message, extract from the reply and
// send what was extracted. Every message exchange is a request of its
// step's WS row, every handshake one of its WS-OPEN row, and the totals
// equal what the server saw; the socket is kept across the flow's steps
// and closed with a close frame by ws_close.
func TestWebSocketFlow(t *testing.T) {
	srv := startWS(t)
	p := load(t, srv.target(), `
target: TARGET
load: {vus: 3, iterations: 30}
flows:
  - steps:
      - name: join
        ws: /welcome
        headers: {X-User: "{{vu.id}}"}
        expect: {json: {type: hello}}
      - name: chat
        ws: /welcome
        send: {hello: "{{vu.id}}", n: 1}
        expect: {json: {type: welcome}, body_contains: '"n":1'}
        within: 2s
        extract: {who: json:you.hello}
      - name: echo
        ws: /welcome
        send: 'me={{who}}'
        expect: {body_matches: 'welcome'}
      - ws_close: true
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	const iters = 30
	join, open := r.endpointOf(t, "join", workload.WSMethod), r.endpointOf(t, "join", workload.WSOpenMethod)
	chat, echo := r.endpointOf(t, "chat", workload.WSMethod), r.endpointOf(t, "echo", workload.WSMethod)
	for _, e := range []metrics.Endpoint{join, open, chat, echo} {
		if e.Requests != iters || e.Errors() != 0 {
			t.Errorf("%s %s: %d requests, %d errors; want %d and 0 (%v)", e.Method, e.Name, e.Requests, e.Errors(), iters, r.snap.Messages)
		}
	}
	// Bytes count as they come off the socket: the server's hello may
	// arrive in the same read as the handshake's answer, and count there.
	for _, e := range []metrics.Endpoint{chat, echo} {
		if e.BytesSent <= 0 || e.BytesReceived <= 0 {
			t.Errorf("%s %s: %d bytes sent, %d received", e.Method, e.Name, e.BytesSent, e.BytesReceived)
		}
	}
	if join.BytesSent != 0 || open.BytesSent <= 0 || open.BytesReceived+join.BytesReceived <= 0 {
		t.Errorf("join sent %d bytes and received %d, its handshakes %d and %d", join.BytesSent, join.BytesReceived, open.BytesSent, open.BytesReceived)
	}
	if got := srv.handshakes.Load(); got != open.Requests {
		t.Errorf("server accepted %d handshakes, the summary has %d", got, open.Requests)
	}
	if got := srv.messages.Load(); got != chat.Requests+echo.Requests {
		t.Errorf("server read %d messages, the summary sent %d", got, chat.Requests+echo.Requests)
	}
	// The close frames arrive as the server reads them, just after the run.
	deadline := time.Now().Add(2 * time.Second)
	for srv.closes.Load() != iters && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := srv.closes.Load(); got != iters {
		t.Errorf("server saw %d normal closures, want one per iteration (%d)", got, iters)
	}
	r.wantCheck(t, `join: expect json type == "hello" within 10s`, iters, 0)
	r.wantCheck(t, `chat: expect body contains "\"n\":1" and json type == "welcome" within 2s`, iters, 0)
	r.wantCheck(t, "chat: extract who", iters, 0)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	echoed := 0
	for _, m := range srv.got {
		switch {
		case strings.HasPrefix(m, "me="):
			if m != "me=1" && m != "me=2" && m != "me=3" { // (a JSON number: "{{vu.id}}" alone keeps its type)
				t.Errorf("echo sent %q: want the VU id extracted from the reply", m)
			}
			echoed++
		case m != `{"hello":1,"n":1}` && m != `{"hello":2,"n":1}` && m != `{"hello":3,"n":1}`:
			t.Errorf("chat sent %q", m)
		}
	}
	if echoed != iters {
		t.Errorf("%d echo messages, want %d", echoed, iters)
	}
}

// TestWebSocketRoundTrip: a server that answers 30 ms late shows about
// 30 ms of round trip in the message's latency, and a handshake on
// loopback takes far less.
func TestWebSocketRoundTrip(t *testing.T) {
	srv := startWS(t)
	p := load(t, srv.target(), `
target: TARGET
load: {vus: 2, iterations: 10}
flows:
  - steps:
      - name: ping
        ws: /delay
        send: ping
        expect: {body_contains: ping}
`)
	r := run(t, p)
	msg, open := r.endpointOf(t, "ping", workload.WSMethod), r.endpointOf(t, "ping", workload.WSOpenMethod)
	if msg.Requests != 10 || msg.Errors() != 0 || open.Requests != 10 {
		t.Fatalf("%d messages (%d errors), %d handshakes; want 10, 0, 10: %v", msg.Requests, msg.Errors(), open.Requests, r.snap.Messages)
	}
	if p50 := msg.Latency.Quantile(0.5); p50 < 29*time.Millisecond || p50 > 60*time.Millisecond {
		t.Errorf("round trip p50 %v, want about 30ms", p50)
	}
	if lo := msg.Latency.Min(); lo < 29*time.Millisecond {
		t.Errorf("round trip min %v: shorter than the server's delay", lo)
	}
	if p50 := open.Latency.Quantile(0.5); p50 >= 29*time.Millisecond {
		t.Errorf("handshake p50 %v on loopback: it should not hold the server's 30ms delay", p50)
	}
}

// TestWebSocketErrors: each failure lands in its class, with a message
// that groups, and a failed socket is opened again by the next step.
func TestWebSocketErrors(t *testing.T) {
	srv := startWS(t)
	for _, tc := range []struct {
		name, steps string
		row, method string
		class       metrics.Class
		message     string
		opens       int64 // handshakes the server accepted
	}{
		{"closed", `
      - name: s
        ws: /close
        send: hi
        expect: {body_contains: hi}`, "s", workload.WSMethod, metrics.WSClosed, "closed by the server: 1011 StatusInternalError", 4},
		{"timeout", `
      - name: s
        ws: /silent
        send: hi
        expect: {body_contains: hi}
        within: 50ms`, "s", workload.WSMethod, metrics.Timeout, `no message matching body contains "hi" within 50ms`, 4},
		{"deny", `
      - name: s
        ws: /deny
        send: hi
        expect: {body_contains: hi}`, "s", workload.WSOpenMethod, metrics.Status4xx, "handshake answered 403 Forbidden", 0},
		{"refused", `
      - name: s
        ws: ws://127.0.0.1:1/x
        send: hi`, "s", workload.WSOpenMethod, metrics.ConnRefused, "connect: connection refused", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.handshakes.Load()
			p := load(t, srv.target(), "target: TARGET\nload: {vus: 1, iterations: 4}\nflows:\n  - steps:"+tc.steps+"\n")
			r := run(t, p)
			e := r.endpointOf(t, tc.row, tc.method)
			if e.Requests != 4 || e.Classes[tc.class] != 4 {
				t.Errorf("%s %s: %d requests, classes %v; want 4 of %v", tc.method, tc.row, e.Requests, e.Classes, tc.class)
			}
			if n := r.snap.Messages[tc.class.String()+": "+tc.message]; n != 4 {
				t.Errorf("message %q: %d times, want 4: %v", tc.message, n, r.snap.Messages)
			}
			if got := srv.handshakes.Load() - before; got != tc.opens {
				t.Errorf("server accepted %d handshakes, want %d", got, tc.opens)
			}
			if tc.class == metrics.Timeout {
				if lo := e.Latency.Min(); lo < 50*time.Millisecond || lo > 500*time.Millisecond {
					t.Errorf("a 50ms wait took %v", lo)
				}
			}
		})
	}
}

// TestWebSocketReopen: a socket the server closed is not used again: the
// next step opens a new one, and its exchange succeeds.
func TestWebSocketReopen(t *testing.T) {
	srv := startWS(t)
	p := load(t, srv.target(), `
target: TARGET
load: {vus: 1, iterations: 3}
flows:
  - steps:
      - {name: a, ws: /die, send: die, expect: {body_contains: die}}
      - {name: b, ws: /die, send: hi, expect: {body_contains: hi}}
`)
	r := run(t, p)
	a, b := r.endpointOf(t, "a", workload.WSMethod), r.endpointOf(t, "b", workload.WSMethod)
	if a.Classes[metrics.WSClosed] != 3 || b.Requests != 3 || b.Errors() != 0 {
		t.Errorf("a: classes %v; b: %d requests, %d errors; want 3 ws_closed, then 3 successes: %v", a.Classes, b.Requests, b.Errors(), r.snap.Messages)
	}
	if open := r.endpointOf(t, "b", workload.WSOpenMethod); open.Requests != 3 || srv.handshakes.Load() != 6 {
		t.Errorf("b opened %d sockets, the server accepted %d in all; want 3 and 6", open.Requests, srv.handshakes.Load())
	}
}

// settleGoroutines waits for the goroutine count to fall to at most n.
func settleGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > n {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the run, %d before:\n%s", got, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestWebSocketCancel: a run aborted while VUs wait for replies that never
// come ends at once, its sockets closed: no goroutine outlives it.
func TestWebSocketCancel(t *testing.T) {
	srv := startWS(t)
	p := load(t, srv.target(), `
target: TARGET
load: {vus: 4, iterations: 4}
flows:
  - steps:
      - ws: /silent
        send: hi
        expect: {body_contains: never}
        within: 20s
`)
	prog, err := workload.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	client := surgehttp.NewClient(surgehttp.Options{})
	defer client.Close()
	before := runtime.NumGoroutine()
	rec := metrics.NewRecorder(time.Now(), prog.Endpoints(), prog.Checks())
	w := prog.Workload(client, rec)
	hard, abort := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for id := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = w.NewVU(hard, id).Iterate(hard, engine.Iteration{})
		}()
	}
	for srv.messages.Load() < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	t0 := time.Now()
	abort()
	wg.Wait()
	if d := time.Since(t0); d > time.Second {
		t.Errorf("the VUs took %v to end after the abort", d)
	}
	s := rec.Snapshot(time.Now())
	if tot := s.Totals(); tot.Requests != 8 { // 4 handshakes, 4 messages
		t.Errorf("%d requests, want 8 (4 handshakes, 4 messages)", tot.Requests)
	}
	settleGoroutines(t, before)
}

// TestWebSocketTLS: wss:// goes over TLS; a certificate the plan does not
// trust fails the handshake with class tls, and defaults: {insecure: true}
// accepts it.
func TestWebSocketTLS(t *testing.T) {
	srv := &wsServer{}
	srv.Server = httptest.NewTLSServer(http.HandlerFunc(srv.serve))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		insecure bool
		class    metrics.Class
		row      string
	}{{true, metrics.OK, workload.WSMethod}, {false, metrics.TLS, workload.WSOpenMethod}} {
		p := load(t, srv.URL, "target: TARGET\ndefaults: {insecure: "+map[bool]string{true: "true", false: "false"}[tc.insecure]+
			"}\nload: {vus: 1, iterations: 2}\nflows:\n  - steps:\n      - {name: s, ws: /echo, send: hi, expect: {body_contains: hi}}\n")
		r := run(t, p)
		if e := r.endpointOf(t, "s", tc.row); e.Requests != 2 || e.Classes[tc.class] != 2 {
			t.Errorf("insecure %v: %s s: %d requests, classes %v; want 2 of %v: %v", tc.insecure, tc.row, e.Requests, e.Classes, tc.class, r.snap.Messages)
		}
	}
	if got := srv.messages.Load(); got != 2 {
		t.Errorf("the server read %d messages, want 2", got)
	}
}
