package controller

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
)

func lagOf(ds ...time.Duration) *metrics.Sketch {
	s := metrics.NewSketch()
	for _, d := range ds {
		s.Add(d)
	}
	return s
}

// The rules of a limited generator at their edges.
func TestLimitReasonsAtTheEdges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model engine.Model
		t     Tally
		want  []string
	}{
		{"lag exactly at the limit", engine.Open, Tally{Lag: lagOf(StartLagLimit, StartLagLimit), Intervals: 10}, []string{}},
		{"lag past the limit", engine.Open, Tally{Lag: lagOf(StartLagLimit + time.Millisecond), Intervals: 10}, []string{ReasonStartLag}},
		{"lag in the closed model", engine.Closed, Tally{Lag: lagOf(time.Second), Intervals: 10}, []string{}},
		{"no lag sketch", engine.Open, Tally{Intervals: 10}, []string{}},
		{"an empty lag sketch", engine.Open, Tally{Lag: metrics.NewSketch(), Intervals: 10}, []string{}},
		{"one dropped", engine.Open, Tally{Dropped: 1, Intervals: 10}, []string{ReasonDropped}},
		{"busy a third of the time", engine.Open, Tally{Busy: 1, Intervals: 3}, []string{ReasonCPU}},
		{"busy under a third", engine.Open, Tally{Busy: 1, Intervals: 4}, []string{}},
		{"never busy, no intervals", engine.Open, Tally{}, []string{}},
		// The scheduling latencies' p99 is past the limit when the value
		// at rank 0.99·(n−1) is: 2 late of 100 (rank 98.01), not 1.
		{"2 of 100 scheduling latencies late, closed model too", engine.Closed, Tally{SchedCount: 100, SchedLate: 2}, []string{ReasonSchedLatency}},
		{"1 of 100 late", engine.Open, Tally{SchedCount: 100, SchedLate: 1}, []string{}},
		{"11 of 1,000 late", engine.Open, Tally{SchedCount: 1000, SchedLate: 11}, []string{ReasonSchedLatency}},
		{"10 of 1,000 late", engine.Open, Tally{SchedCount: 1000, SchedLate: 10}, []string{}},
		{"the one latency measured, late", engine.Open, Tally{SchedCount: 1, SchedLate: 1}, []string{ReasonSchedLatency}},
		{"none measured", engine.Open, Tally{}, []string{}},
		{"every reason, in the summary's order", engine.Open, Tally{Lag: lagOf(time.Second), SchedCount: 10, SchedLate: 10, Dropped: 2, Busy: 5, Intervals: 5},
			[]string{ReasonStartLag, ReasonSchedLatency, ReasonDropped, ReasonCPU}},
	} {
		if got := LimitReasons(tc.model, tc.t); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The count rule agrees with the sketch's p99 on the latencies
// themselves, at and around the boundary.
func TestSchedCountsAgreeWithTheP99(t *testing.T) {
	for n := 1; n <= 400; n += 7 {
		for late := 0; late <= n && late <= 12; late++ {
			s := metrics.NewSketch()
			s.AddN(50*time.Microsecond, uint64(n-late))
			s.AddN(20*time.Millisecond, uint64(late))
			byP99 := s.Quantile(0.99) > StartLagLimit
			byCount := slices.Contains(LimitReasons(engine.Closed, Tally{SchedCount: int64(s.Count()), SchedLate: int64(s.CountAbove(StartLagLimit))}), ReasonSchedLatency)
			if byP99 != byCount {
				t.Fatalf("%d late of %d: p99 %v, the counts say late %v", late, n, s.Quantile(0.99), byCount)
			}
		}
	}
}

// An interval counts as CPU-busy at CPUBusyFrac of the agent's cores or
// more, and never when its cores are unknown.
func TestTruthCountsBusyIntervals(t *testing.T) {
	for _, tc := range []struct {
		cores int
		cpu   float64
		busy  int
	}{
		{2, 1.8, 1},   // exactly 90 % of 2 cores
		{2, 1.79, 0},  // just under
		{2, 1.0, 0},   // half
		{0, 3.0, 0},   // cores unknown: not judged
		{4, 3.65, 1},  // 91 %
		{1, 0.899, 0}, // under 90 % of one core
	} {
		tr := &truth{res: AgentResult{Cores: tc.cores}, t: Tally{Lag: metrics.NewSketch()}}
		tr.add(&metrics.Snapshot{GeneratorCPU: tc.cpu})
		if tr.t.Busy != tc.busy {
			t.Errorf("%v cores of %d: busy %d, want %d", tc.cpu, tc.cores, tr.t.Busy, tc.busy)
		}
		if r := tr.result(engine.Open); r.Limited != (tc.busy == 1) || r.CPUMax != tc.cpu || r.Intervals != 1 {
			t.Errorf("%v cores of %d: %+v", tc.cpu, tc.cores, r)
		}
	}
}
