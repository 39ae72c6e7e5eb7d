package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune the testbed. The zero value answers at once, without errors.
type Options struct {
	Latency   time.Duration // added to every request (but /__stats)
	Jitter    time.Duration // uniform extra latency in [0, Jitter)
	ErrorRate float64       // fraction of /work and /api/items requests answered 500
	// Workers is the size of the worker pool in front of /work and
	// /api/items (default 4); WorkTime is how long each request holds a
	// worker (default 10ms). Capacity is Workers/WorkTime requests/s.
	Workers  int
	WorkTime time.Duration
	// StallEvery and StallFor make the whole server stall periodically:
	// requests arriving in the first StallFor of every StallEvery wait until
	// the stall ends (a GC pause, a blocked event loop).
	StallEvery time.Duration
	StallFor   time.Duration
	// DBConns is the size of the DB-like connection pool behind /db
	// (default 4); DBTime is how long each /db request holds a connection
	// (default 20ms). More concurrent /db users than DBConns wait, and
	// /metrics counts them (testbed_db_waiters).
	DBConns int
	DBTime  time.Duration
	// DBWaitTimeout, when set, bounds how long a /db request waits for a
	// connection: one still waiting after it is answered 500 "DB connection
	// timeout" (a pool's checkout timeout, as in SQLAlchemy or HikariCP).
	// Zero waits as long as the client does.
	DBWaitTimeout time.Duration
	// BackgroundCPU makes each /work request, after its answer has been
	// sent, keep its worker busy with this much CPU-bound work (a job run
	// after the response on the same worker): the client sees WorkTime, but
	// the worker is held WorkTime+BackgroundCPU.
	BackgroundCPU time.Duration
	// HealthTime is how long /health holds a worker. /health queues for
	// the same workers as /work (a health check answered by the app's own
	// workers), so under load its latency is the queue's.
	HealthTime time.Duration
	// Orders tune the queue-backed /orders endpoints (queue.go).
	Orders OrderOptions
}

// Defaults for the worker pool.
const (
	DefaultWorkers  = 4
	DefaultWorkTime = 10 * time.Millisecond
	DefaultDBConns  = 4
	DefaultDBTime   = 20 * time.Millisecond
)

