package controller

import "fmt"

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
