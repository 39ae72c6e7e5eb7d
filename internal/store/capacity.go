package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Kinds of run (Run.Kind).
const (
	KindLoad     = "load"     // a load test: surge run, POST /api/v1/runs
	KindCapacity = "capacity" // a capacity search: POST /api/v1/capacity
)

// ErrNoCapacity: the run has no capacity result (it is not a capacity
// search, or its first step has not been saved yet).
var ErrNoCapacity = errors.New("run has no capacity result")

// ErrCapacityFinal: the run's capacity result is final and never changes.
var ErrCapacityFinal = errors.New("capacity result is final")

// SaveCapacity keeps run id's capacity result (surge.capacity/v1 as JSON):
// the steps so far while the search runs, then, with final, the result it
// returned. A final result is never replaced (ErrCapacityFinal); the run
// must exist (ErrNotFound).
func (s *Store) SaveCapacity(ctx context.Context, id string, result json.RawMessage, final bool) error {
	if !json.Valid(result) {
		return fmt.Errorf("saving the capacity result of %s: not JSON", id)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var was sql.NullBool
		err := tx.QueryRowContext(ctx, `SELECT c.final FROM runs r LEFT JOIN capacity c ON c.run_id = r.id WHERE r.id = ?`, id).Scan(&was)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		case err != nil:
			return fmt.Errorf("saving the capacity result of %s: %w", id, err)
		case was.Valid && was.Bool:
			return fmt.Errorf("saving the capacity result of %s: %w", id, ErrCapacityFinal)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO capacity (run_id, result, final) VALUES (?, ?, ?)
			ON CONFLICT (run_id) DO UPDATE SET result = excluded.result, final = excluded.final`, id, string(result), final)
		if err != nil {
			return fmt.Errorf("saving the capacity result of %s: %w", id, err)
		}
		return nil
	})
}

// Capacity returns run id's capacity result as saved, and whether it is
// final. It fails with ErrNotFound when there is no such run and with
// ErrNoCapacity when the run has no capacity result.
func (s *Store) Capacity(ctx context.Context, id string) (result json.RawMessage, final bool, err error) {
	var raw sql.NullString
	var fin sql.NullBool
	err = s.r.QueryRowContext(ctx, `SELECT c.result, c.final FROM runs r LEFT JOIN capacity c ON c.run_id = r.id WHERE r.id = ?`, id).Scan(&raw, &fin)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, fmt.Errorf("%w: %s", ErrNotFound, id)
	case err != nil:
		return nil, false, fmt.Errorf("reading the capacity result of %s: %w", id, err)
	case !raw.Valid:
		return nil, false, fmt.Errorf("%w: %s", ErrNoCapacity, id)
	}
	return json.RawMessage(raw.String), fin.Bool, nil
}

// CapacityHeadline is a capacity result's headline, for lists.
type CapacityHeadline struct {
	MaxRate    float64
	LowerBound bool
	Bottleneck string // its kind
	Steps      int
	Final      bool
}

// CapacityHeadlines returns the headlines of the capacity results of the
// runs among ids that have one, by run id, in one query (the figures come
// out of the JSON in SQLite).
func (s *Store) CapacityHeadlines(ctx context.Context, ids []string) (map[string]CapacityHeadline, error) {
	out := map[string]CapacityHeadline{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT run_id, json_extract(result, '$.max_rate'), json_extract(result, '$.lower_bound'),
		json_extract(result, '$.bottleneck.kind'), json_array_length(result, '$.steps'), final
		FROM capacity WHERE run_id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("reading capacity headlines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var maxRate sql.NullFloat64
		var lower sql.NullBool
		var kind sql.NullString
		var steps sql.NullInt64
		var h CapacityHeadline
		if err := rows.Scan(&id, &maxRate, &lower, &kind, &steps, &h.Final); err != nil {
			return nil, fmt.Errorf("reading capacity headlines: %w", err)
		}
		h.MaxRate, h.LowerBound, h.Bottleneck, h.Steps = maxRate.Float64, lower.Bool, kind.String, int(steps.Int64)
		out[id] = h
	}
	return out, rows.Err()
}
