package report_test

import (
	"bytes"
	"fmt"
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

var edgeT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// runOf is a summary of an n-interval run of one second each.
func runOf(n int) (*report.Summary, *controller.Result) {
	var tl []metrics.Snapshot
	for i := range n {
		tl = append(tl, metrics.Snapshot{Seq: i, Start: edgeT0.Add(time.Duration(i) * time.Second), End: edgeT0.Add(time.Duration(i+1) * time.Second)})
	}
	res := &controller.Result{
		Plan:    scenario.Plan{Name: "edges", Load: scenario.Load{Model: engine.Open, Rate: 10, Duration: time.Duration(n) * time.Second}, Timeout: time.Second},
		Started: edgeT0, Ended: edgeT0.Add(time.Duration(n) * time.Second), Timeline: tl, Total: metrics.Add(tl...),
	}
	s := report.Build("r-edges", res, 1)
	return &s, res
}

// hostCPU folds one scrape per interval whose host CPU is cpu[i].
func hostCPU(cpu ...float64) report.MonitorData {
	f := report.NewMonitorFold("api", "http://127.0.0.1:9465/metrics")
	for i, c := range cpu {
		f.Add(scrape.Sample{Monitor: "api", T: edgeT0.Add(time.Duration(i)*time.Second + 100*time.Millisecond),
			Values: []scrape.Value{{Name: scrape.HostCPUBusyPercent, Unit: "%", Derived: true, V: c}}})
	}
	return f.Data(scrape.Stats{Scrapes: len(cpu)})
}

// A CPU "sits at its limit" at 95 % and above, and the warning needs a
// third of the intervals or more.
func TestMonitorAtLimitBoundaries(t *testing.T) {
	cases := []struct {
		name string
		cpu  []float64
		warn string // "": no warning
	}{
		{"exactly 95 % in a third of the intervals", []float64{95, 10, 10}, "host CPU sat at its CPU limit (≥ 95%) in 1 of 3 intervals"},
		{"just below 95 %", []float64{94.99, 94.99, 94.99}, ""},
		{"at the limit in less than a third", []float64{99, 10, 10, 10}, ""},
		{"at the limit in two of six", []float64{99, 10, 99, 10, 10, 10}, "in 2 of 6 intervals"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, res := runOf(len(c.cpu))
			report.AddMonitors(s, res, []report.MonitorData{hostCPU(c.cpu...)})
			var got []string
			for _, w := range s.Warnings {
				if strings.HasPrefix(w, "monitor ") {
					got = append(got, w)
				}
			}
			switch {
			case c.warn == "" && len(got) > 0:
				t.Errorf("warnings %q, want none", got)
			case c.warn != "" && (len(got) != 1 || !strings.Contains(got[0], c.warn)):
				t.Errorf("warnings %q, want one saying %q", got, c.warn)
			}
		})
	}
}

// A scrape keeps at most 64 timeline series and 64 limit series, however
// many processes the monitor watches.
func TestMonitorPointSeriesCap(t *testing.T) {
	f := report.NewMonitorFold("api", "http://127.0.0.1:9465/metrics")
	smp := scrape.Sample{Monitor: "api", T: edgeT0}
	for pid := range 100 {
		smp.Values = append(smp.Values, scrape.Value{Name: scrape.ProcessCPUPercent, Unit: "%", Derived: true, V: 50,
			Labels: map[string]string{"name": "worker", "pid": fmt.Sprint(pid)}})
	}
	f.Add(smp)
	d := f.Data(scrape.Stats{Scrapes: 1})
	if p := d.Points[0]; len(p.Values) != 64 || len(p.Limits) != 64 {
		t.Errorf("a point of %d values and %d limits, want 64 of each", len(p.Values), len(p.Limits))
	}
	if len(d.Series) != 100 {
		t.Errorf("%d series summaries, want all 100", len(d.Series))
	}
}

// A monitor not scraped yet (a run shorter than one scrape) has failed no
// scrape: the report and its thresholds say it has no data, not that
// every scrape failed.
func TestMonitorWithoutScrapes(t *testing.T) {
	s, res := runOf(2)
	s.Thresholds = []report.ThresholdOutcome{{Expr: "monitor[api].host_cpu < 80%"}}
	report.AddMonitors(s, res, []report.MonitorData{report.NewMonitorFold("api", "http://127.0.0.1:9465/metrics").Data(scrape.Stats{})})
	var b bytes.Buffer
	if err := report.WriteText(&b, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "every scrape failed") {
		t.Errorf("the text says every scrape failed:\n%s", b.String())
	}
	if o := s.Thresholds[0]; o.OK || o.Error == "" || strings.Contains(o.Error, "every scrape failed") {
		t.Errorf("threshold %+v, want it failed for want of the series, not of scrapes", o)
	}
}

// The terminal block: no "host" line for a monitor without host series,
// and a process's CPU in cores when it has no percentage of a limit (its
// other series, such as its memory, do not hide it).
func TestMonitorTextProcessOnly(t *testing.T) {
	s, res := runOf(1)
	f := report.NewMonitorFold("api", "http://127.0.0.1:9465/metrics")
	worker := map[string]string{"name": "gunicorn", "pid": "7"}
	f.Add(scrape.Sample{Monitor: "api", T: edgeT0.Add(100 * time.Millisecond), Values: []scrape.Value{
		{Name: scrape.ProcessCPUCores, Labels: worker, Unit: "cores", Derived: true, V: 0.5},
		{Name: scrape.ProcessRSS, Labels: worker, Unit: "B", Derived: true, V: 100 << 20},
	}})
	report.AddMonitors(s, res, []report.MonitorData{f.Data(scrape.Stats{Scrapes: 1})})
	var b bytes.Buffer
	if err := report.WriteText(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "    host ") {
		t.Errorf("a host line without host series:\n%s", out)
	}
	if !strings.Contains(out, "    process  gunicorn[7] cpu peak 0.50 cores\n") {
		t.Errorf("no process line in cores:\n%s", out)
	}
}
