package report

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// The page says whether the load was open from the plan when it has one
// (a summary rebuilt from storage), else from the run.
func TestExtrasOpenLoad(t *testing.T) {
	for _, c := range []struct {
		run, plan string
		open      bool
	}{{"open", "", true}, {"closed", "", false}, {"closed", "open", true}, {"open", "closed", false}} {
		s := &Summary{}
		s.Run.Model, s.Plan.Model = c.run, c.plan
		if got := extrasOf(s).OpenLoad; got != c.open {
			t.Errorf("run %q, plan %q: open %v, want %v", c.run, c.plan, got, c.open)
		}
	}
}

// The offered rate is due iterations over the run's duration, and nothing
// (not an infinity) for a run of no duration.
func TestExtrasOfferedRate(t *testing.T) {
	s := &Summary{}
	s.Run.Model, s.Totals.DueIterations, s.Run.DurationS = "open", 10, 4
	if x := extrasOf(s); !x.HasDue || x.Due != 10 || x.Offered != 2.5 {
		t.Errorf("extras %+v, want 10 due at 2.5/s", x)
	}
	s.Run.DurationS = 0
	if x := extrasOf(s); !x.HasDue || x.Offered != 0 || math.IsInf(x.Offered, 0) || math.IsNaN(x.Offered) {
		t.Errorf("zero-length run: offered %v, want 0", x.Offered)
	}
}

// Error classes with no requests are left out, known or not.
func TestNonZeroClasses(t *testing.T) {
	got := nonZeroClasses(map[string]int64{"timeout": 2, "dns": 0, "quic": 0, "zeta": 3, "alpha": 1})
	if fmt.Sprint(got) != "[{timeout 2} {alpha 1} {zeta 3}]" {
		t.Errorf("classes %v, want timeout, then the unknown alpha and zeta", got)
	}
}

// The page lists up to 10 messages and says how many more there are.
func TestHTMLMessagesCap(t *testing.T) {
	for _, c := range []struct {
		n    int
		more string
	}{{10, ""}, {11, "… and 1 more distinct messages"}} {
		s := &Summary{}
		for i := range c.n {
			s.Messages = append(s.Messages, ErrorMessage{Message: fmt.Sprintf("timeout: message %02d", i), Count: 1})
		}
		var b strings.Builder
		if err := WriteHTML(&b, s); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if shown := strings.Count(out, "<code>timeout: message "); shown != min(c.n, 10) {
			t.Errorf("%d messages: %d shown, want %d", c.n, shown, min(c.n, 10))
		}
		if has := strings.Contains(out, "more distinct messages"); has != (c.more != "") || (c.more != "" && !strings.Contains(out, c.more)) {
			t.Errorf("%d messages: want %q in the page (or none)", c.n, c.more)
		}
	}
}
