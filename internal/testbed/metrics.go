package testbed

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/surgeload/surge/internal/promtext"
)

// The testbed's own /metrics (Prometheus text, written by promtext): what a
// monitor of the target shows beside the load.
//
//	testbed_requests_in_flight          gauge    requests being served now
//	testbed_requests_total{class}       counter  requests received, by path class:
//	                                             work (/work, /api/items), db (/db),
//	                                             api (/login … /stock), other
//	testbed_workers                     gauge    size of the worker pool (/work, /api/items)
//	testbed_workers_busy                gauge    workers holding a request
//	testbed_workers_queued              gauge    requests waiting for a worker
//	testbed_db_connections              gauge    size of the DB-like pool (/db)
//	testbed_db_connections_busy         gauge    connections held
//	testbed_db_waiters                  gauge    requests waiting for a connection
//	testbed_db_wait_timeouts_total      counter  /db requests answered 500 after DBWaitTimeout
//
// /metrics and /__stats are not counted, delayed or stalled: scraping the
// testbed changes none of what it measures.

// Path classes of testbed_requests_total.
const (
	classWork  = "work"
	classDB    = "db"
	classAPI   = "api"
	classOther = "other"
)

var classes = []string{classWork, classDB, classAPI, classOther}

func classOf(path string) string {
	switch path {
	case "/work", "/api/items":
		return classWork
	case "/db":
		return classDB
	case "/login", "/me", "/todos", "/products", "/sales", "/stock":
		return classAPI
	}
	return classOther
}

// gauges are the testbed's live counts.
type gauges struct {
	inFlight   atomic.Int64
	queued     atomic.Int64 // waiting for a worker
	dbWaiters  atomic.Int64 // waiting for a DB connection
	dbTimeouts atomic.Int64 // /db requests answered 500 after DBWaitTimeout
	byClass    [4]atomic.Int64
}

func (g *gauges) count(path string) {
	c := classOf(path)
	for i, k := range classes {
		if k == c {
			g.byClass[i].Add(1)
			return
		}
	}
}

// Families returns the testbed's metrics now, as /metrics writes them.
func (s *Server) Families() []promtext.Family {
	g := &s.g
	reqs := promtext.Family{Name: "testbed_requests_total", Type: promtext.Counter,
		Help: "Requests received (all but /metrics and /__stats), by path class."}
	for i, c := range classes {
		reqs.Samples = append(reqs.Samples, promtext.Sample{Labels: promtext.L("class", c), Value: float64(g.byClass[i].Load())})
	}
	gauge := func(name, help string, v int64) promtext.Family {
		return promtext.Family{Name: name, Type: promtext.Gauge, Help: help, Samples: []promtext.Sample{{Value: float64(v)}}}
	}
	return append([]promtext.Family{
		gauge("testbed_requests_in_flight", "Requests being served now.", g.inFlight.Load()),
		reqs,
		gauge("testbed_workers", "Size of the worker pool in front of /work and /api/items.", int64(cap(s.workers))),
		gauge("testbed_workers_busy", "Workers holding a request.", int64(len(s.workers))),
		gauge("testbed_workers_queued", "Requests waiting for a worker.", g.queued.Load()),
		gauge("testbed_db_connections", "Size of the DB-like connection pool behind /db.", int64(cap(s.db))),
		gauge("testbed_db_connections_busy", "DB connections held by a request.", int64(len(s.db))),
		gauge("testbed_db_waiters", "Requests waiting for a DB connection.", g.dbWaiters.Load()),
		{Name: "testbed_db_wait_timeouts_total", Type: promtext.Counter,
			Help:    "/db requests answered 500 because no connection was free within the wait timeout.",
			Samples: []promtext.Sample{{Value: float64(g.dbTimeouts.Load())}}},
	}, s.orderFamilies()...)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", promtext.ContentType)
	if err := promtext.Write(w, s.Families()); err != nil {
		// Only a write error can get here (the names are constants).
		return
	}
}

// dbQuery holds one of the DB pool's connections for d, waiting for one
// first: with more concurrent users than connections, waiters pile up.
func (s *Server) dbQuery(w http.ResponseWriter, r *http.Request, d time.Duration) {
	s.g.dbWaiters.Add(1)
	var timeout <-chan time.Time // nil: wait as long as the client does
	if s.opts.DBWaitTimeout > 0 {
		t := time.NewTimer(s.opts.DBWaitTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.db <- struct{}{}:
		s.g.dbWaiters.Add(-1)
	case <-timeout:
		s.g.dbWaiters.Add(-1)
		s.g.dbTimeouts.Add(1)
		http.Error(w, "DB connection timeout", http.StatusInternalServerError)
		return
	case <-r.Context().Done():
		s.g.dbWaiters.Add(-1)
		return
	}
	sleep(r.Context(), d)
	<-s.db
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"rows":[{"id":1},{"id":2}]}` + "\n"))
}
