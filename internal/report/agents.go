package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/result"
)

// AgentSummary is one agent's row of the summary: what it sent, computed
// from its own snapshots, whether it could hold its share, and whether it
// was lost.
type AgentSummary struct {
	Name     string `json:"name"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
	Lost     bool   `json:"lost"`
	// LostAt is when the controller found it lost (RFC 3339); absent when
	// it was not.
	LostAt            string   `json:"lost_at,omitempty"`
	Limited           bool     `json:"limited"`
	Reasons           []string `json:"reasons"`
	DroppedIterations int64    `json:"dropped_iterations"`
	StartLagP99       float64  `json:"start_lag_p99_ms"`
	CPUMax            float64  `json:"cpu_max_cores"`
}

// hasAgents reports whether the summary lists the run's agents: when it
// ran on any agent but the one in-process agent of a local run (whose row
// would repeat the totals).
func hasAgents(res *result.Result) bool {
	return len(res.Agents) > 1 || (len(res.Agents) == 1 && !res.Agents[0].Local)
}

// perAgentCPU reports whether the generator's CPU is judged per agent: on
// several agents the merged figure adds up their cores, which says nothing
// about any one of them, nor about this process's cores.
func perAgentCPU(res *result.Result) bool { return len(res.Agents) > 1 }

func agentSummaries(res *result.Result) []AgentSummary {
	if !hasAgents(res) {
		return nil
	}
	out := make([]AgentSummary, 0, len(res.Agents))
	for _, a := range res.Agents {
		row := AgentSummary{
			Name: a.Name, Requests: a.Requests, Errors: a.Errors, Lost: a.Lost, Limited: a.Limited,
			Reasons: append([]string{}, a.Reasons...), DroppedIterations: a.Dropped,
			StartLagP99: ms(a.StartLagP99), CPUMax: round(a.CPUMax, 3),
		}
		if a.Lost {
			row.LostAt = a.LostAt.UTC().Format(time.RFC3339Nano)
		}
		out = append(out, row)
	}
	return out
}

// agentWarnings adds, on a run of several agents, each limited agent's
// reasons to the run's: the run is limited when any agent was, although
// one agent's start lag can vanish in the merged p99 (the others' many
// punctual iterations) and its CPU cannot be read from the merged sum.
func agentWarnings(res *result.Result, w, reasons []string) ([]string, []string) {
	if len(res.Agents) < 2 {
		return w, reasons
	}
	for _, a := range res.Agents {
		if !a.Limited {
			continue
		}
		w = append(w, fmt.Sprintf("agent %s could not hold its share (%s): results may be limited by the generator, not the target", a.Name, strings.Join(a.Reasons, ", ")))
		for _, r := range a.Reasons {
			if !slices.Contains(reasons, r) {
				reasons = append(reasons, r)
			}
		}
	}
	return w, reasons
}

// allLost reports whether every agent of the run was lost: the run failed
// (controller.ErrAllAgentsLost), with what they had sent.
func allLost(res *result.Result) bool {
	for _, a := range res.Agents {
		if !a.Lost {
			return false
		}
	}
	return len(res.Agents) > 0
}
