package report_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// Thresholds on monitor series are evaluated where the monitors are
// added: on the series' worst moment, with an error naming a monitor or
// series the run lacks; the load's thresholds are left as Build made them.
func TestMonitorThresholds(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 14, 3, 7, 0, time.UTC)
	var tl []metrics.Snapshot
	for i := range 3 {
		tl = append(tl, metrics.Snapshot{Seq: i, Start: t0.Add(time.Duration(i) * time.Second), End: t0.Add(time.Duration(i+1) * time.Second)})
	}
	exprs := []string{
		"requests >= 0",
		"monitor[api].process_cpu < 80%",           // max 99: fails
		"monitor[api].process_cpu > 30%",           // min 40: holds
		"monitor[api].testbed_workers_queued <= 3", // max 3: holds
		"monitor[api].testbed_workers_queued == 0", // fails: 3
		"monitor[api].process_rss < 1GiB",
		"monitor[ap].process_cpu < 80%",
		"monitor[api].testbed_worker_queued < 3",
		"monitor[down].host_cpu < 90%",
	}
	res := &controller.Result{
		Plan:    scenario.Plan{Name: "m", Load: scenario.Load{Model: engine.Open, Rate: 10, Duration: 3 * time.Second}, Timeout: time.Second, Thresholds: exprs},
		Started: t0, Ended: t0.Add(3 * time.Second), Timeline: tl, Total: metrics.Add(tl...),
	}
	s := report.Build("r-1", res, 2)
	for i, o := range s.Thresholds[1:] {
		if o.OK || !strings.Contains(o.Error, "no monitor named") {
			t.Errorf("Build, before the monitors: %q = %+v, want an error naming the monitor", exprs[i+1], o)
		}
	}
	api := report.NewMonitorFold("api", "http://127.0.0.1:9465/metrics")
	worker := map[string]string{"name": "gunicorn", "pid": "4242"}
	for i, c := range []float64{40, 99, 60} {
		api.Add(scrape.Sample{Monitor: "api", T: t0.Add(time.Duration(i)*time.Second + 100*time.Millisecond), Values: []scrape.Value{
			{Name: scrape.ProcessCPUPercent, Labels: worker, Unit: "%", Derived: true, V: c},
			{Name: scrape.ProcessRSS, Labels: worker, Unit: "B", Derived: true, V: 100 << 20},
			{Name: "testbed_workers_queued", V: float64(i + 1)},
		}})
	}
	down := report.NewMonitorFold("down", "http://127.0.0.1:1/metrics")
	down.Add(scrape.Sample{Monitor: "down", T: t0, Err: "connection refused"})
	report.AddMonitors(&s, res, []report.MonitorData{api.Data(scrape.Stats{Scrapes: 3}), down.Data(scrape.Stats{Scrapes: 1, Failed: 1})})

	want := []struct {
		ok    bool
		value float64
		unit  string
		err   string
	}{
		{ok: true},
		{false, 99, "%", ""},
		{true, 40, "%", ""},
		{true, 3, "", ""},
		{false, 3, "", ""},
		{true, 100 << 20, "B", ""},
		{err: `no monitor named "ap"; did you mean "api"?`},
		{err: `monitor "api" has no series named "testbed_worker_queued"; did you mean "testbed_workers_queued"?`},
		{err: `monitor "down": every scrape failed (connection refused)`},
	}
	if len(s.Thresholds) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(s.Thresholds), len(want))
	}
	for i, w := range want {
		o := s.Thresholds[i]
		if o.Expr != exprs[i] || o.OK != w.ok || o.Error != w.err || (w.err == "" && i > 0 && (o.Value != w.value || o.Unit != w.unit)) {
			t.Errorf("%q = %+v, want ok %v value %v unit %q error %q", exprs[i], o, w.ok, w.value, w.unit, w.err)
		}
	}
	if s.Passed() {
		t.Error("Passed with failing monitor thresholds")
	}

	// A summary rebuilt from the run's snapshots gets the recorded
	// monitors back, and its monitor thresholds the same verdicts.
	rebuilt := report.Build("r-1", res, 2)
	if reflect.DeepEqual(rebuilt.Thresholds, s.Thresholds) {
		t.Fatal("the rebuilt summary's monitor thresholds were judged without monitors")
	}
	report.CarryMonitors(&rebuilt, &s)
	if !reflect.DeepEqual(rebuilt.Monitors, s.Monitors) || !reflect.DeepEqual(rebuilt.Thresholds, s.Thresholds) ||
		!reflect.DeepEqual(rebuilt.Timeline, s.Timeline) || !reflect.DeepEqual(rebuilt.Warnings, s.Warnings) {
		t.Errorf("CarryMonitors: rebuilt\n%+v\nwant\n%+v", rebuilt, s)
	}
}
