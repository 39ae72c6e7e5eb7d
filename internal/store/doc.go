// Package store keeps the run history of a `surge server`: every run's
// plan, its timeline (one point per interval, written as it arrives) and its
// summary, in an embedded SQLite database (modernc.org/sqlite, pure Go).
//
//	st, err := store.Open(ctx, dir, logger) // migrates; running runs become interrupted
//	err = st.Create(ctx, run)
//	err = st.Append(ctx, id, point, summarySoFar) // once per interval
//	err = st.Finish(ctx, id, store.Finished, "", finalSummary)
//
// The database runs in WAL mode with one writer connection (writes are
// serialised, reads never wait for them) and a small pool of read-only
// connections. Schema changes are embedded SQL files applied in order at
// Open. A run that was still running when the process died is marked
// interrupted at the next Open and keeps the points and the summary it had.
//
// A Store is safe for concurrent use. Only one process may open a data
// directory at a time; a second Open fails with ErrLocked.
package store
