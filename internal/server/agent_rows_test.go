package server

import (
	"slices"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
)

// The agents' rows of a stored window are judged from the parts the
// merged snapshots carry, by the controller's rules: an agent whose own
// scheduling latency passed the limit is limited with sched_latency, even
// when the merged sketch dilutes it under the limit; one without it is not.
func TestStoredAgentRowsJudgeTheirOwnSchedulingLatency(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	sched := func(n20ms, n50us uint64) *metrics.Sketch {
		s := metrics.NewSketch()
		s.AddN(20*time.Millisecond, n20ms)
		s.AddN(50*time.Microsecond, n50us)
		return s
	}
	var snaps []metrics.Snapshot
	for seq := range 3 {
		start := t0.Add(time.Duration(seq) * time.Second)
		part := func(name string, s *metrics.Sketch) metrics.Snapshot {
			return metrics.Snapshot{Seq: seq, Start: start, End: start.Add(time.Second), Agent: name, Iterations: 5, GeneratorSched: s}
		}
		snaps = append(snaps, metrics.Merge(part("slow", sched(50, 950)), part("fast", sched(0, 100_000))))
	}
	if p99 := metrics.Add(snaps...).GeneratorSched.Quantile(0.99); p99 > controller.StartLagLimit {
		t.Fatalf("merged p99 %v: the test needs it diluted", p99)
	}
	rows := agentResults(engine.Closed, snaps, nil, t0.Add(3*time.Second))
	if len(rows) != 2 || rows[0].Name != "slow" || rows[1].Name != "fast" {
		t.Fatalf("rows %+v", rows)
	}
	if r := rows[0]; !r.Limited || !slices.Equal(r.Reasons, []string{controller.ReasonSchedLatency}) {
		t.Errorf("slow: limited %v, reasons %v", r.Limited, r.Reasons)
	}
	if r := rows[1]; r.Limited {
		t.Errorf("fast: limited with %v", r.Reasons)
	}
}
