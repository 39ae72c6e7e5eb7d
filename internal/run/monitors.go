package run

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
)

// monitorRun is one of the plan's monitors: its scraper and what its
// samples folded into.
type monitorRun struct {
	m    *scrape.Monitor // nil when the monitor could not be made (err says why)
	fold *report.MonitorFold
	err  string
}

// newMonitors makes a scraper and a fold for each of the plan's monitors,
// their scrapes timed on now, the run's clock (controller.Now).
func newMonitors(ms []scenario.Monitor, now func() time.Time, log *slog.Logger) []*monitorRun {
	var out []*monitorRun
	for _, pm := range ms {
		m, err := scrape.New(scrape.Target{Name: pm.Name, URL: pm.URL, Token: pm.Token, Allow: pm.Allow}, scrape.Options{Now: now})
		if err != nil {
			// A validated plan's monitors are valid; say so loudly if not.
			if log != nil {
				log.Warn("monitor not scraped", "monitor", pm.Name, "err", err)
			}
			out = append(out, &monitorRun{fold: report.NewMonitorFold(pm.Name, pm.URL), err: err.Error()})
			continue
		}
		out = append(out, &monitorRun{m: m, fold: report.NewMonitorFold(m.Target().Name, pm.URL)})
	}
	return out
}

// startMonitors starts one scraper per monitor, each on a goroutine of its
// own that hands its samples to the monitor's fold: a scrape never blocks
// or slows the run, and a slow target costs at most one interval per
// scrape (scrape.Monitor.Run). The returned func stops them (cancelling
// the scrapes in flight) and waits for them; the run's end calls it. The
// scrapers outlive a graceful stop's drain: they watch the target until
// the last in-flight request has finished.
func (s *Session) startMonitors(ctx context.Context) (stop func()) {
	if len(s.monitors) == 0 {
		return func() {}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, mr := range s.monitors {
		if mr.m == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Scrapes follow the run's intervals (scrape.RunAligned), so
			// each interval's sample is usually in hand when its snapshot
			// is taken and charted live with it.
			select {
			case <-s.ctl.Started():
			case <-sctx.Done():
				return
			}
			_, start := s.ctl.Live()
			_ = mr.m.RunAligned(sctx, start, s.interval, func(smp scrape.Sample) {
				s.monMu.Lock()
				mr.fold.Add(smp)
				if s.attach && len(s.pending) < metrics.MaxSnapshotMonitorSamples {
					s.pending = append(s.pending, smp.Metrics())
				}
				s.monMu.Unlock()
			})
		}()
	}
	return func() {
		cancel()
		wg.Wait()
		for _, mr := range s.monitors {
			if mr.m != nil {
				mr.m.Close()
			}
		}
	}
}

// monitorSink hands the run's sinks each merged snapshot with the monitor
// samples that came since the previous one (metrics.Snapshot.Monitors),
// so that whatever records the run — the server's history, a `surge run
// --server` — stores the target's side with the load's, interval by
// interval, and shows it live. A sample usually comes within the interval
// it was sent in, before that interval's snapshot is taken; one that comes
// later travels with the next snapshot, and readers place every sample by
// its time.
type monitorSink struct {
	s    *Session
	next sink.Sink
}

func (m *monitorSink) Consume(ctx context.Context, snap metrics.Snapshot) error {
	m.s.monMu.Lock()
	snap.Monitors, m.s.pending = m.s.pending, nil
	m.s.monMu.Unlock()
	return m.next.Consume(ctx, snap)
}

func (m *monitorSink) Close(ctx context.Context) error { return m.next.Close(ctx) }

// Monitors returns what the plan's monitors gave so far, in the plan's
// order: final once Wait has returned. During the run it may wait for a
// scrape in flight (at most one interval).
func (s *Session) Monitors() []report.MonitorData {
	stats := make([]scrape.Stats, len(s.monitors))
	for i, mr := range s.monitors {
		if mr.m != nil {
			stats[i] = mr.m.Stats()
		}
	}
	s.monMu.Lock()
	defer s.monMu.Unlock()
	out := make([]report.MonitorData, 0, len(s.monitors))
	for i, mr := range s.monitors {
		d := mr.fold.Data(stats[i])
		if mr.err != "" {
			d.LastError = mr.err
		}
		out = append(out, d)
	}
	return out
}

// Summary is the summary of the session's run, which ended with res (from
// Wait): report.Build with the monitors' data added (report.AddMonitors),
// which also evaluates the thresholds on monitor series. Every front-end
// (the CLI, the server's own runs, the Go API) builds its summary here, so
// none can leave the monitors out. id names the run; cores is the
// generator's GOMAXPROCS, as report.Build takes it.
func (s *Session) Summary(id string, res *controller.Result, cores int) report.Summary {
	sum := report.Build(id, res, cores)
	report.AddMonitors(&sum, res, s.Monitors())
	return sum
}
