package controller

import (
	"context"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A run's instants — its intervals, its events (a live change, a stop) and
// the clock its monitors read (Now) — are on its start's clock: when the host's wall
// clock is stepped after the start, their wall-clock distance from it (what
// is stored) is still the monotonic one (what the live summary measures).
func TestRunInstantsKeepTheStartsClockThroughAStep(t *testing.T) {
	const step = 15 * time.Millisecond
	target := testutil.StartTarget(t, testbed.Options{})
	vus, d := 1, 250*time.Millisecond
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL() + "/hello", Method: "GET"}, scenario.Overrides{VUs: &vus, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	c := New(p, Options{Interval: 100 * time.Millisecond})
	// The start is read before the wall clock is stepped 15 ms ahead.
	c.clock = func() time.Time { return testutil.Stepped(t, time.Now(), -step) }
	type ran struct {
		res *Result
		err error
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan ran, 1)
	go func() {
		res, err := c.Run(ctx)
		done <- ran{res, err}
	}()
	<-c.Started()
	time.Sleep(120 * time.Millisecond)
	c.Adjust(1)
	now := c.Now()
	stop() // a stop event
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	res := r.res
	same := func(what string, at time.Time) {
		t.Helper()
		if wall, mono := at.Round(0).Sub(res.Started.Round(0)), at.Sub(res.Started); wall != mono {
			t.Errorf("%s is %v after the start on the wall clock and %v on the monotonic one", what, wall, mono)
		}
	}
	same("Now", now)
	for _, s := range res.Timeline {
		same("an interval's end", s.End)
	}
	if len(res.Events) != 2 {
		t.Fatalf("events %+v, want the live change and the stop", res.Events)
	}
	for _, e := range res.Events {
		same("event "+e.Kind, e.At)
	}
}
