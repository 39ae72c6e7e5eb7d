package testbed

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/promtext"
)

// The queue-backed endpoints: an API that answers at once and does the
// work later, behind a queue and one consumer of known speed.
//
//	POST /orders       → 202 {"id", "status": "queued"} and Location: /orders/ID,
//	                     at once; 503 {"error": "queue full"} when the queue
//	                     holds OrderOptions.Queue jobs
//	GET  /orders/{id}  → 200 {"id", "status", "waited_ms"}: status is queued
//	                     (waiting or being worked on), done, or dead (it waited
//	                     longer than OrderOptions.MaxWait for the consumer and
//	                     went to the dead-letter queue); 404 for an id never
//	                     issued or no longer remembered
//
// The consumer takes jobs in order, one at a time, and works Job on each:
// its capacity is 1/Job jobs per second. Below it an order is done about
// Job after it was placed; above it the POST stays as fast while the
// backlog, and with it the time to done, grows until jobs wait MaxWait and
// are dead-lettered (when the consumer reaches them, as a queue's message
// TTL does).
//
// The consumer runs on the clock rather than in a goroutine: when a job is
// queued, the time the consumer will reach it is known (when it finishes
// the job before, or at once if it is idle), and so is its fate. Status,
// depth and counts are read off those times when asked. So its capacity is
// exactly 1/Job whatever the machine's timer resolution or load, and there
// is no goroutine to stop.

// OrderOptions tune the queue-backed /orders endpoints.
type OrderOptions struct {
	// Job is how long the consumer works on each order (default 20ms).
	Job time.Duration
	// MaxWait is how long an order may wait for the consumer before it is
	// dead-lettered (default 10s).
	MaxWait time.Duration
	// Queue bounds the orders waiting for the consumer (default 10,000, at
	// most OrderHistory); a POST beyond it is answered 503.
	Queue int
}

// Defaults and bounds of the order queue.
const (
	DefaultOrderJob     = 20 * time.Millisecond
	DefaultOrderMaxWait = 10 * time.Second
	DefaultOrderQueue   = 10_000
	// OrderHistory is how many of the latest orders GET /orders/{id}
	// remembers; older ids answer 404. With the queue it bounds the
	// memory the endpoints hold (a few MiB), whatever the load.
	OrderHistory = 1 << 17
)

// order is one job. Times are offsets from the queue's epoch.
type order struct {
	id     int64
	placed time.Duration
	start  time.Duration // when the consumer reaches it
	dead   bool          // it will have waited past MaxWait by then
}

// orders is the state of the /orders endpoints. Its zero value is ready to
// use.
type orders struct {
	mu    sync.Mutex
	init  bool
	opts  OrderOptions
	epoch time.Time
	ring  []order       // the latest OrderHistory orders, by id % len
	next  int64         // the next id to issue; ids start at 1
	head  int64         // the oldest id the consumer has not reached yet
	free  time.Duration // when the consumer is free for the next job

	accepted, rejected, dead int64 // dead: counted as of the last advance
}

func (q *orders) lock(o OrderOptions) {
	q.mu.Lock()
	if q.init {
		return
	}
	q.init = true
	if o.Job <= 0 {
		o.Job = DefaultOrderJob
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultOrderMaxWait
	}
	if o.Queue <= 0 {
		o.Queue = DefaultOrderQueue
	}
	o.Queue = min(o.Queue, OrderHistory)
	q.opts, q.epoch, q.next, q.head = o, time.Now(), 1, 1
}

// advance moves the consumer up to now: every job it has reached by now
// leaves the queue, done or dead.
func (q *orders) advance(now time.Duration) {
	for q.head < q.next {
		j := &q.ring[q.head%int64(len(q.ring))]
		if j.start > now {
			return
		}
		if j.dead {
			q.dead++
		}
		q.head++
	}
}

// status is j's status at now: a job the consumer is working on is still
// queued, until its Job has passed.
func (q *orders) status(j *order, now time.Duration) string {
	switch {
	case j.dead && j.start <= now:
		return "dead"
	case !j.dead && j.start+q.opts.Job <= now:
		return "done"
	}
	return "queued"
}

