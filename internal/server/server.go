package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/web"
)

// Lease of a recorded run: a `surge run --server` that sends no interval
// for this long is taken for dead and its run marked interrupted.
const (
	recordLease   = 30 * time.Second
	leaseInterval = 5 * time.Second // how often leases are checked
)

// Options configure a Server. Store and Secret are required.
type Options struct {
	Store  *store.Store
	Secret string // the access secret; never empty
	// ScenarioDir holds scenario files offered in the UI; "" offers none.
	ScenarioDir string
	Logger      *slog.Logger // nil: discard
	// Cores is the generator's CPU count as summaries report it; 0 means
	// GOMAXPROCS.
	Cores int
	// NoUI serves the API alone, without the embedded dashboard.
	NoUI bool
	// TrustProxy takes the client's address from the last entry of
	// X-Forwarded-For, for a server behind a reverse proxy; otherwise every
	// client would share the proxy's allowance of wrong secrets. Without a
	// proxy that sets the header, clients could pick their own address.
	TrustProxy bool
	// ReadHeaderTimeout and ReadTimeout bound how long HTTPServer's server
	// waits for a request's headers, and for a whole request that has not
	// authenticated (a slow client holds a connection and a goroutine); 0
	// means DefaultReadHeaderTimeout and DefaultReadTimeout.
	ReadHeaderTimeout, ReadTimeout time.Duration
	// Agents configure the endpoint of remote agents (agents.go).
	Agents AgentOptions
	// Interval is the snapshot interval of the runs the server starts; 0
	// means 1 s (controller.DefaultInterval). Tests shorten it.
	Interval time.Duration
}

// Timeouts of the http.Server that HTTPServer returns.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a request of a client that has not
	// shown the secret: its headers and body (a login is a few bytes).
	// Authenticated requests have it lifted, as their bodies can be large
	// and their streams last.
	DefaultReadTimeout = 30 * time.Second
	idleTimeout        = 2 * time.Minute
)

// Server is the HTTP API and dashboard of `surge server`. It runs at most
// one load test of its own at a time and records any number of runs sent by
// `surge run --server`. Its methods are safe for concurrent use.
type Server struct {
	opts  Options
	st    *store.Store
	log   *slog.Logger
	auth  *auth
	hub   *hub
	mux   *http.ServeMux
	cores int

	// base is the parent context of the runs the server starts; cancelling
	// it (Close) stops them.
	base     context.Context
	shutdown context.CancelCauseFunc

	mu     sync.Mutex
	active *active              // the run the server is running, if any
	live   map[string]*liveView // running runs (own and recorded) by id
	// unrecorded are own runs that have ended but whose end the store could
	// not write yet; the janitor retries, and the API shows them as ended.
	unrecorded map[string]*ending

	janitorDone chan struct{}

	agents  *agentHub    // remote agents: token, registry (agents.go)
	rebuilt summaryCache // ended runs' summaries rebuilt from their snapshots
	remote  remoteRuns   // recorded runs whose CLI takes control, and what is queued for them

	healthMu sync.Mutex
	// storeErr is the last failed write while the store cannot write (nil
	// once a write works again); no run starts meanwhile.
	storeErr error
}

// liveView is the latest state of a running run, for /metrics.
type liveView struct {
	run  runInfo
	last Interval
}

// ErrShutdown is the cause given to a run stopped because the server is
// shutting down.
var ErrShutdown = errors.New("the server is shutting down")

// New returns a server; Close stops it.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Cores <= 0 {
		o.Cores = runtime.GOMAXPROCS(0)
	}
	base, cancel := context.WithCancelCause(context.Background())
	s := &Server{
		opts: o, st: o.Store, log: o.Logger, auth: newAuth(o.Secret), hub: newHub(),
		cores: o.Cores, base: base, shutdown: cancel,
		live: map[string]*liveView{}, unrecorded: map[string]*ending{}, janitorDone: make(chan struct{}),
	}
	s.agents = newAgentHub(s)
	s.routes()
	go s.janitor()
	return s
}

