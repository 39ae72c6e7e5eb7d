package report_test

import (
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// MonitorsFromSnapshots places each sample by its time, whichever
// snapshot carried it, keeps the plan's monitors in order (one without
// samples in the window has no scrapes), counts scrapes, failures and
// dropped series from the samples, and says when there is nothing to say.
func TestMonitorsFromSnapshots(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	val := func(v float64) []metrics.MonitorValue {
		return []metrics.MonitorValue{{Name: "host_cpu_busy_percent", Unit: "%", Derived: true, V: v}}
	}
	snaps := []metrics.Snapshot{
		{Seq: 0, Start: at(0), End: at(1000), Monitors: []metrics.MonitorSample{{Monitor: "api", T: at(-50), Values: val(1)}, {Monitor: "api", T: at(950), Values: val(10)}}},
		// interval 1's scrape came late, with interval 2's snapshot
		{Seq: 1, Start: at(1000), End: at(2000)},
		{Seq: 2, Start: at(2000), End: at(3000), Monitors: []metrics.MonitorSample{
			{Monitor: "api", T: at(1950), Values: val(20), Dropped: 5},
			{Monitor: "api", T: at(2950), Values: val(30), Dropped: 2},
			{Monitor: "db", T: at(2960), Err: "refused"},
		}},
	}
	plan := []scenario.Monitor{{Name: "db", URL: "http://127.0.0.1:2/metrics"}, {Name: "api", URL: "http://127.0.0.1:1/metrics"}, {Name: "idle", URL: "http://127.0.0.1:3/metrics"}}
	for _, tc := range []struct {
		name                       string
		from, to                   time.Time
		scrapes, failed, dropped   int
		min, mean, max, last       float64
		dbScrapes, dbFailed, idleN int
	}{
		{"whole run, with the sample before interval 0", time.Time{}, time.Time{}, 4, 0, 7, 1, 15.25, 30, 30, 1, 1, 0},
		{"intervals 1 and 2: the late sample is placed by its time", at(1000), at(3000), 2, 0, 7, 20, 25, 30, 30, 1, 1, 0},
		{"interval 1 only", at(1000), at(2000), 1, 0, 5, 20, 20, 20, 20, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, ok := report.MonitorsFromSnapshots(plan, snaps, tc.from, tc.to)
			if !ok || len(data) != 3 || data[0].Name != "db" || data[1].Name != "api" || data[2].Name != "idle" || data[1].URL != "http://127.0.0.1:1/metrics" {
				t.Fatalf("ok %v, data %+v", ok, data)
			}
			api, db := data[1], data[0]
			if api.Stats.Scrapes != tc.scrapes || api.Stats.Failed != tc.failed || api.Stats.DroppedSeries != tc.dropped {
				t.Errorf("api stats %+v", api.Stats)
			}
			if s := api.Series[0]; s.Min != tc.min || s.Max != tc.max || s.Last != tc.last || s.Mean != tc.mean {
				t.Errorf("api series %+v, want min %v mean %v max %v last %v", s, tc.min, tc.mean, tc.max, tc.last)
			}
			if db.Stats.Scrapes != tc.dbScrapes || db.Stats.Failed != tc.dbFailed || data[2].Stats.Scrapes != tc.idleN {
				t.Errorf("db %+v, idle %+v", db.Stats, data[2].Stats)
			}
		})
	}
	if data, ok := report.MonitorsFromSnapshots(plan, snaps[1:2], time.Time{}, time.Time{}); ok || data != nil {
		t.Errorf("snapshots without samples: %v %+v, want nothing to say", ok, data)
	}
}
