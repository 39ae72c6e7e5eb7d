//go:build agents

package remote

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// One registry takes 100 agents, and one run on all of them counts every
// request once: the transport at the scale a server must take.
func TestHundredAgentsOneRun(t *testing.T) {
	const n = 100
	srv := startServer(t, RegistryOptions{})
	for i := range n {
		startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: fmt.Sprintf("a%03d", i)})
	}
	waitIdle(t, srv.reg, n)
	as, err := srv.reg.Acquire("run-100", n, nil)
	if err != nil {
		t.Fatal(err)
	}
	agents := make([]agent.Agent, n)
	for i, a := range as {
		agents[i] = a
	}
	target := testutil.StartTarget(t, testbed.Options{})
	rate, d := 400.0, 3*time.Second
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	res, err := controller.New(p, controller.Options{Agents: agents}).Run(context.Background())
	if err != nil {
		t.Fatalf("run on %d agents: %v", n, err)
	}
	total := res.Total.Totals()
	if got := target.Count(); total.Requests != got || got < 1188 || got > 1212 {
		t.Errorf("%d agents: the run counts %d requests, the target saw %d; want them equal and 1200 (400/s for 3 s) within 1 %%", n, total.Requests, got)
	}
	if len(res.Timeline) < 3 {
		t.Errorf("%d merged intervals, want at least 3", len(res.Timeline))
	}
	t.Logf("%d agents, %d requests, %d intervals, run took %v", n, total.Requests, len(res.Timeline), time.Since(began).Round(time.Millisecond))
}
