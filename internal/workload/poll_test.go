package workload_test

import (
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// total is every request the snapshot counted, over all endpoints.
func (r result) total() int64 {
	var n int64
	for _, e := range r.snap.Endpoints {
		n += e.Requests
	}
	return n
}

const orderFlow = `
target: TARGET
load: {vus: VUS, iterations: ITERS}
flows:
  - name: order
    steps:
      - name: place
        post: /orders
        extract: {order: "json:id"}
        check: {status: 202}
      - name: wait for order
        get: /orders/{{order}}
        until: {json: {status: done}}
        every: EVERY
        within: WITHIN
        check: {status: 200}
`

func orderPlan(vus, iters, every, within string) string {
	return strings.NewReplacer("VUS", vus, "ITERS", iters, "EVERY", every, "WITHIN", within).Replace(orderFlow)
}

// Below the consumer's capacity every poll succeeds: each attempt is a
// request in the poll's endpoint row, and the target saw exactly what was
// counted.
func TestPollSucceedsBelowCapacity(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: 20 * time.Millisecond}})
	r := run(t, load(t, tb.URL(), orderPlan("1", "10", "5ms", "2s")))
	if r.err != nil {
		t.Fatal(r.err)
	}
	place, wait := r.endpoint(t, "place"), r.endpoint(t, "wait for order")
	if place.Requests != 10 || place.Errors() != 0 {
		t.Errorf("place: %d requests, %d errors; want 10, 0", place.Requests, place.Errors())
	}
	// One VU, one order at a time: each is done 20ms after it was placed,
	// found within one 5ms pause of it: about 5 attempts each (fewer when
	// requests are slow, never more than 20ms/5ms + 2).
	if wait.Requests < 10*2 || wait.Requests > 10*6 || wait.Errors() != 0 {
		t.Errorf("wait for order: %d attempts for 10 orders, %d errors; want 20 to 60, none", wait.Requests, wait.Errors())
	}
	if got := tb.Count(); got != r.total() {
		t.Errorf("the target saw %d requests, Surge counted %d", got, r.total())
	}
	r.wantCheck(t, `wait for order: until json status == "done" within 2s`, 10, 0)
	r.wantCheck(t, "wait for order: status 200", 10, 0)
}

// Past within the step fails with class poll_timeout: the last attempt
// carries the class, the attempts before it are fine requests.
func TestPollTimesOut(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{Orders: testbed.OrderOptions{Job: time.Minute}})
	start := time.Now()
	r := run(t, load(t, tb.URL(), orderPlan("1", "3", "20ms", "100ms")))
	took := time.Since(start)
	if r.err != nil {
		t.Fatal(r.err)
	}
	wait := r.endpoint(t, "wait for order")
	if wait.Classes[metrics.PollTimeout] != 3 || wait.Errors() != 3 {
		t.Errorf("wait for order: %d poll timeouts, %d errors; want 3 and 3 (classes %v)", wait.Classes[metrics.PollTimeout], wait.Errors(), wait.Classes)
	}
	// 100ms with 20ms pauses: 5 attempts per poll, at 0, 20, 40, 60 and
	// 80ms (fewer when attempts are slow, never more than 6).
	if wait.Requests < 3*2 || wait.Requests > 3*6 {
		t.Errorf("%d attempts in 3 polls of 100ms every 20ms; want 6 to 18", wait.Requests)
	}
	if took < 3*80*time.Millisecond || took > 10*time.Second {
		t.Errorf("3 polls of 100ms took %v", took)
	}
	if got := tb.Count(); got != r.total() {
		t.Errorf("the target saw %d requests, Surge counted %d", got, r.total())
	}
	r.wantCheck(t, `wait for order: until json status == "done" within 100ms`, 0, 3)
	found := false
	for m, n := range r.snap.Messages {
		if strings.HasPrefix(m, "poll_timeout: wait for order: until json status == \"done\" within 100ms did not hold after ") && n >= 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no poll_timeout message in %v", r.snap.Messages)
	}
}

// How a poll's attempts are classed: while waiting, by their status alone
// (a status the step's check accepts is no error); the last, timed-out
// attempt is poll_timeout unless its status is an error already.
func TestPollAttemptClasses(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{})
	tests := []struct {
		name, check          string
		want4xx, wantTimeout int64
	}{
		{name: "a 404 while waiting is an error", check: "", want4xx: -1, wantTimeout: 0},
		{name: "a 404 the check accepts is not", check: "check: {status: [200, 404]}", want4xx: 0, wantTimeout: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 1}
flows:
  - steps:
      - name: appears
        get: /orders/999999
        until: {status: 200}
        every: 10ms
        within: 250ms
        `+tt.check+`
`))
			e := r.endpoint(t, "appears")
			if e.Requests < 2 {
				t.Fatalf("%d attempts", e.Requests)
			}
			want4xx := tt.want4xx
			if want4xx < 0 {
				want4xx = e.Requests // every attempt
			}
			if e.Classes[metrics.Status4xx] != want4xx || e.Classes[metrics.PollTimeout] != tt.wantTimeout || e.Errors() != want4xx+tt.wantTimeout {
				t.Errorf("%d attempts: classes %v; want %d status_4xx, %d poll_timeout", e.Requests, e.Classes, want4xx, tt.wantTimeout)
			}
		})
	}
}
