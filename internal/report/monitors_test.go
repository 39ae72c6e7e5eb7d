package report_test

import (
	"bytes"
	"encoding/json"
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

// monitorFixture is a 6-interval run with two monitors: "api" (a host
// whose CPU sits at its limit in 3 of 6 intervals, one gunicorn worker
// pinned at its core, a failed scrape, one sample after the last interval)
// and "db" (refused every time).
func monitorFixture(t *testing.T) (*report.Summary, []report.MonitorData) {
	t.Helper()
	t0 := time.Date(2026, 11, 20, 14, 3, 7, 0, time.UTC)
	var tl []metrics.Snapshot
	for i := range 6 {
		tl = append(tl, metrics.Snapshot{Seq: i, Start: t0.Add(time.Duration(i) * time.Second), End: t0.Add(time.Duration(i+1) * time.Second)})
	}
	res := &controller.Result{
		Plan:    scenario.Plan{Name: "monitored", Load: scenario.Load{Model: engine.Open, Rate: 100, Duration: 6 * time.Second}, Timeout: time.Second},
		Started: t0, Ended: t0.Add(6 * time.Second), Timeline: tl, Total: metrics.Add(tl...),
	}
	s := report.Build("r-1", res, 2)
	worker := map[string]string{"name": "gunicorn", "pid": "4242"}
	cpu := []float64{-1, 97, 98, 50, 96, -2, 40} // -1: no rates yet, -2: failed
	api := report.NewMonitorFold("api", "http://127.0.0.1:9465/metrics")
	for i, c := range cpu {
		smp := scrape.Sample{Monitor: "api", T: t0.Add(time.Duration(i)*time.Second + 100*time.Millisecond)}
		switch {
		case c == -2:
			smp.Err = "scraping http://127.0.0.1:9465/metrics: timed out after 1s"
		default:
			if c >= 0 {
				smp.Values = append(smp.Values,
					scrape.Value{Name: scrape.HostCPUBusyCores, Unit: "cores", Derived: true, V: c / 50},
					scrape.Value{Name: scrape.HostCPUBusyPercent, Unit: "%", Derived: true, V: c},
					scrape.Value{Name: scrape.HostListenOverflows, Unit: "/s", Derived: true, V: float64(i) * 1.5},
					scrape.Value{Name: scrape.ProcessCPUCores, Labels: worker, Unit: "cores", Derived: true, V: 0.99},
					scrape.Value{Name: scrape.ProcessCPUPercent, Labels: worker, Unit: "%", Derived: true, V: 99})
			}
			smp.Values = append(smp.Values,
				scrape.Value{Name: scrape.HostMemoryAvailable, Unit: "B", Derived: true, V: float64(2<<30 - i*(100<<20))},
				scrape.Value{Name: scrape.ProcessRSS, Labels: worker, Unit: "B", Derived: true, V: float64(120<<20 + i*(1<<20))},
				scrape.Value{Name: "node_load1", V: 1.25 + float64(i)/4})
		}
		api.Add(smp)
	}
	db := report.NewMonitorFold("db", "http://127.0.0.1:1/metrics")
	for i := range 6 {
		db.Add(scrape.Sample{Monitor: "db", T: t0.Add(time.Duration(i) * time.Second), Err: "scraping http://127.0.0.1:1/metrics: dial tcp 127.0.0.1:1: connect: connection refused"})
	}
	mons := []report.MonitorData{
		api.Data(scrape.Stats{Scrapes: 7, Failed: 1, DroppedSeries: 12, DroppedNames: []string{"go_gc_duration_seconds"}}),
		db.Data(scrape.Stats{Scrapes: 6, Failed: 6}),
	}
	report.AddMonitors(&s, res, mons)
	return &s, mons
}

// TestMonitorText: the terminal block per monitor and the at-limit
// warnings (golden).
func TestMonitorText(t *testing.T) {
	s, _ := monitorFixture(t)
	var b bytes.Buffer
	if err := report.WriteText(&b, s); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, b.Bytes())
	// The worker at 99 % in intervals 1–4 (the last sample is after the
	// run, interval 5's scrape failed), the host at ≥ 95 % in 1, 2 and 4.
	for _, want := range []string{"⚠ Monitor api: host CPU sat at its CPU limit (≥ 95%) in 3 of 6 intervals",
		`⚠ Monitor api: process {name="gunicorn",pid="4242"} sat at its CPU limit (≥ 95%) in 4 of 6 intervals`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no warning %q in\n%s", want, b.String())
		}
	}
}

// TestMonitorJSON: the summary's monitors and the timeline's per-interval
// monitor values (golden), and what they must say.
func TestMonitorJSON(t *testing.T) {
	s, _ := monitorFixture(t)
	part := struct {
		Monitors []report.MonitorSummary          `json:"monitors"`
		Timeline []map[string]map[string]*float64 `json:"timeline_monitors"`
		Warnings []string                         `json:"warnings"`
	}{Monitors: s.Monitors, Warnings: s.Warnings}
	for _, p := range s.Timeline {
		part.Timeline = append(part.Timeline, p.Monitors)
	}
	b, err := json.MarshalIndent(part, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, append(b, '\n'))

	api := s.Monitors[0]
	if api.Scrapes != 7 || api.Failed != 1 || api.DroppedSeries != 12 || api.Series[0].Name != scrape.HostCPUBusyCores {
		t.Errorf("api = %+v", api)
	}
	for _, ss := range api.Series {
		if ss.Name == scrape.HostCPUBusyPercent && (ss.Min != 40 || ss.Max != 98 || ss.Last != 40 || ss.Mean != (97+98+50+96+40)/5.0) {
			t.Errorf("host cpu = %+v", ss)
		}
	}
	// Interval 5 had the failed scrape: nulls; interval 0 the first,
	// without rates: CPU null, memory set.
	key := scrape.HostCPUBusyPercent
	if v := s.Timeline[5].Monitors["api"]; v[key] != nil || v[scrape.HostMemoryAvailable] != nil || len(v) != 5 {
		t.Errorf("interval 5 (failed scrape): %v, want 5 nulls", v)
	}
	if v := s.Timeline[0].Monitors["api"]; v[key] != nil || v[scrape.HostMemoryAvailable] == nil {
		t.Errorf("interval 0: %v", v)
	}
	if v := s.Timeline[2].Monitors["api"][key]; v == nil || *v != 98 {
		t.Errorf("interval 2: cpu %v, want 98", v)
	}
	if _, ok := s.Timeline[1].Monitors["api"]["node_load1"]; ok {
		t.Error("a series that is not derived is on the timeline")
	}
	if db := s.Monitors[1]; db.Failed != db.Scrapes || len(db.Series) != 0 || !strings.Contains(db.LastError, "connection refused") {
		t.Errorf("db = %+v", db)
	}
}

// TestNoMonitorsNoFields: without monitors the summary has neither field.
func TestNoMonitorsNoFields(t *testing.T) {
	s := htmlFixture()
	report.AddMonitors(s, &controller.Result{}, nil)
	var b bytes.Buffer
	if err := report.WriteJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `"monitors"`) {
		t.Error("a summary without monitors has a monitors field")
	}
}
