package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/agentpb"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
)

// Agent is a connected agent reserved for one run (Registry.Acquire): an
// agent.Agent whose segments run in the agent's process.
type Agent struct {
	c *conn
	j *job

	mu      sync.Mutex
	sent    bool     // the segment was sent: adjustments go straight out
	pending *float64 // an adjustment made before that
}

var _ agent.Agent = (*Agent)(nil)

// Name implements agent.Agent: the agent's --name.
func (a *Agent) Name() string { return a.c.name }

// Cores is the CPUs the agent said it may use.
func (a *Agent) Cores() int { return a.c.cores }

// RoundTrip is the network round trip to the agent: the least of its
// clock handshake's pings. The controller sets the common start that
// many round trips ahead, so the segment arrives before it.
func (a *Agent) RoundTrip() time.Duration {
	r := a.c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	return a.c.rtt
}

// Adjust implements agent.Agent. Before the segment is sent the value is
// kept and sent right after it; the agent applies it as an in-process
// agent would.
func (a *Agent) Adjust(v float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.sent {
		a.pending = &v
		return
	}
	a.c.enqueue(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Adjust{Adjust: &agentpb.Adjust{Run: a.j.run, Value: v}}})
}

// Run implements agent.Agent: it sends the segment, emits the agent's
// snapshots as they come, and returns when the agent says it is done. A
// cancelled ctx asks the agent to stop gracefully; Run still waits for
// its last snapshot. When the agent goes silent for LostAfter intervals
// (heartbeats or snapshot intervals, whichever are longer) or its stream
// breaks, Run returns an error wrapping agent.ErrLost, having emitted
// everything that arrived before.
func (a *Agent) Run(ctx context.Context, seg agent.Segment, emit func(metrics.Snapshot)) error {
	p := seg.Plan
	p.Monitors = nil // the server scrapes them; an agent never does
	// The plan travels whole: data rows, bodies read from files and the
	// {{env.*}} values it reads; at most scenario.MaxWirePlan of it.
	wire, err := scenario.ToWire(p)
	if err != nil {
		return err
	}
	r := a.c.reg
	r.mu.Lock()
	j := a.j
	if a.c.job != j {
		r.mu.Unlock()
		return fmt.Errorf("no longer reserved for run %s", j.run)
	}
	select {
	case <-j.lost:
		r.mu.Unlock()
		return j.lostErr
	default:
	}
	j.interval = seg.Interval
	if a.c.state == StateIdle {
		a.c.state = StateBusy
	}
	r.mu.Unlock()
	defer a.idle()

	m := &agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Segment{Segment: &agentpb.Segment{
		Run: j.run, PlanJson: wire.Plan, Env: wire.Env, StartUnixNano: seg.Start.UnixNano(),
		IntervalNanos: int64(seg.Interval), Index: int32(j.index), Count: int32(j.count)}}}
	a.mu.Lock()
	queued := a.c.enqueue(m)
	a.sent = true
	if a.pending != nil && queued {
		a.c.enqueue(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Adjust{Adjust: &agentpb.Adjust{Run: j.run, Value: *a.pending}}})
	}
	a.mu.Unlock()
	if !queued {
		return a.lost()
	}

	stop := ctx.Done()
	for {
		select {
		case m := <-j.in:
			if done, err := a.receive(m, emit); done {
				return err
			}
		case <-stop:
			stop = nil // once: then wait for the agent's last snapshot
			why := "stopped"
			if c := context.Cause(ctx); c != nil {
				why = c.Error()
			}
			a.c.enqueue(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Stop{Stop: &agentpb.Stop{Run: j.run, Reason: why}}})
		case <-j.lost:
			// What arrived before the loss is the run's data.
			for {
				select {
				case m := <-j.in:
					if done, err := a.receive(m, emit); done {
						return err
					}
				default:
					return j.lostErr
				}
			}
		}
	}
}

// receive emits a snapshot, or reports the agent's Done.
func (a *Agent) receive(m *agentpb.AgentMessage, emit func(metrics.Snapshot)) (done bool, err error) {
	switch m := m.GetMsg().(type) {
	case *agentpb.AgentMessage_Snapshot:
		s, err := metrics.DecodeSnapshot(m.Snapshot.GetData())
		if err != nil {
			// A snapshot that cannot be read is a broken agent: the run
			// cannot count what it sent.
			a.c.end(fmt.Errorf("decoding a snapshot: %w", err))
			return true, fmt.Errorf("decoding a snapshot: %w", err)
		}
		emit(s)
	case *agentpb.AgentMessage_Done:
		if m.Done.GetLeft() {
			return true, fmt.Errorf("the agent was shut down before its share ended: %w", agent.ErrLost)
		}
		if e := m.Done.GetError(); e != "" {
			return true, errors.New(e)
		}
		return true, nil
	}
	return false, nil
}

// lost returns the job's loss once the stream has ended (the registry
// closes the stream's done and the job's lost under one lock).
func (a *Agent) lost() error {
	select {
	case <-a.j.lost:
		return a.j.lostErr
	default:
		return fmt.Errorf("its stream ended: %w", agent.ErrLost)
	}
}

// idle marks the agent idle once Run has returned; it stays reserved
// for the run (which may run it again) until Release.
func (a *Agent) idle() {
	r := a.c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.c.job == a.j && a.c.state == StateBusy {
		a.c.state = StateIdle
	}
}

// release gives the agent back if it is still reserved for this run: a
// connected one becomes available to other runs.
func (a *Agent) release() {
	r := a.c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.c.job != a.j {
		return
	}
	a.c.job = nil
	if a.c.state == StateBusy {
		a.c.state = StateIdle
	}
}