// place queues one order at now, or reports that the queue is full.
func (q *orders) place(now time.Duration) (order, bool) {
	if q.ring == nil {
		q.ring = make([]order, OrderHistory) // on first use: a scrape alone allocates nothing
	}
	q.advance(now)
	if q.next-q.head >= int64(q.opts.Queue) {
		q.rejected++
		return order{}, false
	}
	j := order{id: q.next, placed: now, start: max(now, q.free)}
	if j.start-now > q.opts.MaxWait {
		// The consumer reaches it too late: it moves it to the dead-letter
		// queue then, and spends no time on it.
		j.dead = true
	} else {
		q.free = j.start + q.opts.Job
	}
	q.ring[j.id%int64(len(q.ring))] = j
	q.next++
	q.accepted++
	return j, true
}

// serveOrders answers /orders and /orders/{id}; it reports whether r was
// one of them.
func (s *Server) serveOrders(w http.ResponseWriter, r *http.Request) bool {
	q := &s.orders
	rest, ok := strings.CutPrefix(r.URL.Path, "/orders")
	if !ok || (rest != "" && rest[0] != '/') {
		return false
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		if !method(w, r, http.MethodPost) {
			return true
		}
		q.lock(s.opts.Orders)
		j, ok := q.place(time.Since(q.epoch))
		q.mu.Unlock()
		if !ok {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "queue full"})
			return true
		}
		w.Header().Set("Location", "/orders/"+strconv.FormatInt(j.id, 10))
		writeJSON(w, http.StatusAccepted, map[string]any{"id": j.id, "status": "queued"})
		return true
	}
	if !method(w, r, http.MethodGet) {
		return true
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	q.lock(s.opts.Orders)
	now := time.Since(q.epoch)
	q.advance(now)
	var j order
	known := err == nil && id > 0 && id < q.next && id > q.next-OrderHistory
	if known {
		j = q.ring[id%int64(len(q.ring))]
	}
	var st string
	if known {
		st = q.status(&j, now)
	}
	q.mu.Unlock()
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such order (ids are remembered for the latest " + strconv.Itoa(OrderHistory) + " orders)"})
		return true
	}
	waited := min(j.start, now) - j.placed
	writeJSON(w, http.StatusOK, map[string]any{"id": j.id, "status": st, "waited_ms": waited.Milliseconds()})
	return true
}

// orderFamilies are the queue's lines of /metrics.
func (s *Server) orderFamilies() []promtext.Family {
	q := &s.orders
	q.lock(s.opts.Orders)
	now := time.Since(q.epoch)
	q.advance(now)
	depth := q.next - q.head
	done := q.accepted - q.dead - depth
	if q.head > 1 {
		// The job the consumer is on is not done yet.
		if last := q.ring[(q.head-1)%int64(len(q.ring))]; !last.dead && last.start+q.opts.Job > now {
			done--
		}
	}
	accepted, rejected, dead, capacity := q.accepted, q.rejected, q.dead, q.opts.Queue
	q.mu.Unlock()
	gauge := func(name, help string, v int64) promtext.Family {
		return promtext.Family{Name: name, Type: promtext.Gauge, Help: help, Samples: []promtext.Sample{{Value: float64(v)}}}
	}
	counter := func(name, help string, v int64) promtext.Family {
		return promtext.Family{Name: name, Type: promtext.Counter, Help: help, Samples: []promtext.Sample{{Value: float64(v)}}}
	}
	return []promtext.Family{
		gauge("testbed_orders_queue_depth", "Orders waiting for the consumer.", depth),
		gauge("testbed_orders_queue_capacity", "The most orders the queue holds; a POST /orders beyond it is answered 503.", int64(capacity)),
		counter("testbed_orders_accepted_total", "Orders accepted (202).", accepted),
		counter("testbed_orders_rejected_total", "Orders refused because the queue was full (503).", rejected),
		counter("testbed_orders_done_total", "Orders the consumer finished.", done),
		counter("testbed_orders_dead_letter_total", "Orders that waited longer than the maximum wait and went to the dead-letter queue.", dead),
	}
}
