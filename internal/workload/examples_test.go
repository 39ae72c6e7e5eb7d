package workload_test

import (
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// loadExample loads examples/NAME against the testbed, as
// `surge run examples/NAME -u URL --requests N` would, and drops its think
// steps so the test takes milliseconds.
func loadExample(t *testing.T, name string, tb *testbed.Server, o scenario.Overrides) scenario.Plan {
	t.Helper()
	target := tb.URL()
	o.Target = &target
	p, err := scenario.LoadFile("../../examples/"+name, scenario.Options{
		Getenv:    func(k string) string { return map[string]string{"PASSWORD": testbed.Password}[k] },
		Overrides: o,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Flows {
		var steps []scenario.Step
		for _, s := range p.Flows[i].Steps {
			if !s.IsThink() {
				steps = append(steps, s)
			}
		}
		p.Flows[i].Steps = steps
	}
	return p
}

func TestExampleLoginThenBrowse(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	n := int64(50)
	r := run(t, loadExample(t, "login-then-browse.yaml", tb, scenario.Overrides{Iterations: &n}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, e := range r.snap.Endpoints {
		if e.Errors() != 0 || e.Requests != tb.CountPath(map[string]string{"login": "/login", "list todos": "/todos", "me": "/me"}[e.Name]) {
			t.Errorf("%s: %d requests (testbed %d), %d errors", e.Name, e.Requests, tb.CountPath("/"+e.Name), e.Errors())
		}
	}
	for _, c := range r.snap.Checks {
		if c.Fails != 0 || c.Passes == 0 {
			t.Errorf("check %s: %d passed, %d failed", c.Name, c.Passes, c.Fails)
		}
	}
	if len(tb.Logins()) == 0 || len(tb.Logins()) > 10 {
		t.Errorf("logins %v: one per VU, at most 10", tb.Logins())
	}
}

func TestExampleShopStockRunsOut(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	tb.SetStock("donut", 6)
	n, rate := int64(150), 1000.0
	r := run(t, loadExample(t, "shop.yaml", tb, scenario.Overrides{Iterations: &n, Rate: &rate}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	buy := r.endpoint(t, "buy")
	passes, fails := r.check(t, "buy: status 201")
	if tb.Stock("donut") > 2 || fails == 0 || passes != int64(tb.Sales()) {
		t.Errorf("stock left %d, sales %d; buy status check %d passed, %d failed", tb.Stock("donut"), tb.Sales(), passes, fails)
	}
	// A 409 is an error of its own class (status_4xx): a failed status
	// check does not hide it behind check_failed.
	if buy.Classes[metrics.Status4xx] != fails || buy.Classes[metrics.OK] != passes || buy.Requests != passes+fails {
		t.Errorf("buy classes %v: want %d ok and %d status_4xx", buy.Classes, passes, fails)
	}
	// Sold out or not, the answer says how many donuts remain.
	r.wantCheck(t, "buy: extract remaining", passes+fails, 0)
	if browse := r.endpoint(t, "products"); browse.Requests == 0 || browse.Errors() != 0 ||
		browse.Requests+buy.Requests != n {
		t.Errorf("products %d requests, %d errors; buy %d: want %d iterations in all", browse.Requests, browse.Errors(), buy.Requests, n)
	}
}

func TestExampleCSVUsers(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	n := int64(40)
	r := run(t, loadExample(t, "csv-users.yaml", tb, scenario.Overrides{Iterations: &n}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	logins := tb.Logins()
	if len(logins) == 0 || len(logins) > 5 {
		t.Errorf("logins %v: one row per VU", logins)
	}
	for u, c := range logins {
		if c != 1 || !strings.HasPrefix(u, "customer") {
			t.Errorf("user %q logged in %d times", u, c)
		}
	}
	for _, e := range r.snap.Endpoints {
		if e.Errors() != 0 {
			t.Errorf("%s: %d errors: %v", e.Name, e.Errors(), r.snap.Messages)
		}
	}
	r.wantCheck(t, "login: json token_type == \"bearer\"", int64(len(logins)), 0)
}