// HTTPServer returns an http.Server for the handler with the timeouts that
// keep slow clients from holding connections (Options.ReadHeaderTimeout,
// ReadTimeout). Serve it on a listener; Close the Server first when done.
func (s *Server) HTTPServer() *http.Server {
	rh, rt := s.opts.ReadHeaderTimeout, s.opts.ReadTimeout
	if rh <= 0 {
		rh = DefaultReadHeaderTimeout
	}
	if rt <= 0 {
		rt = DefaultReadTimeout
	}
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: rh,
		ReadTimeout:       rt,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP implements http.Handler: every answer carries the security
// headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	a := s.require
	m.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /api/v1/ready", s.handleReady)
	m.HandleFunc("POST /api/v1/login", s.handleLogin)
	m.HandleFunc("POST /api/v1/logout", s.handleLogout)
	m.HandleFunc("GET /api/v1/session", a(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"authenticated": true})
	}))

	m.HandleFunc("GET /api/v1/runs", a(s.handleList))
	m.HandleFunc("POST /api/v1/runs", a(s.handleStart))
	m.HandleFunc("GET /api/v1/runs/{id}", a(s.handleGet))
	m.HandleFunc("PATCH /api/v1/runs/{id}", a(s.handleAdjust))
	m.HandleFunc("DELETE /api/v1/runs/{id}", a(s.handleDelete))
	m.HandleFunc("POST /api/v1/runs/{id}/stop", a(s.handleStop))
	m.HandleFunc("GET /api/v1/runs/{id}/summary", a(s.handleSummary))
	m.HandleFunc("GET /api/v1/runs/{id}/timeline", a(s.handleTimeline))
	m.HandleFunc("GET /api/v1/runs/{id}/report", a(s.handleReport))
	m.HandleFunc("GET /api/v1/runs/{id}/events", a(s.handleRunEvents))
	m.HandleFunc("GET /api/v1/events", a(s.handleEvents))

	m.HandleFunc("POST /api/v1/recordings", a(s.handleRecord))
	m.HandleFunc("POST /api/v1/runs/{id}/intervals", a(s.handleInterval))
	m.HandleFunc("POST /api/v1/runs/{id}/finish", a(s.handleFinish))

	m.HandleFunc("POST /api/v1/capacity", a(s.handleCapacity))
	m.HandleFunc("GET /api/v1/compare", a(s.handleCompareAny))
	m.HandleFunc("GET /api/v1/scenarios", a(s.handleScenarios))
	m.HandleFunc("GET /api/v1/scenarios/{name}", a(s.handleScenario))
	m.HandleFunc("GET /metrics", a(s.handleMetrics))
	s.agentRoutes(m)

	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path+" (see docs/api.md)")
	})
	ui := web.Handler()
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.NoUI {
			writeError(w, http.StatusNotFound, "this server has no dashboard; the API is under /api/v1")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here")
			return
		}
		ui.ServeHTTP(w, r)
	})
	s.mux = m
}

// Close stops the server's own run (its outputs are kept, as for a stop
// from the API) and waits for it and the lease keeper to end, or for ctx.
// It does not close the store.
func (s *Server) Close(ctx context.Context) error {
	s.shutdown(ErrShutdown)
	s.mu.Lock()
	a := s.active
	s.mu.Unlock()
	if a != nil {
		select {
		case <-a.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-s.janitorDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// janitor marks recorded runs interrupted when their recorder stops
// sending (the CLI was killed or lost its network), and writes the ends of
// own runs that the store could not write when they ended.
func (s *Server) janitor() {
	defer close(s.janitorDone)
	t := time.NewTicker(leaseInterval)
	defer t.Stop()
	for {
		select {
		case <-s.base.Done():
			return
		case <-t.C:
			s.recordEnds(s.base)
			s.expireLeases(time.Now())
		}
	}
}

func (s *Server) expireLeases(now time.Time) {
	// Only runs a `surge run --server` records: the server's own runs end
	// by themselves, and one whose end could not be written waits in
	// s.unrecorded, not for the janitor.
	running, err := s.st.Recording(s.base)
	if err != nil {
		s.log.Warn("checking recorded runs", "err", err)
		return
	}
	for id, seen := range running {
		if now.Sub(seen) < recordLease {
			continue
		}
		why := "the recording surge run stopped sending data"
		if err := s.st.Interrupt(s.base, id, seen, why); err != nil {
			s.log.Warn("interrupting silent run", "run", id, "err", err)
			continue
		}
		s.log.Warn("recorded run went silent: marked interrupted", "run", id)
		s.remote.end(id)
		s.ended(id)
	}
}

// ended forgets a run's live view and tells its watchers the run is over.
func (s *Server) ended(id string) {
	s.mu.Lock()
	delete(s.live, id)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.state(ctx, id)
	if err != nil {
		s.log.Warn("reading ended run", "run", id, "err", err)
		return
	}
	s.hub.publish(id, newEvent("end", st))
	s.hub.publish("", newEvent("run", st.Run))
}

// interval publishes one interval of a running run and keeps it for /metrics.
func (s *Server) interval(info runInfo, iv Interval) {
	s.mu.Lock()
	s.live[info.ID] = &liveView{run: info, last: iv}
	s.mu.Unlock()
	e := newEvent("interval", iv)
	e.seq = iv.Seq
	s.hub.publish(info.ID, e)
}
