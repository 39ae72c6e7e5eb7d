package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
)

// progress redraws one status line per interval on a terminal.
type progress struct {
	w        io.Writer
	total    time.Duration // planned length; 0 when bounded by a request budget only
	started  time.Time
	requests int64
	errors   int64
}

var _ sink.Sink = (*progress)(nil)

func newProgress(w io.Writer, p scenario.Plan) *progress {
	return &progress{w: w, total: p.Load.Profile().Duration()}
}

func (p *progress) Consume(_ context.Context, s metrics.Snapshot) error {
	if p.started.IsZero() {
		p.started = s.Start
	}
	t := s.Totals()
	p.requests += t.Requests
	p.errors += t.Errors()
	elapsed := s.End.Sub(p.started).Round(time.Second)
	of := ""
	if p.total > 0 {
		of = "/" + p.total.String()
		if elapsed > p.total {
			elapsed, of = p.total, of+" (finishing in-flight requests)"
		}
	}
	rps := 0.0
	if d := s.Duration().Seconds(); d > 0 {
		rps = float64(t.Requests) / d
	}
	errPct := 0.0
	if p.requests > 0 {
		errPct = 100 * float64(p.errors) / float64(p.requests)
	}
	_, err := fmt.Fprintf(p.w, "\r\033[K  %s%s  vus %d  rps %.0f  p99 %s  requests %d  errors %d (%.2f%%)",
		elapsed, of, s.VUs, rps, roundLatency(t.Latency.Quantile(0.99)), p.requests, p.errors, errPct)
	return err
}

func (p *progress) Close(context.Context) error {
	_, err := fmt.Fprint(p.w, "\r\033[K")
	return err
}

// roundLatency keeps two or three significant digits.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
