package run_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// samples is a sink that keeps the monitor samples its snapshots carry.
type samples struct {
	mu   sync.Mutex
	got  []metrics.MonitorSample
	seqs []int
}

func (c *samples) Consume(_ context.Context, s metrics.Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, s.Monitors...)
	c.seqs = append(c.seqs, s.Seq)
	return nil
}

func (c *samples) Close(context.Context) error { return nil }

var _ sink.Sink = (*samples)(nil)

// A real node_exporter killed in the middle of a run: the run runs its
// course with every request counted, the monitor's later scrapes fail
// (counted, a gap on the timeline) and the ones before succeed; every
// sample reaches the sinks inside the snapshots exactly once, in time
// order, each with the snapshot of the interval it was sent in or a
// later one.
func TestRunWithANodeExporterKilledMidRun(t *testing.T) {
	cmd, url := testutil.StartNodeExporter(t)
	tb := testutil.StartTarget(t, testbed.Options{})
	rate, d := 50.0, 3*time.Second
	plan := quickPlan(t, tb.URL()+"/hello", scenario.Overrides{Rate: &rate, Duration: &d,
		Monitors: []scenario.Monitor{{Name: "node", URL: url}}})
	k := &samples{}
	s := run.New(plan, run.Options{Sinks: []sink.Sink{k}, Interval: 500 * time.Millisecond})
	start := time.Now()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1300 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > d+time.Second {
		t.Errorf("the run took %v for %v", took, d)
	}
	if got := res.Total.Totals().Requests; got != 150 || got != tb.Count() {
		t.Errorf("requests %d, the target saw %d; want 150", got, tb.Count())
	}
	m := s.Monitors()[0]
	if m.Stats.Failed == 0 || m.Stats.Scrapes-m.Stats.Failed < 2 || !strings.Contains(m.LastError, "refused") {
		t.Errorf("monitor: %+v, last error %q; want ≥ 2 good scrapes, then refused ones", m.Stats, m.LastError)
	}
	sum := s.Summary("r", res, 1)
	if sum.Monitors[0].Failed != m.Stats.Failed || sum.Run.Status != "finished" && sum.Run.Status != "" {
		t.Errorf("summary: monitors %+v, status %q", sum.Monitors, sum.Run.Status)
	}
	gaps := 0
	for _, p := range sum.Timeline {
		if v, ok := p.Monitors["node"]["host_cpu_busy_percent"]; ok && v == nil {
			gaps++
		}
	}
	if gaps == 0 {
		t.Errorf("no gap on the timeline after the kill: %+v", sum.Timeline)
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	failed := 0
	for i, smp := range k.got {
		if smp.Monitor != "node" || (i > 0 && smp.T.Before(k.got[i-1].T)) {
			t.Errorf("sample %d: %s at %v", i, smp.Monitor, smp.T)
		}
		if smp.Err != "" {
			failed++
			if len(smp.Values) > 0 {
				t.Errorf("a failed sample with values: %+v", smp)
			}
		}
	}
	// The scrapes still in flight when the last snapshot was taken (at
	// most one per monitor) are in the run's summary only.
	if n := len(k.got); n > m.Stats.Scrapes || n < m.Stats.Scrapes-1 || failed == 0 {
		t.Errorf("the sinks got %d samples (%d failed) in %d snapshots; the monitor made %d scrapes (%d failed)",
			n, failed, len(k.seqs), m.Stats.Scrapes, m.Stats.Failed)
	}
}

// The testbed's DB-like pool run dry by 8 users on 4 connections, seen
// through its own /metrics: the run's monitor shows every connection busy
// and requests waiting, and a threshold on the waiters fails at the peak
// (docs/monitor.md's story, end to end).
func TestRunShowsTheTestbedDBPoolRunningDry(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{DBConns: 4, DBTime: 20 * time.Millisecond})
	vus, d := 8, 2*time.Second
	plan := quickPlan(t, tb.URL()+"/db", scenario.Overrides{VUs: &vus, Duration: &d,
		Monitors:   []scenario.Monitor{{Name: "tb", URL: tb.URL() + "/metrics"}},
		Thresholds: []string{"monitor[tb].testbed_db_waiters < 1"}})
	s := run.New(plan, run.Options{Interval: 250 * time.Millisecond})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	sum := s.Summary("r", res, 1)
	peak := map[string]float64{}
	for _, ss := range sum.Monitors[0].Series {
		peak[ss.Name] = ss.Max
	}
	if peak["testbed_db_connections"] != 4 || peak["testbed_db_connections_busy"] != 4 || peak["testbed_db_waiters"] < 1 || peak["testbed_db_waiters"] > 4 {
		t.Errorf("peaks: connections %v, busy %v, waiters %v; want 4, 4 and 1–4", peak["testbed_db_connections"],
			peak["testbed_db_connections_busy"], peak["testbed_db_waiters"])
	}
	if th := sum.Thresholds[0]; th.OK || th.Error != "" || th.Value != peak["testbed_db_waiters"] {
		t.Errorf("threshold %+v, want a failure at the peak waiters %v", th, peak["testbed_db_waiters"])
	}
}
