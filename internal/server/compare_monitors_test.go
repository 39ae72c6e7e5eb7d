package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/compare"
	"github.com/surgeload/surge/internal/monitor"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// Two recorded runs of the same load on targets that burn 1 ms and then
// 12 ms of CPU per request (the testbed's background CPU), watched by a
// real surge monitor on this process (the targets run in it): GET
// /api/v1/compare reports the process's CPU of its limit as worse, beyond
// noise, and names it in the reason, after the load's verdict.
func TestCompareReportsTheTargetsCPU(t *testing.T) {
	smp, err := monitor.New(monitor.Options{PIDs: []int{os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	mon := httptest.NewServer(smp.Handler("", nil))
	t.Cleanup(mon.Close)
	e := startServer(t, server.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	record := func(cpu time.Duration) string {
		tb := testutil.StartTarget(t, testbed.Options{Workers: 8, WorkTime: time.Millisecond, BackgroundCPU: cpu})
		rate, d := 40.0, 5*time.Second
		plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/work", Method: "GET"}, scenario.Overrides{Rate: &rate, Duration: &d,
			Monitors: []scenario.Monitor{{Name: "self", URL: mon.URL + "/metrics"}}})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := server.NewRecorder(ctx, e.ts.URL, testSecret, plan, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		sess := run.New(plan, run.Options{Sinks: []sink.Sink{rec}, Interval: 250 * time.Millisecond})
		if err := sess.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := sess.Wait(); err != nil {
			t.Fatal(err)
		}
		return rec.ID()
	}
	a, b := record(time.Millisecond), record(12*time.Millisecond)
	var c struct {
		compare.Comparison
	}
	e.json("GET", "/api/v1/compare?a="+a+"&b="+b, nil, http.StatusOK, &c)
	var cpu *compare.MonitorDelta
	for i := range c.Monitors {
		if c.Monitors[i].Series == "process_cpu_percent_of_limit" {
			cpu = &c.Monitors[i]
		}
	}
	if cpu == nil {
		t.Fatalf("no process CPU among the monitor deltas %+v", c.Monitors)
	}
	t.Logf("process CPU: %+v", *cpu)
	if cpu.Verdict != "worse" || cpu.B <= cpu.A || cpu.PValue == nil || cpu.Monitor != "self" || cpu.Labels["name"] == "" {
		t.Errorf("process CPU: %+v, want worse beyond noise", *cpu)
	}
	_, target, _ := strings.Cut(c.Reason, "; on the target (not part of the verdict): ")
	if !strings.Contains(target, "self "+cpu.Labels["name"]+" CPU of its limit rose") {
		t.Errorf("reason %q does not name the process's CPU", c.Reason)
	}
}