// Server is a running testbed.
type Server struct {
	opts    Options
	ln      net.Listener
	srv     *http.Server
	started time.Time
	workers chan struct{} // a token per worker
	db      chan struct{} // a token per DB connection
	g       gauges        // what /metrics shows (metrics.go)

	count  atomic.Int64
	mu     sync.Mutex
	byPath map[string]int64
	done   chan struct{}
	api    api    // state of the API endpoints (api.go)
	orders orders // state of the /orders queue (queue.go)
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func Start(addr string, o Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testbed: listening: %w", err)
	}
	s := New(o)
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// New returns a testbed handler that is not listening (see Start).
func New(o Options) *Server {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.WorkTime <= 0 {
		o.WorkTime = DefaultWorkTime
	}
	if o.DBConns <= 0 {
		o.DBConns = DefaultDBConns
	}
	if o.DBTime <= 0 {
		o.DBTime = DefaultDBTime
	}
	return &Server{opts: o, started: time.Now(), workers: make(chan struct{}, o.Workers), db: make(chan struct{}, o.DBConns),
		byPath: map[string]int64{}, done: make(chan struct{})}
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Count is the number of requests received (all but /__stats and /metrics).
func (s *Server) Count() int64 { return s.count.Load() }

// CountPath is the number of requests received for one path.
func (s *Server) CountPath(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byPath[path]
}

// Close stops the server and its hanging handlers.
func (s *Server) Close() error {
	close(s.done)
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/__stats":
		s.stats(w)
		return
	case "/metrics":
		s.metrics(w, r)
		return
	}
	s.count.Add(1)
	s.g.count(r.URL.Path)
	s.g.inFlight.Add(1)
	defer s.g.inFlight.Add(-1)
	s.mu.Lock()
	s.byPath[r.URL.Path]++
	s.mu.Unlock()
	readBody(r) // discarded, but kept for the API endpoints (api.go)

	s.stall(r.Context())
	if d := s.opts.Latency + jitter(s.opts.Jitter); d > 0 {
		sleep(r.Context(), d)
	}
	q := r.URL.Query()
	switch path := r.URL.Path; {
	case path == "/" || path == "/hello":
		_, _ = io.WriteString(w, "hello from surge testbed\n")
	case path == "/delay":
		sleep(r.Context(), msParam(q.Get("ms"), 0))
		_, _ = io.WriteString(w, "ok\n")
	case path == "/work" || path == "/api/items":
		s.work(w, r, msParam(q.Get("ms"), s.opts.WorkTime))
	case path == "/health":
		s.health(w, r)
	case path == "/db":
		s.dbQuery(w, r, msParam(q.Get("ms"), s.opts.DBTime))
	case path == "/error":
		rate, _ := strconv.ParseFloat(q.Get("rate"), 64)
		if rand.Float64() < rate {
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	case len(path) > len("/status/") && path[:len("/status/")] == "/status/":
		code, err := strconv.Atoi(path[len("/status/"):])
		if err != nil || code < 200 || code > 599 {
			http.Error(w, "bad status", http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
	case path == "/big":
		kb := int(msParam(q.Get("kb"), 1024*time.Millisecond) / time.Millisecond)
		w.Header().Set("Content-Length", strconv.Itoa(kb*1024))
		chunk := make([]byte, 1024)
		for range kb {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case path == "/slow":
		// trickles 10 chunks over ms
		d := msParam(q.Get("ms"), time.Second)
		for i := range 10 {
			_, _ = fmt.Fprintf(w, "chunk %d\n", i)
			w.(http.Flusher).Flush()
			sleep(r.Context(), d/10)
		}
	case path == "/hang":
		select {
		case <-r.Context().Done():
		case <-s.done:
		case <-time.After(time.Minute):
		}
	case path == "/reset", path == "/close", path == "/garbage":
		s.misbehave(w, path)
	case s.serveAPI(w, r): // /login, /me, /todos, /products, /sales, /stock
	case s.serveOrders(w, r): // /orders, /orders/{id} (queue.go)
	default:
		http.NotFound(w, r)
	}
}

// work holds one of the pool's workers for d, queueing for it first.
func (s *Server) work(w http.ResponseWriter, r *http.Request, d time.Duration) {
	s.g.queued.Add(1)
	select {
	case s.workers <- struct{}{}:
		s.g.queued.Add(-1)
	case <-r.Context().Done():
		s.g.queued.Add(-1)
		return
	}
	defer func() { <-s.workers }()
	// The hold is timed from the moment the worker was taken, so that the
	// answer's timer overshoot and writing it do not lengthen the
	// background work after it: the worker is held d + BackgroundCPU.
	took := time.Now()
	sleep(r.Context(), d)
	if s.opts.ErrorRate > 0 && rand.Float64() < s.opts.ErrorRate {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	const body = `{"items":[1,2,3]}` + "\n"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = io.WriteString(w, body)
	if s.opts.BackgroundCPU > 0 {
		// The whole answer is out (Content-Length, flushed): the client is
		// done, while this worker spins on, still holding its token.
		w.(http.Flusher).Flush()
		spinUntil(took.Add(d + s.opts.BackgroundCPU))
	}
}

// health answers "ok" after holding a worker for HealthTime: it waits in
// the same queue as /work.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	s.g.queued.Add(1)
	select {
	case s.workers <- struct{}{}:
		s.g.queued.Add(-1)
	case <-r.Context().Done():
		s.g.queued.Add(-1)
		return
	}
	sleep(r.Context(), s.opts.HealthTime)
	<-s.workers
	_, _ = io.WriteString(w, "ok\n")
}

// spinUntil burns CPU until end, by the wall clock. It is wall-clock, not
// CPU time, so a worker's hold ends at end however many cores the process
// gets: the capacity stays Workers/(WorkTime+BackgroundCPU) on a busy
// machine, and the CPU it costs shows up in the process's CPU.
func spinUntil(end time.Time) {
	x := uint64(1)
	for time.Now().Before(end) {
		for range 1000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	spinSink.Store(x)
}

// spinSink keeps the compiler from removing spin's loop.
var spinSink atomic.Uint64

func (s *Server) misbehave(w http.ResponseWriter, path string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	switch path {
	case "/reset":
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST
		}
	case "/garbage":
		_, _ = io.WriteString(conn, "\x00\x01garbage that is not HTTP\r\n\r\n")
	}
	_ = conn.Close()
}

// stall holds the request while the server is in a periodic stall window.
func (s *Server) stall(ctx context.Context) {
	if s.opts.StallEvery <= 0 || s.opts.StallFor <= 0 {
		return
	}
	into := time.Since(s.started) % s.opts.StallEvery
	if into < s.opts.StallFor {
		sleep(ctx, s.opts.StallFor-into)
	}
}

func (s *Server) stats(w http.ResponseWriter) {
	s.mu.Lock()
	paths := make(map[string]int64, len(s.byPath))
	for k, v := range s.byPath {
		paths[k] = v
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"requests": s.Count(), "paths": paths})
}

func msParam(v string, def time.Duration) time.Duration {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return def
	}
	return time.Duration(n * float64(time.Millisecond))
}

func jitter(j time.Duration) time.Duration {
	if j <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(j)))
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
