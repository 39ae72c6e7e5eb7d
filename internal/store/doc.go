// Package store keeps the run history of a `surge server`: every run's
// metadata and plan, its timeline (one report.Point per interval, written
// as it arrives), every interval's encoded metrics.Snapshot (from which
// summaries and windows are rebuilt, docs/snapshots.md), its summary, and
// the events of the run (load changes and the like), in an embedded SQLite
// database (modernc.org/sqlite, pure Go).
//
//	st, err := store.Open(ctx, dir, logger) // migrates; runs left running become interrupted
//	defer st.Close()
//	err = st.Create(ctx, store.Run{ID: id, Name: name, Status: store.Running, Source: store.SourceServer, Plan: planJSON})
//	err = st.AppendInterval(ctx, id, seq, point, &summarySoFar, encodedSnapshot) // once per interval; seq counts from 0
//	snaps, err := st.Snapshots(ctx, id, from, to)   // decoded, seq in [from, to); to < 0: all; without monitor samples
//	err = st.MonitorSamples(ctx, id, from, to, f)    // the samples of those intervals, one interval at a time
//	err = st.AddEvent(ctx, id, store.Event{T: now, Kind: "adjust", Detail: "rate 200/s"})
//	err = st.Finish(ctx, id, store.Finished, "", &finalSummary)
//	run, err := st.Get(ctx, id)                 // and List, Timeline, Summary, Events
//	err = st.SaveCapacity(ctx, id, resultJSON, final) // a capacity search's result (Run.Kind "capacity")
//
// The database runs in WAL mode with one writer connection (writes are
// serialised, reads never wait for them) and a small pool of read-only
// connections; the file is created 0600. Schema changes are embedded SQL
// files applied in order at Open. A run that was still running when the
// process died is marked interrupted at the next Open and keeps the points
// and the summary it had; Interrupt does the same for a run whose recorder
// (`surge run --server`) went away.
//
// A write that fails for want of room or another fault of the disk wraps
// ErrWrite; Probe checks that the store can write before a run starts, and
// SetMaxSize caps the file (a quota, and how tests fill the "disk").
//
// A Store is safe for concurrent use. Only one process may open a data
// directory at a time; a second Open fails with ErrLocked.
package store
