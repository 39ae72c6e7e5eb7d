package agent_test

import (
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
)

// The meter reads the CPU this process used: about one core while one
// goroutine spins, about none while it sleeps.
func TestCPUMeterReadsThisProcess(t *testing.T) {
	m := agent.NewCPUMeter()
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	if c := m.Cores(time.Now()); c < 0.3 || c > 2.5 {
		t.Errorf("spinning one goroutine for 300 ms read %.2f cores, want about 1", c)
	}
	time.Sleep(300 * time.Millisecond)
	if c := m.Cores(time.Now()); c > 0.3 {
		t.Errorf("sleeping for 300 ms read %.2f cores, want about 0", c)
	}
}
