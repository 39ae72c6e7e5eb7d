package metrics_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// CountAbove counts the values past d, as Quantile places them: none at
// or past the max, all of them under the min.
func TestSketchCountAbove(t *testing.T) {
	s := metrics.NewSketch()
	if s.CountAbove(0) != 0 {
		t.Error("an empty sketch counts values")
	}
	s.AddN(50*time.Microsecond, 90)
	s.AddN(9*time.Millisecond, 5)
	s.AddN(20*time.Millisecond, 4)
	s.Add(time.Second)
	for _, c := range []struct {
		d    time.Duration
		want uint64
	}{
		{0, 100}, {40 * time.Microsecond, 100}, {time.Millisecond, 10}, {metrics.LateAfter, 5},
		{19 * time.Millisecond, 5}, {21 * time.Millisecond, 1}, {time.Second, 0}, {time.Hour, 0},
	} {
		if got := s.CountAbove(c.d); got != c.want {
			t.Errorf("CountAbove(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

// Each agent's part of a merged snapshot counts that agent's own
// scheduling latencies and those over LateAfter, so that one agent's
// delay is judged on its own row and not diluted in the merged sketch:
// merged, added over intervals, encoded and decoded. An agent that
// measured none counts none; fixtures written before the fields decode
// with none; a part with more late than measured is refused.
func TestAgentPartsCountTheirSchedulingLatencies(t *testing.T) {
	mk := func(agent string, seq int, sched *metrics.Sketch) metrics.Snapshot {
		return metrics.Snapshot{Seq: seq, Start: t0.Add(time.Duration(seq) * time.Second), End: t0.Add(time.Duration(seq+1) * time.Second),
			Agent: agent, Iterations: 1, GeneratorSched: sched}
	}
	slow := metrics.NewSketch()
	slow.AddN(50*time.Microsecond, 950)
	slow.AddN(20*time.Millisecond, 50)
	m0 := metrics.Merge(mk("slow", 0, slow), mk("idle", 0, nil))
	if len(m0.Agents) != 2 {
		t.Fatalf("parts %+v", m0.Agents)
	}
	if p := m0.Agents[0]; p.SchedCount != 1000 || p.SchedLate != 50 {
		t.Errorf("slow's part counts %d, %d late; want 1000, 50", p.SchedCount, p.SchedLate)
	}
	if p := m0.Agents[1]; p.SchedCount != 0 || p.SchedLate != 0 {
		t.Errorf("an agent without a measure has a part with %d, %d late", p.SchedCount, p.SchedLate)
	}
	d := decode(t, encode(t, m0))
	if d.Agents[0].SchedCount != 1000 || d.Agents[0].SchedLate != 50 || d.Agents[1].SchedCount != 0 {
		t.Errorf("decoded parts %+v", d.Agents)
	}
	m1 := metrics.Merge(mk("slow", 1, schedSketch(2)), mk("idle", 1, schedSketch(1)))
	span := metrics.Add(m0, m1)
	late := func(s *metrics.Sketch) int64 { return int64(s.CountAbove(metrics.LateAfter)) }
	if p := span.Agents[0]; p.SchedCount != 1000+int64(schedSketch(2).Count()) || p.SchedLate != 50+late(schedSketch(2)) {
		t.Errorf("slow over two intervals: %d, %d late", p.SchedCount, p.SchedLate)
	}
	if p := span.Agents[1]; p.SchedCount != int64(schedSketch(1).Count()) || p.SchedLate != late(schedSketch(1)) || p.SchedLate == 0 {
		t.Errorf("idle over two intervals: %d, %d late", p.SchedCount, p.SchedLate)
	}

	bad := m0
	bad.Agents = append([]metrics.AgentPart(nil), m0.Agents...)
	bad.Agents[0].SchedLate = 1001
	if _, err := metrics.DecodeSnapshot(encode(t, bad)); err == nil {
		t.Error("a part with more late scheduling latencies than measured decoded")
	}

	for _, old := range []string{"snapshot-v1-monitors.pb", "snapshot-v1-sched.pb"} {
		ob, err := os.ReadFile(filepath.Join("testdata", old))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range decode(t, ob).Agents {
			if p.SchedCount != 0 || p.SchedLate != 0 {
				t.Errorf("%s: agent %s decoded with scheduling latencies", old, p.Name)
			}
		}
	}
}

// The golden fixture with the parts' fields 11 and 12; the monitors
// fixture, whose parts have none, stays as it was
// (TestCodecGoldenMonitorsAndAgents).
func TestCodecGoldenAgentSched(t *testing.T) {
	s := withMonitors(testSnapshot(rand.New(rand.NewPCG(70, 80)), 4))
	for i := range s.Agents {
		s.Agents[i].SchedCount, s.Agents[i].SchedLate = int64(1000*(i+1)), int64(7*i)
	}
	_, d := golden(t, "snapshot-v1-agentsched.pb", s)
	sameMonitorsAndAgents(t, s, d)
	for i := range s.Agents {
		if g, w := d.Agents[i], s.Agents[i]; g.SchedCount != w.SchedCount || g.SchedLate != w.SchedLate {
			t.Errorf("agent %s: %d, %d late; want %d, %d", w.Name, g.SchedCount, g.SchedLate, w.SchedCount, w.SchedLate)
		}
	}
}
