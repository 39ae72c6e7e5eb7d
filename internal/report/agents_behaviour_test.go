package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// scriptedAgent is an agent that sends the snapshots it is given, then returns
// (lost, if told).
type scriptedAgent struct {
	name  string
	snaps []metrics.Snapshot
	lost  bool
	cores int
}

func (a *scriptedAgent) Name() string   { return a.name }
func (a *scriptedAgent) Adjust(float64) {}
func (a *scriptedAgent) Cores() int     { return a.cores }
func (a *scriptedAgent) Run(_ context.Context, seg agent.Segment, emit func(metrics.Snapshot)) error {
	for i, s := range a.snaps {
		s.Seq = i
		s.Start = seg.Start.Add(time.Duration(i) * seg.Interval)
		s.End = s.Start.Add(seg.Interval)
		emit(s)
	}
	if a.lost {
		return fmt.Errorf("silent: %w", agent.ErrLost)
	}
	return nil
}

// agentInterval makes one agent's snapshot: reqs requests of 5 ms, reqs
// iterations due and started, each lag late, with cpu cores busy.
func agentInterval(reqs int, lag time.Duration, dropped int64, cpu float64) metrics.Snapshot {
	ep := metrics.Endpoint{Name: "GET /", Method: "GET", Requests: int64(reqs), Latency: metrics.NewSketch()}
	ep.Classes[metrics.OK] = int64(reqs)
	l := metrics.NewSketch()
	for range reqs {
		ep.Latency.Add(5 * time.Millisecond)
		l.Add(lag)
	}
	return metrics.Snapshot{Endpoints: []metrics.Endpoint{ep}, Iterations: int64(reqs), Due: int64(reqs) + dropped,
		Dropped: dropped, Lag: l, GeneratorCPU: cpu}
}

