package agent_test

import (
	"testing"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/agenttest"
)

func TestLocalConformance(t *testing.T) {
	agenttest.Run(t, func(*testing.T) agent.Agent { return agent.NewLocal() })
}
