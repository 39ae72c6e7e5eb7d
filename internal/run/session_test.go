package run_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func quickPlan(t *testing.T, url string, o scenario.Overrides) scenario.Plan {
	t.Helper()
	p, err := scenario.Quick(scenario.QuickRequest{URL: url, Method: "GET"}, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// collect is a sink that keeps what it consumed and whether it was closed.
type collect struct {
	mu     sync.Mutex
	seqs   []int
	closed int
}

func (c *collect) Consume(_ context.Context, s metrics.Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seqs = append(c.seqs, s.Seq)
	return nil
}

func (c *collect) Close(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed++
	return nil
}

var _ sink.Sink = (*collect)(nil)

// A session runs its plan to the end on one in-process agent, feeds every
// sink (nil ones are skipped) and closes them before Wait returns.
func TestSessionRunsToTheEnd(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate, n := 200.0, int64(60)
	plan := quickPlan(t, tb.URL()+"/api/items", scenario.Overrides{Rate: &rate, Iterations: &n})
	k := &collect{}
	s := run.New(plan, run.Options{Sinks: []sink.Sink{nil, k}, Interval: 100 * time.Millisecond})
	if _, err := s.Wait(); !errors.Is(err, run.ErrNotStarted) {
		t.Errorf("Wait before Start: %v, want ErrNotStarted", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); !errors.Is(err, run.ErrStarted) {
		t.Errorf("second Start: %v, want ErrStarted", err)
	}
	res, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done is open after Wait returned")
	}
	if res.Stopped != nil || res.Total.Totals().Requests != n || tb.Count() != n {
		t.Errorf("stopped %v, %d requests measured, %d received, want %d", res.Stopped, res.Total.Totals().Requests, tb.Count(), n)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed != 1 || len(k.seqs) != len(res.Timeline) {
		t.Errorf("sink: closed %d times, %d snapshots of %d", k.closed, len(k.seqs), len(res.Timeline))
	}
	live, start := s.Live()
	if len(live) != len(res.Timeline) || !start.Equal(res.Started) {
		t.Errorf("Live: %d snapshots from %v; result: %d from %v", len(live), start, len(res.Timeline), res.Started)
	}
}

var errFromTest = errors.New("stopped by the test")

// Stop is graceful and names the cause; only the first cause counts. A
// cancelled parent context stops the run with its own cause.
func TestSessionStopCauses(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate, d := 50.0, 20*time.Second
	plan := quickPlan(t, tb.URL()+"/api/items", scenario.Overrides{Rate: &rate, Duration: &d})
	errParent := errors.New("the parent went away")
	for _, tc := range []struct {
		name string
		stop func(s *run.Session, cancel context.CancelCauseFunc)
		want error
	}{
		{"stop", func(s *run.Session, _ context.CancelCauseFunc) { s.Stop(errFromTest); s.Stop(errParent) }, errFromTest},
		{"parent", func(_ *run.Session, cancel context.CancelCauseFunc) { cancel(errParent) }, errParent},
		{"nil cause", func(s *run.Session, _ context.CancelCauseFunc) { s.Stop(nil) }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			s := run.New(plan, run.Options{Interval: 100 * time.Millisecond})
			s.Stop(errParent) // before Start: does nothing
			before := tb.Count()
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return tb.Count() > before })
			tc.stop(s, cancel)
			res, err := s.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(res.Stopped, tc.want) {
				t.Errorf("Stopped = %v, want %v", res.Stopped, tc.want)
			}
			if res.Ended.Sub(res.Started) > 10*time.Second {
				t.Errorf("ran %v after the stop", res.Ended.Sub(res.Started))
			}
			if got := tb.Count() - before; got != res.Total.Totals().Requests {
				t.Errorf("measured %d requests, the target received %d", res.Total.Totals().Requests, got)
			}
			ev := s.Events()
			if len(ev) != 1 || ev[0].Kind != controller.EventStop || ev[0].Detail != tc.want.Error() {
				t.Errorf("events: %+v, want one stop saying %q", ev, tc.want)
			}
		})
	}
}

// fakeAgent records the adjustments it is given and runs until stopped.
type fakeAgent struct {
	name string
	mu   sync.Mutex
	got  []float64
}

func (a *fakeAgent) Name() string { return a.name }

func (a *fakeAgent) Adjust(v float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, v)
}

func (a *fakeAgent) Run(ctx context.Context, seg agent.Segment, emit func(metrics.Snapshot)) error {
	<-ctx.Done()
	emit(metrics.Snapshot{Seq: 0, Start: seg.Start, End: time.Now()})
	return nil
}

// Adjust reaches every agent with its share (the closed model splits VUs
// exactly) and is recorded as an event.
func TestSessionAdjustSplitsAcrossAgents(t *testing.T) {
	vus, d := 4, time.Minute
	plan := quickPlan(t, "http://127.0.0.1:1/", scenario.Overrides{VUs: &vus, Duration: &d})
	a, b := &fakeAgent{name: "a"}, &fakeAgent{name: "b"}
	s := run.New(plan, run.Options{Agents: []agent.Agent{a, b}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Adjust(7)
	s.Stop(errFromTest)
	if _, err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(a.got) != 1 || len(b.got) != 1 || a.got[0]+b.got[0] != 7 {
		t.Errorf("agents got %v and %v, want shares of 7", a.got, b.got)
	}
	ev := s.Events()
	if len(ev) != 2 || ev[0].Kind != controller.EventVUs || ev[0].Value != 7 || ev[1].Kind != controller.EventStop {
		t.Errorf("events: %+v", ev)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
