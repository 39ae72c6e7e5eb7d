package server

import (
	"context"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/store"
)

// A recorded run whose recorder died is interrupted with only its last
// summary so far: its rebuilt summary's monitors are those of every stored
// sample, not that summary's (a recorder trims its series), and a window's
// are the window's samples.
func TestStoredSummaryOfAnInterruptedRunHasItsSamples(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	plan := scenario.Plan{Name: "cut", Timeout: time.Second, Load: scenario.Load{Model: engine.Open, Rate: 10, Duration: time.Minute},
		Flows:    []scenario.Flow{{Name: "default", Steps: []scenario.Step{{Method: "GET", URL: "http://127.0.0.1:1/"}}}},
		Monitors: []scenario.Monitor{{Name: "api", URL: "http://127.0.0.1:2/metrics"}}}
	pj, err := planJSON(plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, store.Run{ID: "r1", Name: "cut", Source: store.SourceCLI, Model: "open", Started: start, Plan: pj}); err != nil {
		t.Fatal(err)
	}
	tr := NewTracker("r1", plan, 2)
	for i := range 4 {
		s := metrics.Snapshot{Seq: i, Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i+1) * time.Second)}
		vals := []metrics.MonitorValue{{Name: "host_cpu_busy_percent", Unit: "%", Derived: true, V: float64(10 * (i + 1))}}
		for j := range 200 { // more than a live summary lists
			vals = append(vals, metrics.MonitorValue{Name: "x", Labels: map[string]string{"j": string(rune('a'+j%26)) + string(rune('a'+j/26))}, V: 1})
		}
		s.Monitors = []metrics.MonitorSample{{Monitor: "api", T: s.Start.Add(500 * time.Millisecond), Values: vals}}
		iv := tr.Add(s)
		if err := st.AppendInterval(ctx, "r1", iv.Seq, iv.Point, &iv.Summary, iv.Snapshot); err != nil {
			t.Fatal(err)
		}
		if i == 3 && len(iv.Summary.Monitors[0].Series) != maxLiveSeries {
			t.Errorf("the live summary lists %d series, want %d", len(iv.Summary.Monitors[0].Series), maxLiveSeries)
		}
	}
	if err := st.Interrupt(ctx, "r1", start.Add(4*time.Second), "the recorder went silent"); err != nil {
		t.Fatal(err)
	}
	whole, err := StoredSummary(ctx, st, "r1", Window{})
	if err != nil {
		t.Fatal(err)
	}
	if m := whole.Monitors; len(m) != 1 || m[0].Scrapes != 4 || len(m[0].Series) != 201 || m[0].Series[0].Max != 40 {
		t.Fatalf("whole run's monitors: %d series of %+v", len(m[0].Series), m)
	}
	win, err := StoredSummary(ctx, st, "r1", Window{From: 1, To: 3})
	if err != nil {
		t.Fatal(err)
	}
	if m := win.Monitors; len(m) != 1 || m[0].Scrapes != 2 || m[0].Series[0].Min != 20 || m[0].Series[0].Max != 30 || m[0].Series[0].Mean != 25 {
		t.Errorf("window's monitors: %+v", m)
	}
	var charted []float64
	for _, p := range win.Timeline {
		if v := p.Monitors["api"]["host_cpu_busy_percent"]; v != nil {
			charted = append(charted, *v)
		}
	}
	if len(charted) != 2 || charted[0] != 20 || charted[1] != 30 {
		t.Errorf("window's timeline charts %v, want [20 30]", charted)
	}
}
