package capacity_test

import (
	"context"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// iv is what a scripted target did in one interval at the rate offered.
type iv struct {
	N       int           // iterations finished (0: the rate's worth; -1: none)
	PerIter int           // requests each finished iteration sent (default 1)
	Pending int           // requests completed by iterations not yet finished
	Latency time.Duration // each completed request's latency (default 10ms)
	Errs    int           // of the requests, answered with an error of Class
	Class   metrics.Class // default status_5xx
	Due     int           // default: the rate's worth
	Dropped int
	Lag     time.Duration // every start's lag (default 0.2 ms)
	CPU     float64       // generator cores
	MaxVUs  int
}

// script is a Session whose intervals a function of the offered rate and
// the interval's number since the last rate change computes: a target
// scripted interval by interval, for rules that need exact figures.
type script struct {
	clock    *fakeClock
	interval time.Duration
	start    time.Time
	f        func(rate float64, k int) iv

	mu      sync.Mutex
	rate    float64
	changed int // the first interval at the current rate
	snaps   []metrics.Snapshot
	adjusts []float64
}

func newScript(clock *fakeClock, f func(rate float64, k int) iv) *script {
	return &script{clock: clock, interval: time.Second, start: clock.Now(), f: f}
}

func (s *script) Adjust(rate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publish()
	s.rate, s.changed = rate, len(s.snaps)
	s.adjusts = append(s.adjusts, rate)
}

// publish computes every interval that has ended (intervals are aligned
// to the script's start; a rate change applies from the next one).
func (s *script) publish() {
	now := s.clock.Now()
	for {
		st := s.start.Add(time.Duration(len(s.snaps)) * s.interval)
		e := st.Add(s.interval)
		if e.After(now) {
			return
		}
		s.snaps = append(s.snaps, s.snap(len(s.snaps), st, e))
	}
}

func (s *script) Live() ([]metrics.Snapshot, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publish()
	return append([]metrics.Snapshot(nil), s.snaps...), s.start
}

func (s *script) snap(seq int, st, e time.Time) metrics.Snapshot {
	due := int(s.rate*s.interval.Seconds() + 0.5)
	v := s.f(s.rate, seq-s.changed)
	switch v.N {
	case 0:
		v.N = due
	case -1:
		v.N = 0
	}
	if v.Due == 0 {
		v.Due = due
	}
	if v.Latency == 0 {
		v.Latency = 10 * time.Millisecond
	}
	if v.Lag == 0 {
		v.Lag = 200 * time.Microsecond
	}
	if v.PerIter == 0 {
		v.PerIter = 1
	}
	if v.Class == metrics.OK {
		v.Class = metrics.Status5xx
	}
	ep := metrics.Endpoint{Name: "GET /", Method: "GET", Latency: metrics.NewSketch()}
	reqs := v.N*v.PerIter + v.Pending
	for range reqs {
		ep.Latency.Add(v.Latency)
	}
	ep.Requests = int64(reqs)
	ep.Classes[metrics.OK] = int64(reqs - v.Errs)
	ep.Classes[v.Class] += int64(v.Errs)
	lag := metrics.NewSketch()
	for range max(1, v.Due-v.Dropped) {
		lag.Add(v.Lag)
	}
	snap := metrics.Snapshot{Seq: seq, Start: st, End: e, Endpoints: []metrics.Endpoint{ep}, Iterations: int64(v.N),
		Due: int64(v.Due), Dropped: int64(v.Dropped), Lag: lag, GeneratorCPU: v.CPU, MaxVUs: v.MaxVUs}
	if v.Errs > 0 {
		snap.Messages = map[string]int64{v.Class.String() + ": 500 scripted": int64(v.Errs)}
	}
	return snap
}

// run searches the script with short steps (settle 1 s, window 4 s).
func (s *script) run(o capacity.Options) (*capacity.Result, error) {
	o.Clock = s.clock
	if o.Settle == 0 {
		o.Settle = time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = time.Second
	}
	return capacity.Search(context.Background(), s, o)
}

// capped is a target of capacity c/s: below it every request takes base;
// above it each interval at the rate adds the excess to a queue, so
// latency grows by the queue's wait interval by interval.
func capped(c float64, base time.Duration) func(rate float64, k int) iv {
	return func(rate float64, k int) iv {
		if rate <= c {
			return iv{Latency: base}
		}
		wait := time.Duration(float64(k+1) * (rate - c) / c * float64(time.Second))
		return iv{N: int(c), Latency: base + wait}
	}
}
