package workload_test

import (
	"testing"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// `if:` skips a step while its condition is false: buy only while the
// extracted stock is above zero, so a stock of 3 gets exactly 3 sales and
// no 409 in 5 iterations.
func TestIfSkipsAStep(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{})
	tb.SetStock("donut", 3)
	r := run(t, load(t, tb.URL(), `
target: TARGET
load: {vus: 1, iterations: 5}
flows:
  - steps:
      - name: stock
        get: /stock
        extract: {left: "json:donut", nothing: "json:no.such.field"}
        soft_checks: true
      - name: buy
        if: "left > 0"
        post: /sales
        json: {item: donut, qty: 1}
        check: {status: 201}
      - name: never
        if: "{{ left > 0 && nothing == 1 }}"
        get: /hello
`))
	if buy := r.endpoint(t, "buy"); buy.Requests != 3 || buy.Errors() != 0 {
		t.Errorf("buy: %d requests, %d errors; want 3 and 0", buy.Requests, buy.Errors())
	}
	if never := r.endpoint(t, "never"); never.Requests != 0 {
		t.Errorf("a step whose condition reads an unset variable was sent %d times", never.Requests)
	}
	if tb.Sales() != 3 || tb.Stock("donut") != 0 {
		t.Errorf("the target made %d sales, %d left", tb.Sales(), tb.Stock("donut"))
	}
	if got := tb.Count(); got != r.total() {
		t.Errorf("the target saw %d requests, Surge counted %d", got, r.total())
	}
}

// `repeat:` on a step and on a group, nested: every repetition is a
// request, counted once.
func TestRepeatStepsAndGroups(t *testing.T) {
	t.Parallel()
	tb := testutil.StartTarget(t, testbed.Options{})
	r := run(t, load(t, tb.URL(), `
target: TARGET
load: {vus: 2, iterations: 4}
flows:
  - steps:
      - {name: once, get: /hello}
      - {name: thrice, get: /hello, repeat: 3}
      - repeat: 2
        steps:
          - {name: pair a, get: /hello}
          - {name: pair b, get: /hello, repeat: 3}
          - if: "iteration < 0"
            steps:
              - {name: skipped, get: /hello}
`))
	for _, c := range []struct {
		name string
		want int64
	}{{"once", 4}, {"thrice", 12}, {"pair a", 8}, {"pair b", 24}, {"skipped", 0}} {
		if e := r.endpoint(t, c.name); e.Requests != c.want {
			t.Errorf("%s: %d requests, want %d", c.name, e.Requests, c.want)
		}
	}
	if got := tb.Count(); got != r.total() || got != 4+12+8+24 {
		t.Errorf("the target saw %d requests, Surge counted %d; want 48", got, r.total())
	}
}
