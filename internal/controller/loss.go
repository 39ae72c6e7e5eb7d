package controller

import (
	"errors"
	"fmt"
	"math"

	"github.com/surgeload/surge/internal/engine"
)

// LossPolicy says what a run does when one of its agents is lost
// (agent.ErrLost): `surge run --on-agent-loss`, the API's on_agent_loss.
type LossPolicy string

// The loss policies. The zero value is LossRebalance.
const (
	// LossRebalance hands the lost agent's share to the agents left, so
	// the offered load holds.
	LossRebalance LossPolicy = "rebalance"
	// LossContinue lets the run go on with the agents left, at their own
	// shares: the load drops by the lost share.
	LossContinue LossPolicy = "continue"
	// LossAbort stops the run.
	LossAbort LossPolicy = "abort"
)

// ParseLossPolicy reads a policy's name; "" is LossRebalance.
func ParseLossPolicy(s string) (LossPolicy, error) {
	switch p := LossPolicy(s); p {
	case "":
		return LossRebalance, nil
	case LossRebalance, LossContinue, LossAbort:
		return p, nil
	}
	return "", fmt.Errorf("%q is not an agent-loss policy: want rebalance, continue or abort", s)
}

// ErrAllAgentsLost is returned (wrapped) by Run when every agent of the
// run was lost: the run ends with what they sent before.
var ErrAllAgentsLost = errors.New("every agent of the run was lost")

// The states of an agent in a run.
type agentStatus uint8

const (
	agentRunning agentStatus = iota // Run has not returned
	agentDone                       // Run returned: its segment ended (or failed)
	agentLost                       // Run returned agent.ErrLost
)

// targets returns the load each agent is to run when the run's load is v
// — a whole-run rate in the open model, a VU count in the closed — given
// the agents' states and the loss policy; NaN for an agent that is given
// nothing (it is lost, or its segment has ended).
//
// Without a loss, or under LossContinue, every running agent keeps its own
// share, as Split made it: the whole rate (it runs stripe i of n of it) or
// share i of n of the VUs. Under LossRebalance the lost agents' shares are
// spread over the agents still running, so the offered load holds:
//
//   - open model: r running agents and l lost ones run stripes i of n of
//     the schedule, each at rate v·(r+l)/r, which yields v·(r+l)/(r·n)
//     iterations/s each and v·(r+l)/n in all: the whole rate v when no
//     agent's segment had ended before (r+l = n). Each agent's due count
//     (Snapshot.Due) is its stripe's share of its own schedule, so the
//     merged offered load is v too.
//   - closed model: the VUs of the running and lost agents' shares are
//     split again, as integers that add up, over the running agents.
//
// Agents whose segments ended normally (a budget or their data ran out)
// kept their shares to the end: theirs is not handed over.
func targets(model engine.Model, v float64, status []agentStatus, policy LossPolicy) []float64 {
	n := len(status)
	running, lost := 0, 0
	for _, s := range status {
		switch s {
		case agentRunning:
			running++
		case agentLost:
			lost++
		}
	}
	out := make([]float64, n)
	rebalance := policy == LossRebalance && lost > 0
	vus := int(v)
	pool := 0 // closed model, rebalance: the VUs to split over the running agents
	for i, s := range status {
		if s != agentDone {
			pool += share(vus, i, n)
		}
	}
	j := 0 // the running agents' index among themselves
	for i, s := range status {
		if s != agentRunning {
			out[i] = math.NaN()
			continue
		}
		switch {
		case model == engine.Open && rebalance:
			out[i] = v * float64(running+lost) / float64(running)
		case model == engine.Open:
			out[i] = v // the whole rate: the agent runs its stripe of it
		case rebalance:
			out[i] = float64(share(pool, j, running))
		default:
			out[i] = float64(share(vus, i, n))
		}
		j++
	}
	return out
}
