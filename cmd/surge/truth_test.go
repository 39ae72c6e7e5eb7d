package main_test

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// checkDue asserts the open model's accounting: every due iteration either
// started or was dropped, and every started one reached the target.
func checkDue(t *testing.T, s *report.Summary, sawByTarget int64) {
	t.Helper()
	if s.Totals.Requests != sawByTarget {
		t.Fatalf("summary counted %d requests, the target received %d", s.Totals.Requests, sawByTarget)
	}
	if got := s.Totals.Iterations + s.Totals.DroppedIterations; got != s.Totals.DueIterations || got == 0 {
		t.Fatalf("iterations %d + dropped %d = %d, want due %d", s.Totals.Iterations, s.Totals.DroppedIterations, got, s.Totals.DueIterations)
	}
	var due int64
	for _, p := range s.Timeline {
		if p.Offered == nil {
			t.Fatalf("open-model interval at %.1fs has no offered rate", p.Elapsed)
		}
		due += p.Dropped
	}
	if due != s.Totals.DroppedIterations {
		t.Fatalf("timeline drops add up to %d, totals say %d", due, s.Totals.DroppedIterations)
	}
}

// 300,000 iterations/s cannot be paced and sent on this machine: the due
// iterations that never started are counted as dropped, and the run says
// that the generator was the limit.
func TestGeneratorBehindDropsAndSaysSo(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	r := surge(t, "run", "-u", tb.URL()+"/hello", "--rate", "300000", "--duration", "2s", "--max-vus", "20", "--timeout", "1s")
	s := mustOK(t, r)
	checkDue(t, s, tb.Count())
	if s.Totals.DueIterations != 600_000 {
		t.Fatalf("due %d, want 600000 (300000/s for 2 s)", s.Totals.DueIterations)
	}
	if s.Totals.DroppedIterations < 300_000 {
		t.Fatalf("dropped %d of 600000: this machine cannot have started the rest", s.Totals.DroppedIterations)
	}
	if !s.Generator.Limited || !slices.Contains(s.Generator.Reasons, report.ReasonDropped) {
		t.Fatalf("limited %v reasons %v: the run must say the generator was the limit", s.Generator.Limited, s.Generator.Reasons)
	}
}

// A stop mid-run ends the schedule: what was due by then started or was
// dropped, and no more is due after it.
func TestInterruptedOpenRunAccountsForItsDueIterations(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Latency: 50 * time.Millisecond})
	wait, cmd := start(t, "run", "-u", tb.URL()+"/hello", "--rate", "400", "--duration", "30s", "--max-vus", "5")
	deadline := time.Now().Add(10 * time.Second)
	for tb.Count() < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r := wait()
	if r.summary == nil {
		t.Fatalf("exit %d without a summary\n%s", r.code, r.stderr)
	}
	s := r.summary
	checkDue(t, s, tb.Count())
	// 5 VUs on a 50 ms endpoint run 100/s of the 400/s due: most are dropped.
	if s.Totals.DroppedIterations == 0 || float64(s.Totals.DueIterations) > 400*(s.Run.DurationS+0.5) {
		t.Fatalf("due %d dropped %d over %.1fs", s.Totals.DueIterations, s.Totals.DroppedIterations, s.Run.DurationS)
	}
	if len(s.Events) == 0 || s.Events[len(s.Events)-1].Kind != "stop" {
		t.Fatalf("events %+v: want the stop", s.Events)
	}
}

// A budget ends the run once that many iterations are due.
func TestBudgetedOpenRunIsDueExactlyItsBudget(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := mustOK(t, surge(t, "run", "-u", tb.URL()+"/hello", "--rate", "200", "--requests", "150"))
	checkDue(t, s, tb.Count())
	if s.Totals.DueIterations != 150 || s.Totals.Requests != 150 || s.Totals.DroppedIterations != 0 {
		t.Fatalf("due %d requests %d dropped %d, want 150/150/0", s.Totals.DueIterations, s.Totals.Requests, s.Totals.DroppedIterations)
	}
	if slices.Contains(s.Generator.Reasons, report.ReasonDropped) {
		t.Fatalf("an easy run is limited: %v", s.Generator.Reasons)
	}
}
