package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/store"
)

func snapshot(t *testing.T, seq int, requests int64) []byte {
	t.Helper()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := metrics.Snapshot{Seq: seq, Start: t0.Add(time.Duration(seq) * time.Second), End: t0.Add(time.Duration(seq+1) * time.Second)}
	e := metrics.Endpoint{Name: "api", Method: "GET", Requests: requests, Latency: metrics.NewSketch()}
	e.Classes[metrics.OK] = requests
	for i := range requests {
		e.Latency.Add(time.Duration(i+1) * time.Millisecond)
	}
	s.Endpoints = []metrics.Endpoint{e}
	b, err := metrics.EncodeSnapshot(&s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every interval's snapshot is kept, survives the run's end (which rewrites
// the points) and is read back by window.
func TestSnapshotsKeptPerInterval(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	defer st.Close()
	if err := st.Create(ctx, newRun("r", time.Now())); err != nil {
		t.Fatal(err)
	}
	for seq := range 5 {
		if err := st.AppendInterval(ctx, "r", seq, report.Point{Requests: int64(seq + 1)}, summary(1, 0), snapshot(t, seq, int64(seq+1))); err != nil {
			t.Fatal(err)
		}
	}
	// An interval from an older recorder, without its snapshot.
	if err := st.AppendInterval(ctx, "r", 5, report.Point{}, summary(1, 0), nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, "r", store.Finished, "", summary(15, 6)); err != nil {
		t.Fatal(err)
	}
	all, err := st.Snapshots(ctx, "r", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d snapshots, want 5", len(all))
	}
	for i, s := range all {
		if s.Seq != i || s.Endpoints[0].Requests != int64(i+1) || s.Endpoints[0].Latency.Count() != uint64(i+1) {
			t.Errorf("snapshot %d: seq %d, requests %d", i, s.Seq, s.Endpoints[0].Requests)
		}
	}
	win, err := st.Snapshots(ctx, "r", 1, 3)
	if err != nil || len(win) != 2 || win[0].Seq != 1 || win[1].Seq != 2 {
		t.Errorf("window [1,3): %d snapshots, %v", len(win), err)
	}
	if n, p, err := st.SnapshotCount(ctx, "r"); err != nil || n != 5 || p != 6 {
		t.Errorf("SnapshotCount = %d, %d, %v; want 5 snapshots of 6 points", n, p, err)
	}
	if _, err := st.Snapshots(ctx, "nope", 0, -1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Snapshots of an unknown run: %v", err)
	}
	if err := st.Delete(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if n, _, err := st.SnapshotCount(ctx, "r"); err != nil || n != 0 {
		t.Errorf("after Delete: %d snapshots, %v", n, err)
	}
}

func TestAppendIntervalRefusesNonSnapshot(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	defer st.Close()
	if err := st.Create(ctx, newRun("r", time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{{}, {0xff, 0xff}, []byte("hello")} {
		if err := st.AppendInterval(ctx, "r", 0, report.Point{}, summary(1, 0), b); err == nil || !strings.Contains(err.Error(), "snapshot") {
			t.Errorf("%q: %v, want a snapshot error", b, err)
		}
	}
}

// A database made before snapshots were stored (schema version 1) gains
// the table at Open; its runs have none and new intervals get theirs.
func TestSnapshotsMigrationFromVersion1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v1, err := os.ReadFile(filepath.Join("migrations", "0001_runs.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{string(v1), `PRAGMA user_version = 1`,
		`INSERT INTO runs (id, name, status, source, model, started, plan, seen) VALUES ('old', 'old', 'finished', 'server', 'open', 1, '{}', 1)`,
		`INSERT INTO runs (id, name, status, source, model, started, plan, seen) VALUES ('live', 'live', 'running', 'cli', 'open', 1, '{}', 1)`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	st := open(t, dir)
	defer st.Close()
	if s, err := st.Snapshots(ctx, "old", 0, -1); err != nil || len(s) != 0 {
		t.Errorf("old run: %d snapshots, %v", len(s), err)
	}
	if err := st.Create(ctx, newRun("new", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendInterval(ctx, "new", 0, report.Point{}, summary(1, 0), snapshot(t, 0, 3)); err != nil {
		t.Fatal(err)
	}
	if s, err := st.Snapshots(ctx, "new", 0, -1); err != nil || len(s) != 1 || s[0].Endpoints[0].Requests != 3 {
		t.Errorf("new run: %v, %v", s, err)
	}
}
