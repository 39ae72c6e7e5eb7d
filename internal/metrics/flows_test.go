package metrics_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

func within1pct(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if math.Abs(float64(got-want)) > 0.01*float64(want)+1 {
		t.Errorf("%s = %v, want %v ± 1%%", what, got, want)
	}
}

// Every iteration is counted once, whichever shard it went to; durations
// keep the sketch's error bound; Snapshot starts a new interval.
func TestFlowRecorder(t *testing.T) {
	t.Parallel()
	r := metrics.NewFlowRecorder([]string{"order", "browse"})
	var wg sync.WaitGroup
	for vu := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				// order: 1ms … 1000ms, each VU the same; every tenth failed
				r.Record(vu, 0, time.Duration(i+1)*time.Millisecond, 3, i%10 == 0, true)
			}
			r.Record(vu, 1, time.Hour, 1, false, false) // counted, not timed
			r.RecordCut(vu, 1, 2)
		}()
	}
	wg.Wait()
	got := r.Snapshot()
	if len(got) != 2 || got[0].Name != "order" || got[1].Name != "browse" {
		t.Fatalf("Snapshot names: %+v", got)
	}
	o := got[0]
	if o.Iterations != 8000 || o.Errors != 800 || o.Requests != 24000 || o.Duration.Count() != 8000 {
		t.Errorf("order: %d iterations, %d errors, %d requests, %d durations; want 8000, 800, 24000, 8000",
			o.Iterations, o.Errors, o.Requests, o.Duration.Count())
	}
	within1pct(t, "p50", o.Duration.Quantile(0.5), 500*time.Millisecond)
	within1pct(t, "p99", o.Duration.Quantile(0.99), 990*time.Millisecond)
	if o.Duration.Max() != time.Second {
		t.Errorf("max %v, want 1s exactly", o.Duration.Max())
	}
	if b := got[1]; b.Iterations != 8 || b.Duration.Count() != 0 || b.Cut != 8 || b.Requests != 8*3 {
		t.Errorf("browse: %d iterations, %d durations, %d cut, %d requests; want 8, 0, 8, 24", b.Iterations, b.Duration.Count(), b.Cut, b.Requests)
	}
	again := r.Snapshot()
	if again[0].Iterations != 0 || again[0].Duration.Count() != 0 {
		t.Errorf("a second Snapshot saw the first interval again: %+v", again[0])
	}
}

// Merging two agents' flows equals recording everything in one, in any
// order; names one side lacks are added.
func TestMergeFlows(t *testing.T) {
	t.Parallel()
	a, b, all := metrics.NewFlowRecorder([]string{"x"}), metrics.NewFlowRecorder([]string{"x", "y"}), metrics.NewFlowRecorder([]string{"x", "y"})
	for i := range 500 {
		d := time.Duration(i*i+1) * time.Microsecond
		if i%2 == 0 {
			a.Record(i, 0, d, 1, false, true)
		} else {
			b.Record(i, 0, d, 1, true, true)
		}
		all.Record(i, 0, d, 1, i%2 == 1, true)
	}
	b.Record(0, 1, time.Second, 2, false, true)
	all.Record(0, 1, time.Second, 2, false, true)
	a.RecordCut(1, 0, 1)
	all.RecordCut(1, 0, 1)
	sa, sb, want := a.Snapshot(), b.Snapshot(), all.Snapshot()
	ab := metrics.MergeFlows(metrics.MergeFlows(nil, sa), sb)
	ba := metrics.MergeFlows(metrics.MergeFlows(nil, sb), sa)
	for _, got := range [][]metrics.Flow{ab, ba} {
		if len(got) != 2 {
			t.Fatalf("merged %d flows, want 2", len(got))
		}
		for _, w := range want {
			var g metrics.Flow
			for _, f := range got {
				if f.Name == w.Name {
					g = f
				}
			}
			if g.Iterations != w.Iterations || g.Errors != w.Errors || g.Requests != w.Requests || g.Cut != w.Cut || g.Duration.Count() != w.Duration.Count() {
				t.Errorf("%s merged: %d/%d/%d/%d, want %d/%d/%d/%d", w.Name, g.Iterations, g.Errors, g.Requests, g.Duration.Count(),
					w.Iterations, w.Errors, w.Requests, w.Duration.Count())
			}
			for _, q := range []float64{0.5, 0.95, 0.99, 1} {
				if g.Duration.Quantile(q) != w.Duration.Quantile(q) {
					t.Errorf("%s q%v merged %v, recorded together %v", w.Name, q, g.Duration.Quantile(q), w.Duration.Quantile(q))
				}
			}
		}
	}
	// The merge copied: changing the sources changes nothing merged.
	sb[0].Duration.Add(time.Hour)
	if ab[0].Duration.Max() == time.Hour {
		t.Error("MergeFlows shares the source's sketch")
	}
}
