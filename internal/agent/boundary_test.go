package agent_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// No snapshot spans an interval's end, even when the segment ends right
// at one (a duration of whole intervals), where the engine's end and the
// interval timer race: the whole intervals go out as such, then the last,
// partial one. A snapshot spanning the end would merge, on the server,
// with the other agents' interval and end after the next one began. Many
// short runs side by side, so that the race goes both ways.
func TestNoSnapshotSpansAnIntervalEnd(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	const runs, interval = 40, 40 * time.Millisecond
	vus, d := 1, 2*interval
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL() + "/hello", Method: "GET"}, scenario.Overrides{VUs: &vus, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var snaps []metrics.Snapshot
			seg := agent.Segment{Plan: p, Start: time.Now().Add(20 * time.Millisecond), Interval: interval}
			if err := agent.NewLocal().Run(context.Background(), seg, func(s metrics.Snapshot) { snaps = append(snaps, s) }); err != nil {
				errs <- err
				return
			}
			for i, s := range snaps {
				switch {
				case s.Seq != i:
					errs <- fmt.Errorf("snapshot %d has Seq %d", i, s.Seq)
				case i > 0 && !s.Start.Equal(snaps[i-1].End):
					errs <- fmt.Errorf("snapshot %d starts %v after the previous one's end", i, s.Start.Sub(snaps[i-1].End))
				case s.Duration() > interval:
					errs <- fmt.Errorf("snapshot %d of %d lasts %v, more than the %v interval: it spans an interval's end", i, len(snaps), s.Duration(), interval)
				case i < len(snaps)-1 && s.Duration() != interval:
					errs <- fmt.Errorf("snapshot %d of %d lasts %v, not the %v interval", i, len(snaps), s.Duration(), interval)
				default:
					continue
				}
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d runs of 2 whole intervals", n, runs)
	}
}

// A segment's snapshots are timed on its start's clock: when the host's
// wall clock is stepped during the segment, their bounds still differ on
// the wall clock (what is sent and stored) by the time that passed, the
// last, partial interval's as well.
func TestSnapshotsKeepTheStartsClockThroughAStep(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	const interval, step = 100 * time.Millisecond, 15 * time.Millisecond
	vus, d := 1, 250*time.Millisecond // ends inside its third interval
	p, err := scenario.Quick(scenario.QuickRequest{URL: target.URL() + "/hello", Method: "GET"}, scenario.Overrides{VUs: &vus, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	// A start read before the wall clock was stepped 15 ms ahead.
	start := testutil.Stepped(t, time.Now().Add(20*time.Millisecond), -step)
	var snaps []metrics.Snapshot
	seg := agent.Segment{Plan: p, Start: start, Interval: interval}
	if err := agent.NewLocal().Run(context.Background(), seg, func(s metrics.Snapshot) { snaps = append(snaps, s) }); err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 3 {
		t.Fatalf("%d snapshots, want 3", len(snaps))
	}
	for i, s := range snaps {
		if wall, mono := s.End.Round(0).Sub(s.Start.Round(0)), s.Duration(); wall != mono {
			t.Errorf("snapshot %d lasts %v on the wall clock and %v on the monotonic one", i, wall, mono)
		}
	}
	if end := snaps[2].End.Round(0).Sub(start.Round(0)); end < d || end > d+interval/2 {
		t.Errorf("the segment ended %v after its start on the wall clock, want about %v", end, d)
	}
}
