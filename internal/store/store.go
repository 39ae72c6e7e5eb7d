package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
)

// FileName is the database's file name inside the data directory.
const FileName = "surge.db"

// Sentinel errors.
var (
	// ErrNotFound: no run has that id.
	ErrNotFound = errors.New("run not found")
	// ErrNotRunning: the run has ended, so it takes no more points.
	ErrNotRunning = errors.New("run is not running")
	// ErrLocked: another process has the data directory open.
	ErrLocked = errors.New("data directory is in use by another surge server")
	// ErrWrite: a write failed for want of room or another fault of the
	// disk or database (full disk, quota, I/O error), not because of what
	// was asked. Writes may work again once the cause is gone.
	ErrWrite = errors.New("the run store cannot write")
)

// writeError marks a failed write with ErrWrite, unless it failed because
// of the run it was about (ErrNotFound, ErrNotRunning) or the caller gave
// up (its context ended).
func writeError(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotRunning) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrWrite, err)
}

// Status is a run's state. A run starts Running and ends in one of the others.
type Status string

// The statuses (CONTRACT.md).
const (
	Running     Status = "running"
	Finished    Status = "finished"    // ran its course
	Stopped     Status = "stopped"     // stopped early on request
	Interrupted Status = "interrupted" // the process recording it died
	Failed      Status = "failed"      // could not run
)

// Where a run came from.
const (
	SourceServer = "server" // started through the API and run by the server
	SourceCLI    = "cli"    // run by `surge run --server` and recorded here
)

// Run is a run's metadata.
type Run struct {
	ID      string
	Name    string
	Status  Status
	Source  string
	Model   string // open or closed
	Started time.Time
	Ended   time.Time       // zero while running
	Plan    json.RawMessage // scenario.Plan
	Request json.RawMessage // the API request that started it; nil if none
	Error   string          // why it failed or stopped early
	// Kind is KindLoad ("" is taken for it) or KindCapacity (capacity.go).
	Kind string
	// Figures is the headline of its summary so far (zero before the
	// first interval), for lists.
	Figures Figures
}

// Figures are a run's headline numbers.
type Figures struct {
	Requests  int64
	RPS       float64
	ErrorRate float64 // percent
	P99       float64 // ms
	// Passed says whether every threshold held; nil when the run has no
	// thresholds or no summary yet.
	Passed *bool
}

// Event is something that happened during a run, e.g. a load change.
type Event struct {
	T      time.Time `json:"t"`
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
}

// Store is the run history. It is safe for concurrent use.
type Store struct {
	w    *sql.DB // the one writer connection
	r    *sql.DB // read-only pool
	lock *os.File
	log  *slog.Logger
}

// Open opens (creating if needed) the store in dir, applies pending
// migrations, and marks runs left running by a previous process as
// interrupted. logger may be nil.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("opening store in %s: %w", dir, err)
	}
	s := &Store{lock: lock, log: logger}
	path := filepath.Join(dir, FileName)
	if err := private(path); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening store: %w", err)
	}
	const common = "_busy_timeout=5000&_foreign_keys=1"
	s.w, err = sql.Open("sqlite", "file:"+path+"?"+common+"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err == nil {
		s.r, err = sql.Open("sqlite", "file:"+path+"?"+common+"&_query_only=1")
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("opening store: %w", err)
	}
	// One writer: SQLite serialises writers anyway, and a single connection
	// turns lock contention (SQLITE_BUSY) into waiting in Go.
	s.w.SetMaxOpenConns(1)
	s.r.SetMaxOpenConns(4)
	if err := migrate(ctx, s.w); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if err := s.interruptLeftovers(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening store: %w", err)
	}
	return s, nil
}

// private makes the database file readable by its owner alone before
// SQLite opens it: the history holds plans with their headers (often API
// tokens). SQLite gives the -wal and -shm files it creates the database
// file's mode; files an older surge left readable are narrowed too.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Close closes the database and releases the directory.
func (s *Store) Close() error {
	var errs []error
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if s.lock != nil {
		errs = append(errs, unlockDir(s.lock))
	}
	return errors.Join(errs...)
}

