package capacity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/report"
)

// sharedHostMon is a script (capacity 200/s) with a monitor of a process
// and of the shared host it runs on: each series is base % below the
// capacity and peak % at or past it.
type sharedHostMon struct {
	*script
	hostBase, hostPeak, procBase, procPeak float64
}

func (m *sharedHostMon) Monitors() []report.MonitorData {
	snaps, _ := m.Live()
	d := report.MonitorData{Name: "target"}
	for _, s := range snaps {
		host, proc := m.hostBase, m.procBase
		if s.Due >= 200 {
			host, proc = m.hostPeak, m.procPeak
		}
		d.Points = append(d.Points, report.MonitorPoint{T: s.Start.Add(500 * time.Millisecond), Limits: map[string]float64{
			"host_cpu_busy_percent":                            host,
			`process_cpu_percent_of_limit{name="api",pid="1"}`: proc,
		}})
	}
	return []report.MonitorData{d}
}

// The live CPU test's situation, scripted: on a shared host the host's
// CPU is full at the bound too (even above 100 % by its sampling), but
// the process at its own limit is what the evidence must name; and a host
// already full at the baseline (other work) must not hide a process that
// was not.
func TestCPUAtLimitNamesTheProcessOnASharedHost(t *testing.T) {
	for _, tc := range []struct {
		name                                   string
		hostBase, hostPeak, procBase, procPeak float64
		kind, series                           string
	}{
		{"host fuller than the process", 50, 104, 20, 99, capacity.KindCPU, "process_cpu_percent_of_limit"},
		{"host full at the baseline", 97, 100, 20, 99, capacity.KindCPU, "process_cpu_percent_of_limit"},
		{"only the host at its limit", 50, 99, 20, 60, capacity.KindCPU, "host_cpu_busy_percent"},
		{"process as busy at the baseline", 50, 90, 96, 99, capacity.KindConcurrency, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			s := newScript(clock, capped(200, 20*time.Millisecond))
			m := &sharedHostMon{script: s, hostBase: tc.hostBase, hostPeak: tc.hostPeak, procBase: tc.procBase, procPeak: tc.procPeak}
			o := capacity.Options{SLO: slo(t, "p99<250ms"), Start: 50, Max: 2000, Window: 4 * time.Second, Clock: clock, Settle: time.Second, Warmup: time.Second}
			res, err := capacity.Search(context.Background(), m, o)
			if err != nil {
				t.Fatal(err)
			}
			b := res.Bottleneck
			if b.Kind != tc.kind || tc.series != "" && !strings.Contains(b.Evidence, "monitor target: "+tc.series) {
				t.Errorf("bottleneck %s (%s); want %s naming %q", b.Kind, b.Evidence, tc.kind, tc.series)
			}
		})
	}
}
