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

// withSched gives each interval of res the generator scheduling latency of
// sched (p99 of each interval's: 98 % of 400 waits at 20 µs, the slowest
// 2 % at it; 0: none measured, as an older agent sends) and adds the
// timeline up again.
func withSched(res *controller.Result, sched ...time.Duration) *controller.Result {
	for i := range res.Timeline {
		if d := sched[i%len(sched)]; d > 0 {
			s := metrics.NewSketch()
			s.AddN(20*time.Microsecond, 392)
			s.AddN(d, 8)
			res.Timeline[i].GeneratorSched = s
		}
	}
	res.Total = metrics.Add(res.Timeline...)
	return res
}

// generator.reasons says sched_latency when the run's scheduling latency
// p99 is above 10 ms (result.StartLagLimit), in either model: the
// generator's goroutines waited for its own CPU, so it read responses
// late — with its CPU under 90 % and its starts on time.
func TestGeneratorLimitedBySchedLatency(t *testing.T) {
	ms := time.Millisecond
	ok := bhInterval{requests: 100, latency: 5 * ms, lag: ms, due: 100, cpu: 0.2, maxVUs: 3}
	with := func(f func(*bhInterval)) bhInterval { iv := ok; f(&iv); return iv }
	for _, tt := range []struct {
		name  string
		model engine.Model
		ivs   []bhInterval
		sched []time.Duration
		want  []string
	}{
		{"sub-ms scheduling", engine.Open, []bhInterval{ok, ok}, []time.Duration{300 * time.Microsecond}, nil},
		{"p99 10 ms is on the limit", engine.Open, []bhInterval{ok, ok}, []time.Duration{10 * ms}, nil},
		{"p99 11 ms", engine.Open, []bhInterval{ok, ok}, []time.Duration{11 * ms}, []string{report.ReasonSchedLatency}},
		{"in the closed model too", engine.Closed, []bhInterval{ok, ok}, []time.Duration{40 * ms}, []string{report.ReasonSchedLatency}},
		{"with CPU just under 90 %", engine.Open, []bhInterval{with(func(iv *bhInterval) { iv.cpu = 1.79 })}, []time.Duration{40 * ms}, []string{report.ReasonSchedLatency}},
		{"with late starts", engine.Open, []bhInterval{with(func(iv *bhInterval) { iv.lag = 30 * ms })}, []time.Duration{40 * ms},
			[]string{report.ReasonStartLag, report.ReasonSchedLatency}},
		// The run's p99: a stall in one interval of three is 0.7 % of its
		// waits, under the 1 % a p99 is.
		{"one interval of three", engine.Open, []bhInterval{ok, ok, ok}, []time.Duration{40 * ms, 300 * time.Microsecond, 300 * time.Microsecond}, nil},
		{"not measured (an older agent)", engine.Open, []bhInterval{ok, ok}, []time.Duration{0}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sum := report.Build("g", withSched(bhRun(t, tt.model, tt.ivs, "p99<1s"), tt.sched...), 2)
			s := bhJSON(t, sum)
			got := bhReasons(t, s)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("reasons %v, want %v", got, tt.want)
			}
			limited := len(tt.want) > 0
			if bhGet(t, s, "generator", "limited") != limited || bhGet(t, s, "thresholds", 0, "limited") != limited {
				t.Fatalf("limited %v, threshold limited %v; want %v", bhGet(t, s, "generator", "limited"), bhGet(t, s, "thresholds", 0, "limited"), limited)
			}
			if w := bhGet(t, s, "generator", "warnings").([]any); len(w) != len(tt.want) {
				t.Fatalf("%d warnings for %d reasons: %v", len(w), len(tt.want), w)
			}
		})
	}
}

// The terminal summary says it above the numbers, with the figure.
func TestSchedLatencyWarningInTheText(t *testing.T) {
	ok := bhInterval{requests: 100, latency: 150 * time.Millisecond, lag: time.Millisecond, due: 100, cpu: 0.88, maxVUs: 20}
	sum := report.Build("g", withSched(bhRun(t, engine.Open, []bhInterval{ok, ok, ok}, "p99<100ms"), 80*time.Millisecond), 1)
	var b bytes.Buffer
	if err := report.WriteText(&b, &sum); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if first := strings.SplitN(strings.TrimSpace(text), "\n", 2)[0]; !strings.Contains(first, "GENERATOR-LIMITED") {
		t.Errorf("the banner must come first:\n%s", text)
	}
	if !strings.Contains(text, "⚠ responses waited for Surge's CPU: scheduling latency p99 79.") {
		t.Errorf("no scheduling-latency warning with its p99:\n%s", text)
	}
}
