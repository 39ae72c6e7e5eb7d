package capacity_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// queueSession is a queue-backed API as a fluid model: every order's POST
// answers at once (2 ms), a consumer completes Capacity orders per second,
// and an order's flow takes Job plus its wait in the backlog. Its
// snapshots carry the flow as an agent records it.
type queueSession struct {
	capacity float64
	job      time.Duration
	clock    *fakeClock
	start    time.Time

	mu      sync.Mutex
	adjusts []adjust
	snaps   []metrics.Snapshot
	backlog float64
}

func (q *queueSession) Adjust(rate float64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.adjusts = append(q.adjusts, adjust{q.clock.Now(), rate})
}

func (q *queueSession) Live() ([]metrics.Snapshot, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for {
		s := q.start.Add(time.Duration(len(q.snaps)) * time.Second)
		e := s.Add(time.Second)
		if e.Add(500 * time.Millisecond).After(now) {
			break
		}
		rate := 0.0
		for _, a := range q.adjusts {
			if !a.at.After(s) {
				rate = a.rate
			}
		}
		q.snaps = append(q.snaps, q.interval(len(q.snaps), s, e, rate))
	}
	return append([]metrics.Snapshot(nil), q.snaps...), q.start
}

func (q *queueSession) interval(seq int, s, e time.Time, rate float64) metrics.Snapshot {
	b0 := q.backlog
	served := math.Min(q.capacity, b0+rate)
	b1 := b0 + rate - served
	q.backlog = b1
	post := metrics.Endpoint{Name: "place", Method: "POST", Latency: metrics.NewSketch()}
	poll := metrics.Endpoint{Name: "wait for order", Method: "GET", Latency: metrics.NewSketch()}
	flow := metrics.Flow{Name: "order", Duration: metrics.NewSketch()}
	n := int(math.Round(rate))
	for range n {
		post.Latency.Add(2 * time.Millisecond)
	}
	post.Requests, post.Classes[metrics.OK] = int64(n), int64(n)
	done := int(math.Round(served))
	for i := range done {
		wait := (b0 + (b1-b0)*(float64(i)+0.5)/float64(done)) / q.capacity
		d := q.job + time.Duration(wait*float64(time.Second))
		flow.Duration.Add(d)
		attempts := int64(1 + d/(50*time.Millisecond)) // polled every 50 ms
		for range attempts {
			poll.Latency.Add(time.Millisecond)
		}
		poll.Requests += attempts
		flow.Requests += 1 + attempts
	}
	poll.Classes[metrics.OK] = poll.Requests
	flow.Iterations = int64(done)
	return metrics.Snapshot{Seq: seq, Start: s, End: e, Endpoints: []metrics.Endpoint{post, poll}, Iterations: int64(done),
		Due: int64(n), Lag: metrics.NewSketch(), Flows: []metrics.Flow{flow}}
}

// The backlog trap in a capacity search: an objective on the requests
// holds at every rate (the POST answers at once, the polls in 1 ms), yet
// past the consumer's 20/s the orders' iterations finish fewer than fall
// due — the search holds finished iterations against the due ones, so it
// finds the rate the whole pipeline sustains with any objective, as one
// on the flow does.
func TestSearchOnAFlowObjectiveFindsThePipelinesRate(t *testing.T) {
	for _, tc := range []struct {
		slo  string
		want float64
	}{
		{"p99<100ms", 20},          // the requests' objective holds; the iterations pile up
		{"flow[order].p99<1s", 20}, // the consumer's capacity
		{"flow[order].p99<2s", 20}, // a backlog grows at any rate past it
	} {
		t.Run(tc.slo, func(t *testing.T) {
			clock := newClock()
			q := &queueSession{capacity: 20, job: 50 * time.Millisecond, clock: clock, start: clock.Now()}
			res, err := capacity.Search(context.Background(), q, capacity.Options{SLO: slo(t, tc.slo), Start: 5, Max: 160, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			if !within(res.MaxRate, tc.want, 0.10) {
				t.Errorf("max rate %v; want %v ± 10%%\n%s", res.MaxRate, tc.want, steps(res))
			}
			if !within(res.PlateauIPS, 20, 0.05) || res.RequestsPerIteration <= 1 {
				t.Errorf("plateau %v iterations/s, %v requests per iteration; want the consumer's 20/s, several requests each", res.PlateauIPS, res.RequestsPerIteration)
			}
		})
	}
	// A flow the run does not have fails every step, saying so.
	clock := newClock()
	q := &queueSession{capacity: 20, job: 50 * time.Millisecond, clock: clock, start: clock.Now()}
	res, err := capacity.Search(context.Background(), q, capacity.Options{SLO: slo(t, "flow[ordr].p99<1s"), Start: 5, Max: 160, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) == 0 || res.Steps[0].OK || !strings.Contains(strings.Join(res.Steps[0].Failed, " "), `no flow named "ordr"`) {
		t.Errorf("steps %s; want the first failing, naming the flow", steps(res))
	}
	// A consumer that never completes an order: no flow finishes, so the
	// objective fails, saying why, rather than passing on no value.
	clock = newClock()
	q = &queueSession{capacity: 0, job: 50 * time.Millisecond, clock: clock, start: clock.Now()}
	res, err = capacity.Search(context.Background(), q, capacity.Options{SLO: slo(t, "flow[order].p99<1s"), Start: 5, Max: 160, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) == 0 || res.Steps[0].OK || !strings.Contains(strings.Join(res.Steps[0].Failed, " "), `no iteration of flow "order" finished`) {
		t.Errorf("steps %s; want the first failing: no order finished", steps(res))
	}
}

func steps(res *capacity.Result) string {
	var b strings.Builder
	for _, s := range res.Steps {
		b.WriteString(s.Phase + " " + strings.Join(s.Failed, "; ") + "\n")
	}
	return b.String()
}
