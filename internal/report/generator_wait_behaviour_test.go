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
	"github.com/surgeload/surge/internal/report"
)

// withWait gives each interval of res the generator CPU wait of wait (in
// cores, repeated over the timeline; 0: none, or an older agent's) and
// adds the timeline up again.
func withWait(res *controller.Result, wait ...float64) *controller.Result {
	for i := range res.Timeline {
		res.Timeline[i].GeneratorWait = wait[i%len(wait)]
	}
	res.Total = metrics.Add(res.Timeline...)
	return res
}

// The summary warns when the generator's threads waited for a CPU 0.25
// cores or more (result.WaitCores) in a third of the intervals or more, in
// either model, with its CPU under 90 %: a warning, not a limit (an easy
// run on a shared machine waits that much), so generator.limited stays
// false and no reason is given.
func TestCPUWaitWarns(t *testing.T) {
	ms := time.Millisecond
	ok := bhInterval{requests: 100, latency: 5 * ms, lag: ms, due: 100, cpu: 0.4, maxVUs: 3}
	for _, tt := range []struct {
		name   string
		model  engine.Model
		n      int
		wait   []float64
		warned bool
	}{
		{"no wait", engine.Open, 3, []float64{0}, false},
		{"under the threshold", engine.Open, 3, []float64{0.24}, false},
		{"at the threshold", engine.Open, 3, []float64{0.25}, true},
		{"in the closed model too", engine.Closed, 2, []float64{0.6}, true},
		{"one interval of three", engine.Open, 3, []float64{0.9, 0.1, 0.1}, true},
		{"one interval of four", engine.Open, 4, []float64{0.9, 0.1, 0.1, 0.1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ivs := make([]bhInterval, tt.n)
			for i := range ivs {
				ivs[i] = ok
			}
			sum := report.Build("g", withWait(bhRun(t, tt.model, ivs, "p99<1s"), tt.wait...), 2)
			s := bhJSON(t, sum)
			if got := bhReasons(t, s); len(got) != 0 {
				t.Fatalf("reasons %v, want none", got)
			}
			if bhGet(t, s, "generator", "limited") != false || bhGet(t, s, "thresholds", 0, "limited") != false {
				t.Fatalf("limited %v, threshold limited %v; want false", bhGet(t, s, "generator", "limited"), bhGet(t, s, "thresholds", 0, "limited"))
			}
			w := bhGet(t, s, "generator", "warnings").([]any)
			if got := len(w) == 1 && strings.HasPrefix(fmt.Sprint(w[0]), "Surge's threads waited for a CPU"); got != tt.warned || len(w) > 1 {
				t.Fatalf("warnings %v; want the CPU-wait warning: %v", w, tt.warned)
			}
		})
	}
}

// The terminal summary says it above the numbers, with the figures, and
// no generator-limited banner.
func TestCPUWaitWarningInTheText(t *testing.T) {
	ok := bhInterval{requests: 100, latency: 150 * time.Millisecond, lag: time.Millisecond, due: 100, cpu: 0.4, maxVUs: 20}
	sum := report.Build("g", withWait(bhRun(t, engine.Open, []bhInterval{ok, ok, ok}, "p99<100ms"), 0.5, 0.375, 0.1), 1)
	var b bytes.Buffer
	if err := report.WriteText(&b, &sum); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if strings.Contains(text, "GENERATOR-LIMITED") {
		t.Errorf("a CPU wait alone is no generator limit:\n%s", text)
	}
	if !strings.Contains(text, "⚠ Surge's threads waited for a CPU: ≥ 0.25 cores of wait in 2 of 3 intervals, at most 0.50") {
		t.Errorf("no CPU-wait warning with its figures:\n%s", text)
	}
}