// interruptLeftovers marks runs that a dead process left running: they end
// at their last recorded point and keep what they had.
func (s *Store) interruptLeftovers(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT id, seen FROM runs WHERE status = ?`, Running)
	if err != nil {
		return err
	}
	type left struct {
		id   string
		seen int64
	}
	var ids []left
	for rows.Next() {
		var l left
		if err := rows.Scan(&l.id, &l.seen); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range ids {
		const why = "the server stopped while the run was in progress"
		if err := s.Interrupt(ctx, l.id, time.Unix(0, l.seen), why); err != nil {
			return err
		}
		s.log.Warn("run was in progress when the server stopped: marked interrupted", "run", l.id)
	}
	return nil
}

// Create adds a running run.
func (s *Store) Create(ctx context.Context, r Run) error {
	if r.Status == "" {
		r.Status = Running
	}
	if r.Kind == "" {
		r.Kind = KindLoad
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO runs (id, name, status, source, model, started, ended, plan, request, error, seen, kind)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Status, r.Source, r.Model, r.Started.UnixNano(), nullTime(r.Ended),
		string(r.Plan), nullJSON(r.Request), r.Error, time.Now().UnixNano(), r.Kind)
	if err != nil {
		return fmt.Errorf("creating run %s: %w", r.ID, writeError(err))
	}
	return nil
}

// Append records one interval of a running run: its timeline point (seq
// counts intervals from 0) and the summary so far. The summary's timeline is
// not stored with it; Summary rebuilds it from the points.
func (s *Store) Append(ctx context.Context, id string, seq int, p report.Point, sum *report.Summary) error {
	return s.AppendInterval(ctx, id, seq, p, sum, nil)
}

// AppendInterval is Append that also keeps the interval's encoded snapshot
// (metrics.EncodeSnapshot), from which Snapshots and the summaries built on
// them read. snapshot may be nil: a recorder older than snapshots sends
// none, and that interval then has only its point. The caller checks that
// snapshot decodes; the store refuses only one without a format version.
func (s *Store) AppendInterval(ctx context.Context, id string, seq int, p report.Point, sum *report.Summary, snapshot []byte) error {
	var version uint32
	if snapshot != nil {
		v, err := metrics.EncodedVersion(snapshot)
		if err == nil && v == 0 {
			err = errors.New("no format version")
		}
		if err != nil {
			return fmt.Errorf("recording interval of %s: snapshot: %w", id, err)
		}
		version = v
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("recording interval of %s: %w", id, err)
	}
	sj, err := marshalSummary(sum)
	if err != nil {
		return fmt.Errorf("recording interval of %s: %w", id, err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET summary = ?, seen = ? WHERE id = ? AND status = ?`,
			sj, time.Now().UnixNano(), id, Running)
		if err != nil {
			return err
		}
		if err := oneRow(ctx, tx, res, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO points (run_id, seq, point) VALUES (?, ?, ?)`, id, seq, string(pj))
		if err != nil || snapshot == nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO snapshots (run_id, seq, version, data) VALUES (?, ?, ?, ?)`,
			id, seq, version, snapshot)
		return err
	})
}

// MaxSnapshotsRead is the most snapshots one Snapshots call decodes: six
// hours of one-second intervals, about what a live run holds in memory
// for its final summary (docs/limits.md).
const MaxSnapshotsRead = 6 * 3600

// ErrTooManySnapshots: a Snapshots call asked for more than
// MaxSnapshotsRead intervals.
var ErrTooManySnapshots = errors.New("too many intervals to read at once")

// Snapshots returns the decoded snapshots of run id whose seq is in
// [from, to) (to < 0: to the end), in seq order, without their monitor
// samples, which MonitorSamples reads. Intervals recorded without
// a snapshot are missing from it: compare the seqs with what is expected. A
// stored snapshot that no longer decodes (a newer surge's version) fails
// the call, naming its seq.
func (s *Store) Snapshots(ctx context.Context, id string, from, to int) ([]metrics.Snapshot, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	if to < 0 {
		to = math.MaxInt32
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM snapshots WHERE run_id = ? AND seq >= ? AND seq < ?`,
		id, from, to).Scan(&n); err != nil {
		return nil, fmt.Errorf("reading snapshots of %s: %w", id, err)
	}
	if n > MaxSnapshotsRead {
		return nil, fmt.Errorf("reading snapshots of %s: %w: %d, at most %d", id, ErrTooManySnapshots, n, MaxSnapshotsRead)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, data FROM snapshots WHERE run_id = ? AND seq >= ? AND seq < ? ORDER BY seq`,
		id, from, to)
	if err != nil {
		return nil, fmt.Errorf("reading snapshots of %s: %w", id, err)
	}
	defer rows.Close()
	out := make([]metrics.Snapshot, 0, n)
	for rows.Next() {
		var seq int
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return nil, fmt.Errorf("reading snapshots of %s: %w", id, err)
		}
		snap, err := metrics.DecodeSnapshotLoad(data) // samples: MonitorSamples
		if err != nil {
			return nil, fmt.Errorf("reading snapshot %d of %s: %w", seq, id, err)
		}
		out = append(out, snap)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading snapshots of %s: %w", id, err)
	}
	return out, nil
}

