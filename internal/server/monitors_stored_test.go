package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/monitor"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A run recorded as `surge run --server URL --monitor …` records it
// (a run session with a Recorder sink), scraping a real node_exporter and
// a real surge monitor on loopback:
//   - its live intervals carry the monitors' values, so the dashboard
//     charts them as they come;
//   - its stored intervals carry the samples, so the summary of a window
//     (?from=&to=) has the monitors of exactly that window: min, mean,
//     max and last over the samples sent in it, and the window's timeline
//     its values;
//   - its final summary has the monitors.
func TestRecordedRunStoresMonitorSamples(t *testing.T) {
	_, nodeURL := testutil.StartNodeExporter(t)
	smp, err := monitor.New(monitor.Options{PIDs: []int{os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	mon := httptest.NewServer(smp.Handler("", nil))
	t.Cleanup(mon.Close)
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startServer(t, server.Options{})
	rate, d := 40.0, 4*time.Second
	plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/api/items", Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	plan.Monitors = []scenario.Monitor{{Name: "node", URL: nodeURL}, {Name: "self", URL: mon.URL + "/metrics"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := server.NewRecorder(ctx, e.ts.URL, testSecret, plan, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	events := e.stream(ctx, "/api/v1/runs/"+rec.ID()+"/events")
	next(t, events, 5*time.Second, "state")
	sess := run.New(plan, run.Options{Sinks: []sink.Sink{rec}})
	if err := sess.Start(ctx); err != nil {
		t.Fatal(err)
	}
	live := 0
	for ev := range events {
		if ev.name == "end" {
			break
		}
		if ev.name != "interval" {
			continue
		}
		var iv server.Interval
		if err := json.Unmarshal(ev.data, &iv); err != nil {
			t.Fatal(err)
		}
		if v := iv.Point.Monitors["node"]["host_cpu_busy_percent"]; v != nil && *v >= 0 {
			live++
		}
		if _, ok := iv.Point.Monitors["self"]; !ok {
			t.Errorf("live interval %d has no monitor self: %v", iv.Seq, iv.Point.Monitors)
		}
		if len(iv.Summary.Monitors) != 2 {
			t.Errorf("live interval %d: summary so far has monitors %+v", iv.Seq, iv.Summary.Monitors)
		}
	}
	if _, err := sess.Wait(); err != nil {
		t.Fatal(err)
	}
	// Every interval but the last (a scrape in flight at the end) has its
	// sample in hand when it is sent (scrape.RunAligned).
	if live < 3 {
		t.Errorf("%d live intervals charted node's host CPU, want nearly all of 4", live)
	}
	t.Logf("%d live intervals charted node's host CPU", live)

	// The stored intervals carry the samples (store.Snapshots leaves them
	// out; MonitorSamples reads them).
	snaps, err := e.st.Snapshots(ctx, rec.ID(), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var samples []metrics.MonitorSample
	if err := e.st.MonitorSamples(ctx, rec.ID(), 0, -1, func(m metrics.MonitorSample) error {
		samples = append(samples, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var size, values int
	for i := range snaps {
		full := snaps[i]
		for _, m := range samples {
			if !m.T.Before(full.Start) && m.T.Before(full.End) {
				full.Monitors = append(full.Monitors, m)
			}
		}
		b, err := metrics.EncodeSnapshot(&full)
		if err != nil {
			t.Fatal(err)
		}
		size += len(b)
	}
	for _, s := range samples {
		values += len(s.Values)
	}
	t.Logf("%d intervals, %d samples of %d values in all: %d bytes encoded per interval", len(snaps), len(samples), values, size/len(snaps))
	if len(samples) < 2*len(snaps)-2 {
		t.Fatalf("%d stored samples over %d intervals of 2 monitors", len(samples), len(snaps))
	}
	final := e.summary(rec.ID())
	if len(final.Monitors) != 2 || final.Monitors[0].Scrapes < 3 {
		t.Fatalf("final summary's monitors: %+v", final.Monitors)
	}

	// A window: the intervals ending in (1 s, 3 s], and the samples sent
	// within their bounds, wherever they were stored.
	var win report.Summary
	e.json("GET", "/api/v1/runs/"+rec.ID()+"/summary?from=1&to=3", nil, http.StatusOK, &win)
	from, err := time.Parse(time.RFC3339Nano, win.Run.Started)
	if err != nil {
		t.Fatal(err)
	}
	to, _ := time.Parse(time.RFC3339Nano, win.Run.Ended)
	if len(win.Timeline) != 2 || len(win.Monitors) != 2 {
		t.Fatalf("window: %d intervals, monitors %+v", len(win.Timeline), win.Monitors)
	}
	for _, m := range win.Monitors {
		var in []metrics.MonitorSample
		for _, s := range samples {
			if s.Monitor == m.Name && !s.T.Before(from) && s.T.Before(to) {
				in = append(in, s)
			}
		}
		if m.Scrapes != len(in) || m.Scrapes == 0 || m.Scrapes >= final.Monitors[0].Scrapes {
			t.Errorf("window monitor %s: %d scrapes, %d samples were sent in it (the run had %d)", m.Name, m.Scrapes, len(in), final.Monitors[0].Scrapes)
		}
		want := "host_cpu_busy_percent"
		if m.Name == "self" {
			want = "process_rss_bytes"
		}
		got, ok := seriesOf(m, want)
		if !ok {
			t.Errorf("window monitor %s has no %s: %+v", m.Name, want, m.Series)
			continue
		}
		var lo, hi, sum, last float64 = math.Inf(1), math.Inf(-1), 0, 0
		n := 0
		for _, s := range in {
			for _, v := range s.Values {
				if v.Name == want {
					lo, hi, sum, last, n = min(lo, v.V), max(hi, v.V), sum+v.V, v.V, n+1
				}
			}
		}
		r := func(v float64) float64 { return math.Round(v*1000) / 1000 }
		if n == 0 || got.Min != r(lo) || got.Max != r(hi) || got.Last != r(last) || math.Abs(got.Mean-r(sum/float64(n))) > 0.001 {
			t.Errorf("window %s %s: %+v; want min %v mean %v max %v last %v over %d samples", m.Name, want, got, lo, sum/float64(n), hi, last, n)
		}
	}
	charted := 0
	for _, p := range win.Timeline {
		if v := p.Monitors["node"]["host_cpu_busy_percent"]; v != nil {
			charted++
		}
	}
	if charted == 0 {
		t.Errorf("the window's timeline charts no monitor value: %+v", win.Timeline)
	}
	// The whole run, rebuilt from the store, keeps the run's own monitors.
	var whole report.Summary
	e.json("GET", "/api/v1/runs/"+rec.ID()+"/summary", nil, http.StatusOK, &whole)
	if fmt.Sprint(whole.Monitors) != fmt.Sprint(final.Monitors) {
		t.Errorf("rebuilt whole run's monitors %+v\nwant the recorded %+v", whole.Monitors, final.Monitors)
	}
}

func seriesOf(m report.MonitorSummary, name string) (report.MonitorSeries, bool) {
	for _, s := range m.Series {
		if s.Name == name {
			return s, true
		}
	}
	return report.MonitorSeries{}, false
}
