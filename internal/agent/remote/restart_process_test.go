//go:build agents

package remote_test

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A server killed mid-run of a run on agents (SIGKILL: no graceful stop,
// nothing written at the end) leaves the run `interrupted` with the
// intervals it had stored, once a server opens its data again; the
// agents stop their shares when their streams break, come back to the
// new server and are told the run is over.
func TestServerKilledMidAgentRunLeavesItInterrupted(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	data := t.TempDir()
	srv := startServerOn(t, "127.0.0.1:0", data)
	a1, a2 := srv.startAgent(t, "lg-1"), srv.startAgent(t, "lg-2")
	srv.waitIdle(t, "lg-1", "lg-2")
	rate, d := 100.0, time.Minute
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL(), Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	id := srv.startRun(t, p, 2, nil)
	waitFor(t, 10*time.Second, "the run stored no interval", func() bool {
		var sum summary
		srv.api(t, "GET", "/api/v1/runs/"+id+"/summary", nil, &sum)
		return sum.Totals.Requests >= 200
	})
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	// The agents' streams broke: they stop their shares at once. Nothing
	// reaches the target a moment later.
	time.Sleep(time.Second)
	sent := target.Count()
	time.Sleep(time.Second)
	if more := target.Count() - sent; more != 0 {
		t.Fatalf("the agents sent %d requests in the second after their server was killed and gone for 1 s", more)
	}

	again := startServerOn(t, strings.TrimPrefix(srv.url, "http://"), data)
	var run struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if code := again.api(t, "GET", "/api/v1/runs/"+id, nil, &run); code != http.StatusOK || run.Status != "interrupted" {
		t.Fatalf("GET the run after the restart: %d %+v, want it interrupted", code, run)
	}
	var sum summary
	if code := again.api(t, "GET", "/api/v1/runs/"+id+"/summary", nil, &sum); code != http.StatusOK {
		t.Fatalf("GET its summary: %d", code)
	}
	// Its data: every interval stored before the kill; what the agents did
	// in the interval under way (1 s at 100/s) never reached the store.
	if got := sum.Totals.Requests; got < 200 || got > sent || got < sent-250 {
		t.Errorf("the interrupted run counts %d requests; the target saw %d (at most the last interval and a bit, 100/s, may be missing)", got, sent)
	}
	again.waitIdle(t, "lg-1", "lg-2")
	for _, a := range []*proc{a1, a2} {
		if !strings.Contains(a.stderr.String(), "run "+id+" is over for this agent") {
			t.Errorf("an agent back on the new server was not told run %s is over:\n%s", id, a.stderr)
		}
	}
}
