package store

import (
	"context"
	"fmt"
	"math"

	"github.com/surgeload/surge/internal/metrics"
)

// MonitorSamples calls f with each monitor sample stored with the
// intervals of run id whose seq is in [from, to) (to < 0: to the end), in
// seq order and, within an interval, in the order they came: one
// monitor's samples come in the order they were sent (its scrapes follow
// one another). It decodes only the samples (metrics.DecodeMonitorSamples)
// and holds one interval's at a time, so a long run's are read in bounded
// memory. An error of f ends the call with it.
func (s *Store) MonitorSamples(ctx context.Context, id string, from, to int, f func(metrics.MonitorSample) error) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if to < 0 {
		to = math.MaxInt32
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, data FROM snapshots WHERE run_id = ? AND seq >= ? AND seq < ? ORDER BY seq`,
		id, from, to)
	if err != nil {
		return fmt.Errorf("reading monitor samples of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return fmt.Errorf("reading monitor samples of %s: %w", id, err)
		}
		ms, err := metrics.DecodeMonitorSamples(data)
		if err != nil {
			return fmt.Errorf("reading snapshot %d of %s: %w", seq, id, err)
		}
		for _, m := range ms {
			if err := f(m); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading monitor samples of %s: %w", id, err)
	}
	return nil
}