// SnapshotCount is how many intervals of run id have a stored snapshot,
// and how many have a point.
func (s *Store) SnapshotCount(ctx context.Context, id string) (snapshots, points int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM snapshots WHERE run_id = ?), (SELECT count(*) FROM points WHERE run_id = ?)`,
		id, id).Scan(&snapshots, &points)
	if err != nil {
		err = fmt.Errorf("counting snapshots of %s: %w", id, err)
	}
	return snapshots, points, err
}

// Finish ends a running run with its final summary, whose timeline replaces
// the points recorded so far. sum may be nil (a run that failed to start).
func (s *Store) Finish(ctx context.Context, id string, st Status, why string, sum *report.Summary) error {
	ended := time.Now()
	var sj any
	if sum != nil {
		if t, err := time.Parse(time.RFC3339Nano, sum.Run.Ended); err == nil {
			ended = t
		}
		j, err := marshalSummary(sum)
		if err != nil {
			return fmt.Errorf("finishing run %s: %w", id, err)
		}
		sj = j
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended = ?, error = ?, summary = COALESCE(?, summary), seen = ?
			WHERE id = ? AND status = ?`, st, ended.UnixNano(), why, sj, time.Now().UnixNano(), id, Running)
		if err != nil {
			return err
		}
		if err := oneRow(ctx, tx, res, id); err != nil {
			return err
		}
		if sum == nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM points WHERE run_id = ?`, id); err != nil {
			return err
		}
		for i, p := range sum.Timeline {
			pj, err := json.Marshal(p)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO points (run_id, seq, point) VALUES (?, ?, ?)`, id, i, string(pj)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Interrupt ends a running run whose recorder went away, at time ended,
// keeping its points and last summary.
func (s *Store) Interrupt(ctx context.Context, id string, ended time.Time, why string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended = ?, error = ? WHERE id = ? AND status = ?`,
			Interrupted, ended.UnixNano(), why, id, Running)
		if err != nil {
			return err
		}
		if err := oneRow(ctx, tx, res, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO events (run_id, t, kind, detail) VALUES (?, ?, ?, ?)`,
			id, ended.UnixNano(), "interrupted", why)
		return err
	})
}

// AddEvent records something that happened during a run.
func (s *Store) AddEvent(ctx context.Context, id string, e Event) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO events (run_id, t, kind, detail) VALUES (?, ?, ?, ?)`,
		id, e.T.UnixNano(), e.Kind, e.Detail)
	if err != nil {
		return fmt.Errorf("recording event of %s: %w", id, writeError(err))
	}
	return nil
}

// Delete removes a run that is not running, with its points and events.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ? AND status != ?`, id, Running)
		if err != nil {
			return err
		}
		return oneRow(ctx, tx, res, id)
	})
}

// runColumns are read by scanRun. The figures come out of the summary's
// JSON in SQLite, so a list never decodes whole summaries.
const runColumns = `id, name, status, source, model, started, ended, plan, request, error, kind,
	json_extract(summary, '$.totals.requests'), json_extract(summary, '$.totals.rps'),
	json_extract(summary, '$.totals.error_rate'), json_extract(summary, '$.latency_ms.p99'),
	(SELECT min(json_extract(t.value, '$.ok')) FROM json_each(summary, '$.thresholds') AS t)`

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var started int64
	var ended sql.NullInt64
	var plan string
	var req sql.NullString
	var requests sql.NullInt64
	var rps, errRate, p99 sql.NullFloat64
	var passed sql.NullInt64
	if err := sc.Scan(&r.ID, &r.Name, &r.Status, &r.Source, &r.Model, &started, &ended, &plan, &req, &r.Error, &r.Kind,
		&requests, &rps, &errRate, &p99, &passed); err != nil {
		return Run{}, err
	}
	r.Figures = Figures{Requests: requests.Int64, RPS: rps.Float64, ErrorRate: errRate.Float64, P99: p99.Float64}
	if passed.Valid {
		ok := passed.Int64 != 0
		r.Figures.Passed = &ok
	}
	r.Started = time.Unix(0, started).UTC()
	if ended.Valid {
		r.Ended = time.Unix(0, ended.Int64).UTC()
	}
	r.Plan = json.RawMessage(plan)
	if req.Valid {
		r.Request = json.RawMessage(req.String)
	}
	return r, nil
}

// Get returns a run's metadata.
func (s *Store) Get(ctx context.Context, id string) (Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Run{}, fmt.Errorf("reading run %s: %w", id, err)
	}
	return r, nil
}

