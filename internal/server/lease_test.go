package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/store"
)

// A recorded run whose `surge run` goes silent is marked interrupted once
// its lease runs out, and not before.
func TestRecordLeaseExpires(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Options{Store: st, Secret: "s", NoUI: true})
	defer s.Close(ctx)
	run := store.Run{ID: "cli-1", Name: "from the CLI", Source: store.SourceCLI, Model: "open", Started: time.Now(), Plan: json.RawMessage(`{}`)}
	if err := st.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	s.expireLeases(time.Now().Add(recordLease / 2))
	if r, _ := st.Get(ctx, "cli-1"); r.Status != store.Running {
		t.Fatalf("within the lease: %s, want running", r.Status)
	}
	s.expireLeases(time.Now().Add(recordLease + time.Second))
	r, err := st.Get(ctx, "cli-1")
	if err != nil || r.Status != store.Interrupted || r.Error == "" {
		t.Errorf("after the lease: %+v, %v; want interrupted with a reason", r, err)
	}
}

// The lease is for runs a `surge run --server` records: a run of the
// server's own that is still marked running in the store (its end could not
// be written, say) is never taken for a silent recorder.
func TestLeaseSparesServerRuns(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Options{Store: st, Secret: "s", NoUI: true})
	defer s.Close(ctx)
	run := store.Run{ID: "own-1", Name: "the server's", Source: store.SourceServer, Model: "open", Started: time.Now(), Plan: json.RawMessage(`{}`)}
	if err := st.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	s.expireLeases(time.Now().Add(recordLease + time.Hour))
	if r, _ := st.Get(ctx, "own-1"); r.Status != store.Running {
		t.Errorf("a server run after the lease: %s, want running (not interrupted by the janitor)", r.Status)
	}
}
