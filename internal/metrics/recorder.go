package metrics

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// EndpointKey names one endpoint (a request name and method) that a
// Recorder counts. Recorders index endpoints by their position in the list
// given to NewRecorder, so recording never hashes a string.
type EndpointKey struct {
	Name   string
	Method string
}

// Outcome is the result of one request.
type Outcome struct {
	Class         Class
	Latency       time.Duration
	BytesSent     int64
	BytesReceived int64
	// Message describes an error (empty for OK). It is only read when Class
	// is an error, so success costs nothing here.
	Message string
	// Phases is where the request's time went (phases.go), recorded when
	// Timed: the protocol client measured them (HTTP does; WebSocket and
	// gRPC do not). Phases[PhaseQueued] is recorded only when Queued: an
	// open-model request whose latency counts from its due time.
	Phases Phases
	Timed  bool
	Queued bool
	// Proto is the protocol the request was sent with, counted when Timed.
	Proto Proto
}

// Recorder collects outcomes for the current interval. Record is cheap and
// allocation-free: outcomes go to one of several shards, each behind its own
// mutex, so concurrent VUs rarely contend. Snapshot swaps every shard's
// interval for an empty one and merges what it took.
type Recorder struct {
	endpoints []EndpointKey
	checks    []string
	shards    []shard
	mask      int

	iterations atomic.Int64
	dropped    atomic.Int64
	cookies    atomic.Int64 // cookies refused by full jars
	vus        atomic.Int64
	maxVUs     atomic.Int64

	mu      sync.Mutex // serialises Snapshot
	seq     int
	started time.Time
	last    time.Time
}

type shard struct {
	mu    sync.Mutex
	cur   *interval
	spare *interval
	_     [40]byte // keep neighbouring shards' mutexes off one cache line
}

type interval struct {
	eps    []epAcc
	checks [][2]int64 // passes, fails
	lag    *Sketch
	msgs   map[msgKey]int64
}

// msgKey counts an error message by class without building the
// "class: message" string per request; Snapshot builds it once per key.
type msgKey struct {
	class Class
	msg   string
	other bool // stands for the messages beyond maxMessages
}

// addMessage counts one message, at most maxMessages distinct ones per
// interval and shard; the rest are counted together.
func (iv *interval) addMessage(c Class, msg string) {
	if iv.msgs == nil {
		iv.msgs = make(map[msgKey]int64)
	}
	k := msgKey{class: c, msg: msg}
	if len(iv.msgs) >= maxMessages {
		if _, ok := iv.msgs[k]; !ok {
			k = msgKey{other: true}
		}
	}
	iv.msgs[k]++
}

type epAcc struct {
	requests      int64
	classes       [NumClasses]int64
	bytesSent     int64
	bytesReceived int64
	latency       *Sketch
	phases        PhaseSketches // sketches made on first use, kept across intervals
	protos        [NumProtos]int64
}

// NewRecorder returns a Recorder for the given endpoints and check names,
// whose first interval starts at start.
func NewRecorder(start time.Time, endpoints []EndpointKey, checks []string) *Recorder {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) {
		n <<= 1
	}
	r := &Recorder{
		endpoints: append([]EndpointKey(nil), endpoints...),
		checks:    append([]string(nil), checks...),
		shards:    make([]shard, n),
		mask:      n - 1,
		started:   start,
		last:      start,
	}
	for i := range r.shards {
		r.shards[i].cur = r.newInterval()
		r.shards[i].spare = r.newInterval()
	}
	return r
}

func (r *Recorder) newInterval() *interval {
	iv := &interval{eps: make([]epAcc, len(r.endpoints)), checks: make([][2]int64, len(r.checks)), lag: NewSketch()}
	for i := range iv.eps {
		iv.eps[i].latency = NewSketch()
	}
	return iv
}