// List returns up to limit runs, newest first (limit ≤ 0: all).
func (s *Store) List(ctx context.Context, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY started DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	defer rows.Close()
	runs := []Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("listing runs: %w", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return runs, nil
}

// Recording returns the runs in progress that a `surge run --server`
// records (source cli), with when each last wrote. The server's own runs
// are not among them: their liveness is the server's to know.
func (s *Store) Recording(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, seen FROM runs WHERE status = ? AND source = ?`, Running, SourceCLI)
	if err != nil {
		return nil, fmt.Errorf("listing recorded runs: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var seen int64
		if err := rows.Scan(&id, &seen); err != nil {
			return nil, fmt.Errorf("listing recorded runs: %w", err)
		}
		out[id] = time.Unix(0, seen)
	}
	return out, rows.Err()
}

// Timeline returns a run's points in order.
func (s *Store) Timeline(ctx context.Context, id string) ([]report.Point, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT point FROM points WHERE run_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("reading timeline of %s: %w", id, err)
	}
	defer rows.Close()
	points := []report.Point{}
	for rows.Next() {
		var raw string
		var p report.Point
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("reading timeline of %s: %w", id, err)
		}
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, fmt.Errorf("reading timeline of %s: %w", id, err)
		}
		points = append(points, p)
	}
	return points, rows.Err()
}

// Summary returns a run's summary — the final one, or the latest so far —
// with its timeline, and its id and status as the store knows them. A run
// with no interval yet has an empty summary (ok is false).
func (s *Store) Summary(ctx context.Context, id string) (sum report.Summary, ok bool, err error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return sum, false, err
	}
	var raw sql.NullString
	if err := s.r.QueryRowContext(ctx, `SELECT summary FROM runs WHERE id = ?`, id).Scan(&raw); err != nil {
		return sum, false, fmt.Errorf("reading summary of %s: %w", id, err)
	}
	if raw.Valid {
		if err := json.Unmarshal([]byte(raw.String), &sum); err != nil {
			return sum, false, fmt.Errorf("reading summary of %s: %w", id, err)
		}
	}
	if sum.Timeline, err = s.Timeline(ctx, id); err != nil {
		return sum, false, err
	}
	sum.Run.ID, sum.Run.Status = r.ID, string(r.Status)
	if r.Status == Interrupted && !r.Ended.IsZero() && sum.Run.Ended == "" {
		sum.Run.Ended = r.Ended.Format(time.RFC3339Nano)
	}
	return sum, raw.Valid, nil
}

// Events returns what happened during a run, in time order.
func (s *Store) Events(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT t, kind, detail FROM events WHERE run_id = ? ORDER BY t, rowid`, id)
	if err != nil {
		return nil, fmt.Errorf("reading events of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var t int64
		if err := rows.Scan(&t, &e.Kind, &e.Detail); err != nil {
			return nil, fmt.Errorf("reading events of %s: %w", id, err)
		}
		e.T = time.Unix(0, t).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError(err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return writeError(err)
	}
	return writeError(tx.Commit())
}

// probeSize is what Probe writes: about an interval's worth of data.
const probeSize = 64 << 10

// Probe reports whether the store can write: it writes about an interval's
// worth of data in a transaction that leaves nothing behind. An error wraps
// ErrWrite.
func (s *Store) Probe(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		const id = "\x00probe" // no run id starts with a NUL
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (id, name, status, source, model, started, plan, seen)
			VALUES (?, '', 'probe', '', '', 0, CAST(zeroblob(?) AS TEXT), 0)`, id, probeSize); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id)
		return err
	})
}

// SetMaxSize caps the database file at about limit bytes, never below its
// size now (so 0 means "no more than it has"): writes that would grow it
// fail with ErrWrite, as on a full disk. A limit < 0 lifts the cap. It is a
// quota for a store on a shared disk, and the way tests fill the disk.
func (s *Store) SetMaxSize(ctx context.Context, limit int64) error {
	var pageSize int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return fmt.Errorf("capping the store: %w", err)
	}
	pages := int64(1<<32 - 2) // SQLite's largest
	if limit >= 0 {
		pages = max(limit/pageSize, 1) // 0 would only read the setting
	}
	// PRAGMA takes no bound parameters; pages is a number we computed.
	// SQLite raises a cap below the current size to the current size.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		return fmt.Errorf("capping the store: %w", err)
	}
	return nil
}

// oneRow turns an update that touched no row into ErrNotFound or ErrNotRunning.
func oneRow(ctx context.Context, tx *sql.Tx, res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var st string
	err = tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s is %s", ErrNotRunning, id, st)
}

func marshalSummary(sum *report.Summary) (string, error) {
	c := *sum
	c.Timeline = nil // kept as points
	b, err := json.Marshal(&c)
	return string(b), err
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
