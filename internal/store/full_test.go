package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/store"
)

// A full store (SQLite answers SQLITE_FULL) fails writes with ErrWrite,
// Probe says so, and both work again once there is room.
func TestFullStoreFailsWithErrWrite(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	defer st.Close()
	if err := st.Create(ctx, newRun("a", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := st.SetMaxSize(ctx, 0); err != nil {
		t.Fatal(err)
	}
	big := summary(1, 0)
	big.Messages = []report.ErrorMessage{{Message: strings.Repeat("x", 256<<10)}}
	err := st.Append(ctx, "a", 0, report.Point{}, big)
	if !errors.Is(err, store.ErrWrite) {
		t.Fatalf("Append to a full store: %v, want ErrWrite", err)
	}
	if err := st.Probe(ctx); !errors.Is(err, store.ErrWrite) {
		t.Fatalf("Probe on a full store: %v, want ErrWrite", err)
	}
	// Errors about the run itself stay what they were.
	if err := st.Append(ctx, "nope", 0, report.Point{}, summary(1, 0)); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrWrite) {
		t.Errorf("Append to a missing run: %v, want ErrNotFound only", err)
	}
	// A status change needs no room: a run can still be ended.
	if err := st.Finish(ctx, "a", store.Failed, "disk full", nil); err != nil {
		t.Errorf("Finish without a summary on a full store: %v", err)
	}
	if err := st.SetMaxSize(ctx, -1); err != nil {
		t.Fatal(err)
	}
	if err := st.Probe(ctx); err != nil {
		t.Errorf("Probe once there is room: %v", err)
	}
	if r, err := st.Get(ctx, "a"); err != nil || r.Status != store.Failed {
		t.Errorf("run after Finish: %+v, %v", r, err)
	}
}

func TestDatabaseIsPrivate(t *testing.T) {
	dir := t.TempDir()
	// An older surge left the database readable by all.
	st := open(t, dir)
	st.Close()
	if err := os.Chmod(filepath.Join(dir, store.FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir)
	defer st.Close()
	if err := st.Create(context.Background(), newRun("a", time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{store.FileName, store.FileName + "-wal", store.FileName + "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	fresh := t.TempDir()
	st2 := open(t, fresh)
	defer st2.Close()
	if err := st2.Create(context.Background(), newRun("b", time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{store.FileName, store.FileName + "-wal", store.FileName + "-shm"} {
		if fi, err := os.Stat(filepath.Join(fresh, name)); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("new %s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestRecordingListsOnlyCLIRuns(t *testing.T) {
	ctx := context.Background()
	st := open(t, t.TempDir())
	defer st.Close()
	srv := newRun("own", time.Now())
	cli := newRun("cli", time.Now())
	cli.Source = store.SourceCLI
	for _, r := range []store.Run{srv, cli} {
		if err := st.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Recording(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["own"]; ok || len(got) != 1 {
		t.Errorf("Recording = %v, want the cli run only", got)
	}
}
