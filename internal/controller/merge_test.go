package controller_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/sink"
)

// A part of an interval that was already merged and sent on (an agent
// that repeats one, or sends it after the others had moved on) is not
// merged again: the timeline keeps one snapshot per interval, in order.
func TestLatePartIsNotMergedTwice(t *testing.T) {
	stepA := make(chan struct{})
	seqs := []int{0, 1, 1, 2} // a repeats interval 1 after it went out
	a := &fake{name: "a", n: len(seqs), reqs: 1, step: stepA}
	a.snap = func(i int) metrics.Snapshot {
		ep := metrics.Endpoint{Name: "GET /", Method: "GET", Requests: 1, Latency: metrics.NewSketch()}
		ep.Classes[metrics.OK] = 1
		return metrics.Snapshot{Seq: seqs[i], Endpoints: []metrics.Endpoint{ep}}
	}
	b := &fake{name: "b", n: 3, reqs: 1}
	c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{a, b}, Interval: 10 * time.Millisecond})
	wait := run(t, c)
	live := func() int { l, _ := c.Live(); return len(l) }
	stepA <- struct{}{}
	stepA <- struct{}{}
	if !waitFor(func() bool { return live() == 2 }) {
		t.Fatalf("%d intervals merged, want 2", live())
	}
	stepA <- struct{}{} // interval 1 again
	stepA <- struct{}{}
	res, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Timeline) != 3 {
		t.Fatalf("%d intervals, want 3", len(res.Timeline))
	}
	for i, s := range res.Timeline {
		if s.Seq != i || s.Totals().Requests != 2 {
			t.Fatalf("interval %d: seq %d, %d requests", i, s.Seq, s.Totals().Requests)
		}
	}
}

// A sink's failure is logged; a sink that works logs nothing, neither
// while it consumes nor when it is closed.
func TestSinkFailuresAreLogged(t *testing.T) {
	for _, fail := range []bool{false, true} {
		var mu sync.Mutex
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
		called := make(chan struct{}, 8)
		k := sink.Func(func(context.Context, metrics.Snapshot) error {
			called <- struct{}{}
			if fail {
				return errors.New("disk full")
			}
			return nil
		})
		b := &fake{name: "b", n: 2, reqs: 1, step: make(chan struct{})}
		c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{&fake{name: "a", n: 1, reqs: 1}, b},
			Interval: 10 * time.Millisecond, Sink: k, Logger: log})
		wait := run(t, c)
		b.step <- struct{}{}
		<-called                          // interval 0 reached the sink…
		time.Sleep(20 * time.Millisecond) // …and its error was kept: the next Consume returns it
		b.step <- struct{}{}
		if _, err := wait(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := buf.String()
		mu.Unlock()
		if fail != strings.Contains(got, "sink failed") || (fail && !strings.Contains(got, "disk full")) || (!fail && got != "") {
			t.Fatalf("sink failing %v: log %q", fail, got)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