// Record counts one request outcome for endpoint ep (an index into the
// endpoints given to NewRecorder). hint spreads callers over shards; a VU
// passes its id.
func (r *Recorder) Record(hint, ep int, o Outcome) {
	s := &r.shards[hint&r.mask]
	s.mu.Lock()
	a := &s.cur.eps[ep]
	a.requests++
	a.classes[o.Class]++
	a.bytesSent += o.BytesSent
	a.bytesReceived += o.BytesReceived
	a.latency.Add(o.Latency)
	if o.Timed {
		a.phases.Add(&o.Phases)
		if o.Queued {
			a.phases.AddQueued(o.Phases[PhaseQueued])
		}
		pr := o.Proto
		if pr >= NumProtos {
			pr = ProtoUnknown
		}
		a.protos[pr]++
	}
	if o.Class != OK && o.Message != "" {
		s.cur.addMessage(o.Class, o.Message)
	}
	s.mu.Unlock()
}

// RecordCheck counts one pass or fail of check c (an index into the checks
// given to NewRecorder).
func (r *Recorder) RecordCheck(hint, c int, pass bool) {
	s := &r.shards[hint&r.mask]
	s.mu.Lock()
	if pass {
		s.cur.checks[c][0]++
	} else {
		s.cur.checks[c][1]++
	}
	s.mu.Unlock()
}

// RecordLag records how late an open-model iteration started after it was due.
func (r *Recorder) RecordLag(hint int, lag time.Duration) {
	s := &r.shards[hint&r.mask]
	s.mu.Lock()
	s.cur.lag.Add(lag)
	s.mu.Unlock()
}

// IterationDone counts one finished iteration.
func (r *Recorder) IterationDone() { r.iterations.Add(1) }

// Dropped counts n open-model iterations that were dropped.
func (r *Recorder) Dropped(n int64) { r.dropped.Add(n) }

// CookiesDropped counts n cookies that a VU's full cookie jar refused.
func (r *Recorder) CookiesDropped(n int64) { r.cookies.Add(n) }

// SetVUs sets the active-VU gauge and raises the interval's peak.
func (r *Recorder) SetVUs(n int) {
	r.vus.Store(int64(n))
	for {
		m := r.maxVUs.Load()
		if int64(n) <= m || r.maxVUs.CompareAndSwap(m, int64(n)) {
			return
		}
	}
}

// Snapshot ends the current interval at now and returns what it recorded.
// Calls must come from one goroutine at a time (they are serialised).
func (r *Recorder) Snapshot(now time.Time) Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Snapshot{
		Seq:       r.seq,
		Start:     r.last,
		End:       now,
		Endpoints: make([]Endpoint, len(r.endpoints)),
		Checks:    make([]Check, len(r.checks)),
		Lag:       NewSketch(),
	}
	for i, k := range r.endpoints {
		out.Endpoints[i] = Endpoint{Name: k.Name, Method: k.Method, Latency: NewSketch()}
	}
	for i, c := range r.checks {
		out.Checks[i].Name = c
	}
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		iv := s.cur
		s.cur, s.spare = s.spare, s.cur
		s.mu.Unlock()
		for j := range iv.eps {
			a := &iv.eps[j]
			e := &out.Endpoints[j]
			e.Requests += a.requests
			for c := range a.classes {
				e.Classes[c] += a.classes[c]
			}
			e.BytesSent += a.bytesSent
			e.BytesReceived += a.bytesReceived
			e.Latency.MergeFrom(a.latency)
			a.latency.Reset()
			e.Phases.MergeFrom(&a.phases)
			a.phases.Reset()
			for p, n := range a.protos {
				e.Protos[p] += n
			}
			*a = epAcc{latency: a.latency, phases: a.phases}
		}
		for j, pf := range iv.checks {
			out.Checks[j].Passes += pf[0]
			out.Checks[j].Fails += pf[1]
			iv.checks[j] = [2]int64{}
		}
		out.Lag.MergeFrom(iv.lag)
		iv.lag.Reset()
		for k, n := range iv.msgs {
			m := OtherMessages
			if !k.other {
				m = k.class.String() + ": " + k.msg
			}
			addMessage(&out.Messages, m, n)
		}
		clear(iv.msgs)
	}
	out.Iterations = r.iterations.Swap(0)
	out.Dropped = r.dropped.Swap(0)
	out.CookiesDropped = r.cookies.Swap(0)
	vus := r.vus.Load()
	out.VUs = int(vus)
	out.MaxVUs = int(max(r.maxVUs.Swap(vus), vus))
	r.seq++
	r.last = now
	return out
}
