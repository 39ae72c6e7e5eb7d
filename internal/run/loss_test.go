package run_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
)

// dying is an agent that sends n intervals of reqs requests, then is lost
// (or, when hold is set, waits for the run's end).
type dying struct {
	name string
	n    int
	reqs int64
	hold bool
}

func (d *dying) Name() string   { return d.name }
func (d *dying) Adjust(float64) {}
func (d *dying) Run(ctx context.Context, seg agent.Segment, emit func(metrics.Snapshot)) error {
	for i := range d.n {
		ep := metrics.Endpoint{Name: "GET /", Method: "GET", Requests: d.reqs, Latency: metrics.NewSketch()}
		ep.Classes[metrics.OK] = d.reqs
		start := seg.Start.Add(time.Duration(i) * seg.Interval)
		emit(metrics.Snapshot{Seq: i, Start: start, End: start.Add(seg.Interval), Endpoints: []metrics.Endpoint{ep}})
	}
	if d.hold {
		<-ctx.Done()
		return nil
	}
	return fmt.Errorf("silent for 3 intervals: %w", agent.ErrLost)
}

func lossPlan() scenario.Plan {
	return scenario.Plan{Load: scenario.Load{Model: engine.Open, Rate: 10, Duration: time.Minute}}
}

// A session whose agents are all lost ends with an error that says so
// (the server marks the run failed) and keeps their data, and its summary
// says failed.
func TestSessionAllAgentsLost(t *testing.T) {
	s := run.New(lossPlan(), run.Options{Agents: []agent.Agent{&dying{name: "a", n: 2, reqs: 3}, &dying{name: "b", n: 1, reqs: 4}},
		Interval: 50 * time.Millisecond})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait()
	if !errors.Is(err, controller.ErrAllAgentsLost) {
		t.Fatalf("Wait: %v, want ErrAllAgentsLost", err)
	}
	if res == nil || res.Total.Totals().Requests != 10 {
		t.Fatalf("result %+v: want the 10 requests the agents sent", res)
	}
	sum := s.Summary("r", res, 1)
	if sum.Run.Status != "failed" || len(sum.Agents) != 2 || !sum.Agents[0].Lost || !sum.Agents[1].Lost {
		t.Fatalf("summary status %q, agents %+v", sum.Run.Status, sum.Agents)
	}
}

// The session passes its loss policy on: with abort, the loss of one of
// two agents stops the run, and Wait's error names it.
func TestSessionPassesTheLossPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy  controller.LossPolicy
		wantErr bool
	}{
		{controller.LossAbort, true},
		{controller.LossRebalance, false},
		{"", false},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			s := run.New(lossPlan(), run.Options{Agents: []agent.Agent{&dying{name: "keeper", n: 1, reqs: 1, hold: true}, &dying{name: "goner", n: 1, reqs: 1}},
				Interval: 50 * time.Millisecond, OnAgentLoss: tc.policy})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if !tc.wantErr {
				// The run goes on without the lost agent, until stopped.
				deadline := time.Now().Add(5 * time.Second)
				for len(s.Events()) == 0 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				select {
				case <-s.Done():
					t.Fatal("the run ended at the loss")
				case <-time.After(50 * time.Millisecond):
				}
				s.Stop(errors.New("test over"))
			}
			res, err := s.Wait()
			if tc.wantErr != (err != nil) || (err != nil && !strings.Contains(err.Error(), "goner")) {
				t.Fatalf("Wait: %v", err)
			}
			if ev := res.Events[0]; ev.Kind != controller.EventAgentLost || ev.Detail != "goner" {
				t.Fatalf("first event %+v", ev)
			}
			if tc.wantErr && (s.Stopped() == nil || !strings.Contains(s.Stopped().Error(), "goner")) {
				t.Fatalf("Stopped() = %v", s.Stopped())
			}
		})
	}
}
