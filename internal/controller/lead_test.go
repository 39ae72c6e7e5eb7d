package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// farAgent is an in-process agent behind a slow link: its segment takes
// half the round trip to reach it, as a remote agent's does, and it
// reports that round trip as a remote agent does (its clock handshake).
type farAgent struct {
	*agent.Local
	name string
	rtt  time.Duration

	called time.Time // when Run was called: the segment left the controller
}

func (a *farAgent) Name() string             { return a.name }
func (a *farAgent) RoundTrip() time.Duration { return a.rtt }

func (a *farAgent) Run(ctx context.Context, seg agent.Segment, emit func(metrics.Snapshot)) error {
	a.called = time.Now()
	select {
	case <-time.After(a.rtt / 2): // the segment on the wire
	case <-ctx.Done():
		return nil
	}
	return a.Local.Run(ctx, seg, emit)
}

// The common start is set far enough ahead for the slowest agent's link:
// an agent 400 ms away (a round trip across the world and back through a
// VPN) gets its segment before the start and starts its iterations on
// time, as one on loopback does. With a fixed 50 ms lead, its first 150 ms
// of iterations (60 of 120) would start late, by up to 150 ms.
func TestStartLeadCoversTheSlowestLink(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	rate, dur := 400.0, 300*time.Millisecond // 120 due
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL(), Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &dur})
	if err != nil {
		t.Fatal(err)
	}
	far := &farAgent{Local: agent.NewLocal(), name: "far", rtt: 400 * time.Millisecond}
	near := &farAgent{Local: agent.NewLocal(), name: "near", rtt: 100 * time.Microsecond}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := controller.New(plan, controller.Options{Agents: []agent.Agent{near, far}, Interval: 100 * time.Millisecond}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Run is called just after the start is set: up to 50 ms later on an
	// idle machine, more on a loaded one.
	if lead := res.Started.Sub(far.called); lead < 4*far.rtt-100*time.Millisecond || lead > 4*far.rtt+60*time.Millisecond {
		t.Errorf("start set %v ahead, want 50 ms + 4 round trips of the slowest agent (%v)", lead, 50*time.Millisecond+4*far.rtt)
	}
	for _, a := range res.Agents {
		if a.Iterations+a.Dropped != 60 {
			t.Errorf("agent %s: %d iterations + %d dropped, want its 60 due (half of 120)", a.Name, a.Iterations, a.Dropped)
		}
		// The generator's own lag on a loaded machine is a few ms, tens at
		// worst (50 ms seen with a dozen test binaries on 2 cores); a late
		// segment's is the 150 ms it came late.
		if a.StartLagP99 > 100*time.Millisecond {
			t.Errorf("agent %s (round trip %v): start lag p99 %v: it got its segment after the start", a.Name, map[string]time.Duration{"far": far.rtt, "near": near.rtt}[a.Name], a.StartLagP99)
		}
	}
}

// Agents in this process, or on loopback, start about 50 ms ahead; no
// round trip, however long an agent claims, sets the start more than
// 10 s ahead.
func TestStartLeadBounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rtt      time.Duration
		min, max time.Duration
	}{
		// Run is called just after the start is set: the lead it sees is a
		// hair shorter.
		{"loopback", 80 * time.Microsecond, 45 * time.Millisecond, 60 * time.Millisecond},
		{"absurd", time.Hour, 10*time.Second - 5*time.Millisecond, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := leadPlan(t)
			a := &farAgent{Local: agent.NewLocal(), name: "a", rtt: tc.rtt}
			// The agent returns at once: only the lead is measured.
			res, err := controller.New(plan, controller.Options{Agents: []agent.Agent{&instant{a}}}).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if lead := res.Started.Sub(a.called); lead < tc.min || lead > tc.max {
				t.Fatalf("start set %v ahead for a round trip of %v, want %v…%v", lead, tc.rtt, tc.min, tc.max)
			}
		})
	}
}

// instant is a far agent that takes its segment and returns at once.
type instant struct{ *farAgent }

func (a *instant) Run(context.Context, agent.Segment, func(metrics.Snapshot)) error {
	a.called = time.Now()
	return nil
}

// leadPlan is a valid plan that no agent of these tests runs.
func leadPlan(t *testing.T) scenario.Plan {
	t.Helper()
	vus, d := 1, time.Second
	p, err := scenario.Quick(scenario.QuickRequest{URL: "http://127.0.0.1:9/", Method: "GET"}, scenario.Overrides{VUs: &vus, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
