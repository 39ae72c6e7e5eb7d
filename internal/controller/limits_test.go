package controller

import (
	"reflect"
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
		name      string
		model     engine.Model
		lag       *metrics.Sketch
		dropped   int64
		busy, ivs int
		want      []string
	}{
		{"lag exactly at the limit", engine.Open, lagOf(StartLagLimit, StartLagLimit), 0, 0, 10, []string{}},
		{"lag past the limit", engine.Open, lagOf(StartLagLimit + time.Millisecond), 0, 0, 10, []string{ReasonStartLag}},
		{"lag in the closed model", engine.Closed, lagOf(time.Second), 0, 0, 10, []string{}},
		{"no lag sketch", engine.Open, nil, 0, 0, 10, []string{}},
		{"an empty lag sketch", engine.Open, metrics.NewSketch(), 0, 0, 10, []string{}},
		{"one dropped", engine.Open, nil, 1, 0, 10, []string{ReasonDropped}},
		{"busy a third of the time", engine.Open, nil, 0, 1, 3, []string{ReasonCPU}},
		{"busy under a third", engine.Open, nil, 0, 1, 4, []string{}},
		{"never busy, no intervals", engine.Open, nil, 0, 0, 0, []string{}},
		{"all at once", engine.Open, lagOf(time.Second), 2, 5, 5, []string{ReasonStartLag, ReasonDropped, ReasonCPU}},
	} {
		if got := LimitReasons(tc.model, tc.lag, tc.dropped, tc.busy, tc.ivs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
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
		tr := &truth{res: AgentResult{Cores: tc.cores}, lag: metrics.NewSketch()}
		tr.add(&metrics.Snapshot{GeneratorCPU: tc.cpu})
		if tr.busy != tc.busy {
			t.Errorf("%v cores of %d: busy %d, want %d", tc.cpu, tc.cores, tr.busy, tc.busy)
		}
		if r := tr.result(engine.Open); r.Limited != (tc.busy == 1) || r.CPUMax != tc.cpu || r.Intervals != 1 {
			t.Errorf("%v cores of %d: %+v", tc.cpu, tc.cores, r)
		}
	}
}
