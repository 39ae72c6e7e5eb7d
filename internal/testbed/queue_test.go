package testbed

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/promtext"
)

const ms = time.Millisecond

// The consumer's schedule, on explicit times: one job per Job, in order;
// a job that would wait more than MaxWait is dead-lettered when reached.
func TestOrderQueueSchedule(t *testing.T) {
	t.Parallel()
	type want struct {
		at     time.Duration
		status []string // of orders 1…n
		depth  int64
		dead   int64
	}
	tests := []struct {
		name   string
		opts   OrderOptions
		placed []time.Duration // when each order is placed
		want   []want
	}{
		{
			name: "below capacity: each done Job after it was placed", opts: OrderOptions{Job: 20 * ms},
			placed: []time.Duration{0, 100 * ms, 200 * ms},
			want: []want{
				{at: 19 * ms, status: []string{"queued"}},
				{at: 20 * ms, status: []string{"done"}},
				{at: 119 * ms, status: []string{"done", "queued"}},
				{at: 220 * ms, status: []string{"done", "done", "done"}},
			},
		},
		{
			name: "a burst queues behind the consumer", opts: OrderOptions{Job: 20 * ms},
			placed: []time.Duration{0, 0, 0, 0},
			want: []want{
				{at: 0, status: []string{"queued", "queued", "queued", "queued"}, depth: 3},
				{at: 20 * ms, status: []string{"done", "queued", "queued", "queued"}, depth: 2},
				{at: 59 * ms, status: []string{"done", "done", "queued", "queued"}, depth: 1},
				{at: 80 * ms, status: []string{"done", "done", "done", "done"}},
			},
		},
		{
			name: "waiting past MaxWait goes to the dead-letter queue", opts: OrderOptions{Job: 100 * ms, MaxWait: 150 * ms},
			placed: []time.Duration{0, 0, 0, 0, 250 * ms},
			// 1 runs 0–100, 2 waits 100 and runs 100–200, 3 and 4 would
			// wait 200: dead when reached at 200; 5 finds the consumer
			// free at 250.
			want: []want{
				{at: 150 * ms, status: []string{"done", "queued", "queued", "queued"}, depth: 2},
				{at: 200 * ms, status: []string{"done", "done", "dead", "dead"}, dead: 2},
				{at: 349 * ms, status: []string{"done", "done", "dead", "dead", "queued"}, dead: 2},
				{at: 350 * ms, status: []string{"done", "done", "dead", "dead", "done"}, dead: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q orders
			q.lock(tt.opts)
			defer q.mu.Unlock()
			placed := 0
			for _, w := range tt.want {
				for placed < len(tt.placed) && tt.placed[placed] <= w.at {
					if _, ok := q.place(tt.placed[placed]); !ok {
						t.Fatalf("order %d refused", placed+1)
					}
					placed++
				}
				q.advance(w.at)
				var got []string
				for id := int64(1); id <= int64(len(w.status)); id++ {
					got = append(got, q.status(&q.ring[id], w.at))
				}
				if fmt.Sprint(got) != fmt.Sprint(w.status) || q.next-q.head != w.depth || q.dead != w.dead {
					t.Errorf("at %v: statuses %v, depth %d, dead %d; want %v, %d, %d", w.at, got, q.next-q.head, q.dead, w.status, w.depth, w.dead)
				}
			}
		})
	}
}

func TestOrderQueueIsBounded(t *testing.T) {
	t.Parallel()
	var q orders
	q.lock(OrderOptions{Job: time.Hour, Queue: 3})
	defer q.mu.Unlock()
	// The first is taken at once; three wait; the fifth finds the queue full.
	for i := range 4 {
		if _, ok := q.place(0); !ok {
			t.Fatalf("order %d refused with room in the queue", i+1)
		}
	}
	if _, ok := q.place(0); ok || q.rejected != 1 || q.accepted != 4 {
		t.Fatalf("a fifth order in a full queue: accepted %d, rejected %d", q.accepted, q.rejected)
	}
	// The history is a ring: an order OrderHistory ids old is forgotten,
	// and a million orders hold no more memory than the ring.
	var h orders
	h.lock(OrderOptions{Job: time.Nanosecond})
	defer h.mu.Unlock()
	for i := range OrderHistory + 10 {
		h.place(time.Duration(i) * time.Microsecond)
	}
	if len(h.ring) != OrderHistory || h.ring[1%OrderHistory].id != OrderHistory+1 {
		t.Errorf("ring of %d; slot 1 holds order %d, want %d", len(h.ring), h.ring[1].id, OrderHistory+1)
	}
}

func orderCall(t *testing.T, method, url string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func scrapeOrders(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		var name string
		var v float64
		if strings.HasPrefix(line, "testbed_orders_") {
			if _, err := fmt.Sscan(line, &name, &v); err == nil {
				out[name] = v
			}
		}
	}
	return out
}

// Over HTTP: the POST answers 202 at once, the order is done about Job
// later, and /metrics shows the queue.
func TestOrdersOverHTTP(t *testing.T) {
	t.Parallel()
	s, err := Start("127.0.0.1:0", Options{Orders: OrderOptions{Job: 30 * ms, MaxWait: 10 * time.Second, Queue: 50}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m := scrapeOrders(t, s.URL()); m["testbed_orders_queue_depth"] != 0 || m["testbed_orders_queue_capacity"] != 50 {
		t.Fatalf("idle queue: %v", m)
	}
	start := time.Now()
	st, body, h := orderCall(t, "POST", s.URL()+"/orders")
	if st != 202 || body["status"] != "queued" || h.Get("Location") != fmt.Sprintf("/orders/%v", body["id"]) {
		t.Fatalf("POST /orders: %d %v %v", st, body, h)
	}
	if took := time.Since(start); took > 25*ms {
		t.Logf("POST took %v (a busy machine)", took)
	}
	id := body["id"]
	for {
		st, body, _ = orderCall(t, "GET", fmt.Sprintf("%s/orders/%v", s.URL(), id))
		if st != 200 {
			t.Fatalf("GET /orders/%v: %d %v", id, st, body)
		}
		if body["status"] == "done" {
			break
		}
		if body["status"] != "queued" || time.Since(start) > 5*time.Second {
			t.Fatalf("GET /orders/%v after %v: %v", id, time.Since(start), body)
		}
		time.Sleep(2 * ms)
	}
	if took := time.Since(start); took < 30*ms {
		t.Errorf("done after %v, before the consumer's 30ms job", took)
	}
	// A burst: the POSTs are all accepted at once, the queue holds them.
	for range 10 {
		if st, _, _ := orderCall(t, "POST", s.URL()+"/orders"); st != 202 {
			t.Fatalf("POST /orders: %d", st)
		}
	}
	m := scrapeOrders(t, s.URL())
	if m["testbed_orders_accepted_total"] != 11 || m["testbed_orders_queue_depth"] < 5 || m["testbed_orders_dead_letter_total"] != 0 {
		t.Errorf("after a burst of 10 behind a 30ms consumer: %v", m)
	}
	if got := m["testbed_orders_accepted_total"] - m["testbed_orders_done_total"] - m["testbed_orders_queue_depth"]; got < 0 || got > 1 {
		t.Errorf("accepted − done − queued = %v: want 0, or 1 for the job being worked on: %v", got, m)
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/orders/999", 404}, {"GET", "/orders/abc", 404}, {"GET", "/orders/0", 404},
		{"DELETE", "/orders/1", 405}, {"GET", "/orders", 405}, {"POST", "/ordersx", 404},
	} {
		if st, _, _ := orderCall(t, c.method, s.URL()+c.path); st != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, st, c.want)
		}
	}
	if err := promtext.Write(io.Discard, s.Families()); err != nil {
		t.Errorf("families: %v", err)
	}
}
