package report_test

import (
	"bytes"
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

// The at-limit warning covers memory as it does CPU, in the summary's
// warnings and the terminal text: the host with MemAvailable near zero, a
// cgroup's memory.current near its memory.max, a process's RSS near its
// cgroup's limit. A resource whose limit is unknown (no percentage series)
// is never said to sit at one, however large it is.
func TestMonitorMemoryAtLimit(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 14, 3, 7, 0, time.UTC)
	var tl []metrics.Snapshot
	for i := range 6 {
		tl = append(tl, metrics.Snapshot{Seq: i, Start: t0.Add(time.Duration(i) * time.Second), End: t0.Add(time.Duration(i+1) * time.Second)})
	}
	res := &controller.Result{
		Plan:    scenario.Plan{Name: "memory", Load: scenario.Load{Model: engine.Open, Rate: 10, Duration: 6 * time.Second}, Timeout: time.Second},
		Started: t0, Ended: t0.Add(6 * time.Second), Timeline: tl, Total: metrics.Add(tl...),
	}
	for _, tc := range []struct {
		name     string
		series   string
		labels   map[string]string
		pct      []float64 // per interval
		want     string    // a warning that must be there ("" none)
		wantText string
	}{
		{"host memory in 2 of 6: at the third", scrape.HostMemoryUsedPercent, nil, []float64{50, 96, 97, 60, 60, 60},
			"monitor api: host sat at its memory limit (≥ 95% of MemTotal in use: MemAvailable near zero) in 2 of 6 intervals", "memory used peak 97%"},
		{"host memory in 1 of 6: no warning", scrape.HostMemoryUsedPercent, nil, []float64{50, 99, 60, 60, 60, 60}, "", "memory used peak 99%"},
		{"cgroup at memory.max", scrape.CgroupMemoryUsedPercent, map[string]string{"cgroup": "system.slice/api.service"}, []float64{99, 99, 99, 99, 99, 99},
			`monitor api: cgroup {cgroup="system.slice/api.service"} sat at its memory limit (≥ 95% of memory.max`, "cgroup   system.slice/api.service memory peak 99% of memory.max"},
		{"process RSS near its limit", scrape.ProcessMemoryPercent, map[string]string{"name": "java", "pid": "7"}, []float64{90, 95, 96, 97, 98, 99},
			`monitor api: process {name="java",pid="7"} sat at its memory limit (≥ 95% of its cgroup's memory limit, in RSS) in 5 of 6 intervals`,
			"process  java[7] rss peak 3.0 GiB, 99% of its memory limit"},
		{"process RSS without a limit", scrape.ProcessRSS, map[string]string{"name": "java", "pid": "7"}, []float64{99, 99, 99, 99, 99, 99}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := report.Build("r-m", res, 2)
			f := report.NewMonitorFold("api", "http://127.0.0.1:9465/metrics")
			for i, p := range tc.pct {
				smp := scrape.Sample{Monitor: "api", T: t0.Add(time.Duration(i)*time.Second + 100*time.Millisecond), Values: []scrape.Value{
					{Name: tc.series, Labels: tc.labels, Unit: "%", Derived: true, V: p},
					{Name: scrape.ProcessRSS, Labels: map[string]string{"name": "java", "pid": "7"}, Unit: "B", Derived: true, V: 3 << 30},
				}}
				f.Add(smp)
			}
			report.AddMonitors(&s, res, []report.MonitorData{f.Data(scrape.Stats{Scrapes: 6})})
			var memory []string
			for _, w := range s.Warnings {
				if strings.Contains(w, "memory limit") {
					memory = append(memory, w)
				}
			}
			switch {
			case tc.want == "" && len(memory) > 0:
				t.Errorf("warnings %q, want none about memory", memory)
			case tc.want != "" && (len(memory) != 1 || !strings.HasPrefix(memory[0], tc.want)):
				t.Errorf("warnings %q, want one starting %q", s.Warnings, tc.want)
			}
			var b bytes.Buffer
			if err := report.WriteText(&b, &s); err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && !strings.Contains(b.String(), strings.TrimPrefix(tc.want, "monitor ")) { // "⚠ Monitor api: …"
				t.Errorf("terminal text lacks the warning %q:\n%s", tc.want, b.String())
			}
			if tc.wantText != "" && !strings.Contains(b.String(), tc.wantText) {
				t.Errorf("terminal block lacks %q:\n%s", tc.wantText, b.String())
			}
			if tc.wantText == "" && strings.Contains(b.String(), "memory limit") {
				t.Errorf("terminal text names a memory limit that is not known:\n%s", b.String())
			}
		})
	}
}
