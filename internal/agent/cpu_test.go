package agent_test

import (
	"os"
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

// System time counts as well as user time: a goroutine busy in the kernel
// (reading /dev/zero) reads about one core. Two readings at one instant
// read 0, not a division by zero.
func TestCPUMeterCountsSystemTime(t *testing.T) {
	f, err := os.Open("/dev/zero")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	m := agent.NewCPUMeter()
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		if _, err := f.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if c := m.Cores(now); c < 0.3 || c > 2.5 {
		t.Errorf("reading /dev/zero for 300 ms read %.2f cores, want about 1", c)
	}
	if c := m.Cores(now); c != 0 {
		t.Errorf("a second reading at the same instant read %v cores, want 0", c)
	}
}