func runAgents(t *testing.T, agents ...agent.Agent) (*controller.Result, error) {
	t.Helper()
	plan := scenario.Plan{Load: scenario.Load{Model: engine.Open, Rate: 100, Duration: time.Minute}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return controller.New(plan, controller.Options{Agents: agents, Interval: 100 * time.Millisecond}).Run(ctx)
}

// One agent of ten starts its iterations 50 ms late: it started one of
// the run's 181, under 1 %, so the merged p99 stays at 1 ms and the merged
// snapshot alone says the generator kept up. The run is limited all the
// same, because that agent was.
func TestOneLaggingAgentLimitsTheRun(t *testing.T) {
	var agents []agent.Agent
	for i := range 10 {
		lag := time.Millisecond
		if i == 3 {
			lag = 50 * time.Millisecond
		}
		reqs := 20
		if i == 3 {
			reqs = 1 // late, so it started few: 1 of the run's 181
		}
		agents = append(agents, &scriptedAgent{name: fmt.Sprintf("a%d", i), snaps: []metrics.Snapshot{agentInterval(reqs, lag, 0, 0.1), agentInterval(0, lag, 0, 0.1)}, cores: 4})
	}
	res, err := runAgents(t, agents...)
	if err != nil {
		t.Fatal(err)
	}
	if p99 := res.Total.Lag.Quantile(0.99); p99 > 2*time.Millisecond {
		t.Fatalf("merged lag p99 %v: the test wants it to hide the lagging agent", p99)
	}
	s := report.Build("r", res, 4)
	if !s.Generator.Limited || !slices.Contains(s.Generator.Reasons, report.ReasonStartLag) {
		t.Fatalf("generator %+v: want limited by start lag (agent a3)", s.Generator)
	}
	if !slices.ContainsFunc(s.Generator.Warnings, func(w string) bool { return strings.Contains(w, "agent a3") }) {
		t.Fatalf("warnings %q name no agent a3", s.Generator.Warnings)
	}
	for i, a := range s.Agents {
		if a.Limited != (i == 3) || a.Name != fmt.Sprintf("a%d", i) {
			t.Fatalf("agent row %d: %+v", i, a)
		}
	}
	if s.Agents[3].StartLagP99 < 49 || s.Agents[3].StartLagP99 > 51 || !slices.Equal(s.Agents[3].Reasons, []string{report.ReasonStartLag}) {
		t.Fatalf("agent a3: %+v", s.Agents[3])
	}
	for i := range s.Thresholds {
		if !s.Thresholds[i].Limited {
			t.Fatal("a threshold is not marked limited")
		}
	}
}

// Dropped iterations of one agent reach the merged total, and the run is
// limited through it too.
func TestOneDroppingAgentLimitsTheRun(t *testing.T) {
	res, err := runAgents(t,
		&scriptedAgent{name: "ok", snaps: []metrics.Snapshot{agentInterval(10, 0, 0, 0.1)}},
		&scriptedAgent{name: "behind", snaps: []metrics.Snapshot{agentInterval(10, 0, 3, 0.1)}})
	if err != nil {
		t.Fatal(err)
	}
	s := report.Build("r", res, 4)
	if !s.Generator.Limited || !slices.Equal(s.Generator.Reasons, []string{report.ReasonDropped}) || s.Totals.DroppedIterations != 3 {
		t.Fatalf("generator %+v, dropped %d", s.Generator, s.Totals.DroppedIterations)
	}
	if s.Agents[0].Limited || !s.Agents[1].Limited || s.Agents[1].DroppedIterations != 3 {
		t.Fatalf("agents %+v", s.Agents)
	}
}

// On several agents the CPU is judged per agent against its own cores:
// four agents each at 0.6 of 1 core add up to 2.4, which is not this
// process's 2 cores busy; one agent at 0.95 of its 1 core is.
func TestCPUIsJudgedPerAgent(t *testing.T) {
	mk := func(cpu ...float64) []agent.Agent {
		var out []agent.Agent
		for i, c := range cpu {
			out = append(out, &scriptedAgent{name: fmt.Sprint(i), cores: 1, snaps: []metrics.Snapshot{agentInterval(5, 0, 0, c), agentInterval(5, 0, 0, c)}})
		}
		return out
	}
	res, err := runAgents(t, mk(0.6, 0.6, 0.6, 0.6)...)
	if err != nil {
		t.Fatal(err)
	}
	if s := report.Build("r", res, 2); s.Generator.Limited {
		t.Fatalf("four agents at 0.6 of 1 core: %+v", s.Generator)
	}
	res, err = runAgents(t, mk(0.2, 0.95, 0.2)...)
	if err != nil {
		t.Fatal(err)
	}
	s := report.Build("r", res, 2)
	if !s.Generator.Limited || !slices.Equal(s.Generator.Reasons, []string{report.ReasonCPU}) || !s.Agents[1].Limited || s.Agents[0].Limited {
		t.Fatalf("one agent at 0.95 of 1 core: %+v %+v", s.Generator, s.Agents)
	}
	if s.Agents[1].CPUMax != 0.95 {
		t.Fatalf("cpu_max_cores %v", s.Agents[1].CPUMax)
	}
}

// The summary's agents: absent for a local run (the one in-process agent),
// present on any other agent, with a lost agent's row and time; a run
// whose agents were all lost says failed.
func TestSummaryAgents(t *testing.T) {
	local := &controller.Result{Plan: scenario.Plan{Load: scenario.Load{Model: engine.Open}},
		Agents: []controller.AgentResult{{Name: "local", Local: true, Requests: 3}}}
	b, err := json.Marshal(report.Build("r", local, 1))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"agents"`) {
		t.Fatal("a local run's summary has agents")
	}
	res, err := runAgents(t,
		&scriptedAgent{name: "east", snaps: []metrics.Snapshot{agentInterval(4, 0, 0, 0.1)}},
		&scriptedAgent{name: "west", snaps: []metrics.Snapshot{agentInterval(6, 0, 0, 0.1)}, lost: true})
	if err != nil {
		t.Fatal(err)
	}
	s := report.Build("r", res, 2)
	b, err = json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Agents []map[string]any `json:"agents"`
		Run    struct{ Status string }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Agents) != 2 || doc.Agents[0]["name"] != "east" || doc.Agents[0]["requests"] != 4.0 || doc.Agents[0]["lost"] != false ||
		doc.Agents[1]["lost"] != true || doc.Agents[1]["requests"] != 6.0 || doc.Agents[1]["errors"] != 0.0 || doc.Agents[1]["limited"] != false {
		t.Fatalf("agents %v", doc.Agents)
	}
	if _, ok := doc.Agents[0]["lost_at"]; ok {
		t.Fatal("lost_at on an agent that was not lost")
	}
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(doc.Agents[1]["lost_at"])); err != nil || !at.Equal(res.Agents[1].LostAt) {
		t.Fatalf("lost_at %v: %v", doc.Agents[1]["lost_at"], err)
	}
	if doc.Run.Status != "finished" {
		t.Fatalf("status %q with one of two agents lost", doc.Run.Status)
	}
	one, err := runAgents(t, &scriptedAgent{name: "solo", snaps: []metrics.Snapshot{agentInterval(2, 0, 0, 0.1)}, lost: true})
	if err == nil {
		t.Fatal("a run whose one agent was lost did not fail")
	}
	if s := report.Build("r", one, 2); s.Run.Status != "failed" || len(s.Agents) != 1 || s.Totals.Requests != 2 {
		t.Fatalf("all agents lost: status %q, agents %+v, requests %d", s.Run.Status, s.Agents, s.Totals.Requests)
	}
}
