package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/store"
)

// The monitor samples stored with each interval are read apart from the
// rest: Snapshots leaves them out, MonitorSamples hands them over in seq
// and arrival order, for a range of intervals, and stops at f's error.
func TestMonitorSamplesAreReadApart(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	defer st.Close()
	if err := st.Create(ctx, newRun("r", time.Now())); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for seq := range 4 {
		s := metrics.Snapshot{Seq: seq, Start: t0.Add(time.Duration(seq) * time.Second), End: t0.Add(time.Duration(seq+1) * time.Second), Iterations: 3}
		for _, name := range []string{"api", "db"} {
			s.Monitors = append(s.Monitors, metrics.MonitorSample{Monitor: name, T: s.Start.Add(900 * time.Millisecond),
				Values: []metrics.MonitorValue{{Name: "node_load1", V: float64(seq)}}})
		}
		b, err := metrics.EncodeSnapshot(&s)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AppendInterval(ctx, "r", seq, report.Point{}, summary(1, 0), b); err != nil {
			t.Fatal(err)
		}
	}
	snaps, err := st.Snapshots(ctx, "r", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		if s.Monitors != nil || s.Iterations != 3 {
			t.Errorf("snapshot %d: monitors %v, iterations %d", s.Seq, s.Monitors, s.Iterations)
		}
	}
	var got []string
	read := func(from, to int) error {
		got = nil
		return st.MonitorSamples(ctx, "r", from, to, func(m metrics.MonitorSample) error {
			got = append(got, m.Monitor+":"+m.T.Format("05"))
			return nil
		})
	}
	if err := read(1, 3); err != nil || len(got) != 4 || got[0] != "api:01" || got[1] != "db:01" || got[3] != "db:02" {
		t.Errorf("samples of intervals 1 and 2: %v, %v", got, err)
	}
	if err := read(0, -1); err != nil || len(got) != 8 {
		t.Errorf("every sample: %v, %v", got, err)
	}
	stop := errors.New("enough")
	n := 0
	if err := st.MonitorSamples(ctx, "r", 0, -1, func(metrics.MonitorSample) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("f's error: %v after %d samples", err, n)
	}
	if err := st.MonitorSamples(ctx, "nope", 0, -1, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}
