package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A sink that blocks does not stall the merge: the run's intervals are
// merged and visible while the sink still waits on the first, and it gets
// every one of them, in order, before Run returns.
func TestSlowSinkDoesNotStallTheMerge(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/hello"}, scenario.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	plan.Load = scenario.Load{Model: engine.Open, Rate: 50, Duration: 1200 * time.Millisecond}
	release := make(chan struct{})
	var got []int
	slow := sink.Func(func(_ context.Context, s metrics.Snapshot) error {
		<-release
		got = append(got, s.Seq)
		return nil
	})
	c := controller.New(plan, controller.Options{Sink: slow, Interval: 200 * time.Millisecond})
	done := make(chan *controller.Result, 1)
	go func() {
		res, err := c.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if live, _ := c.Live(); len(live) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the merge stalled behind a blocked sink")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	res := <-done
	if len(got) != len(res.Timeline) {
		t.Fatalf("sink got %d intervals, the run had %d", len(got), len(res.Timeline))
	}
	for i, seq := range got {
		if seq != res.Timeline[i].Seq {
			t.Fatalf("sink got %v out of order", got)
		}
	}
}
