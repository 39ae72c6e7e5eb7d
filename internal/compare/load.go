package compare

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

// LoadText says a plan's load in the words of the CLI, for lists and
// comparisons: "open · 200/s · 30s", "closed · 50 VUs · 1m",
// "open · stages 0→1000/s · 15s", "closed · 10 VUs · 500 requests".
func LoadText(l scenario.Load) string {
	parts := []string{l.Model.String()}
	unit := func(v float64) string {
		if l.Model == engine.Open {
			return number(v) + "/s"
		}
		if v == 1 {
			return "1 VU"
		}
		return number(v) + " VUs"
	}
	start := float64(l.VUs)
	if l.Model == engine.Open {
		start = l.Rate
	}
	if len(l.Stages) > 0 {
		vals := []string{number(start)}
		var d time.Duration
		for _, s := range l.Stages {
			vals = append(vals, number(s.Target))
			d += s.Duration
		}
		last := len(vals) - 1
		vals[last] = unit(l.Stages[len(l.Stages)-1].Target)
		parts = append(parts, "stages "+strings.Join(vals, "→"), shortDuration(d))
	} else {
		parts = append(parts, unit(start))
		if l.Duration > 0 {
			parts = append(parts, shortDuration(l.Duration))
		}
	}
	if l.Iterations > 0 {
		parts = append(parts, strconv.FormatInt(l.Iterations, 10)+" requests")
	}
	return strings.Join(parts, " · ")
}

// number writes a count or rate without a needless fraction.
func number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// shortDuration writes a duration as a scenario file would: "1m" rather
// than "1m0s", "1h30m" rather than "1h30m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// offeredRate is the open model's mean offered rate over its stages or
// duration (iterations/s); 0 when unknown (the closed model, or no length).
func offeredRate(l scenario.Load) float64 {
	if l.Model != engine.Open {
		return 0
	}
	if len(l.Stages) == 0 {
		return l.Rate
	}
	prev, area, total := l.Rate, 0.0, 0.0
	for _, s := range l.Stages {
		sec := s.Duration.Seconds()
		area += (prev + s.Target) / 2 * sec
		total += sec
		prev = s.Target
	}
	if total == 0 {
		return 0
	}
	return area / total
}

// Tolerances within which two runs count as offered the same load.
const (
	sameLengthTolerance = 0.10 // a duration or stage length: ±10 %
	sameLevelTolerance  = 0.01 // a rate, VU count or stage target: ±1 %
)

// loadDifference says how two plans' offered loads differ, or "" when they
// are the same within the tolerances.
func loadDifference(a, b scenario.Load) string {
	near := func(x, y, tol float64) bool {
		if x == y {
			return true
		}
		return math.Abs(x-y) <= tol*math.Max(math.Abs(x), math.Abs(y))
	}
	switch {
	case a.Model != b.Model:
		return fmt.Sprintf("the load models differ (%s vs %s)", a.Model, b.Model)
	case a.Model == engine.Open && !near(a.Rate, b.Rate, sameLevelTolerance):
		return fmt.Sprintf("the offered rates differ (%s vs %s/s)", number(a.Rate), number(b.Rate))
	case a.Model == engine.Closed && a.VUs != b.VUs:
		return fmt.Sprintf("the VU counts differ (%d vs %d)", a.VUs, b.VUs)
	case len(a.Stages) != len(b.Stages):
		return fmt.Sprintf("the stages differ (%d vs %d stages)", len(a.Stages), len(b.Stages))
	case !near(a.Duration.Seconds(), b.Duration.Seconds(), sameLengthTolerance):
		return fmt.Sprintf("the durations differ by more than %.0f %% (%s vs %s)", 100*sameLengthTolerance, shortDuration(a.Duration), shortDuration(b.Duration))
	case a.Iterations != b.Iterations:
		return fmt.Sprintf("the request budgets differ (%d vs %d)", a.Iterations, b.Iterations)
	}
	for i := range a.Stages {
		sa, sb := a.Stages[i], b.Stages[i]
		if !near(sa.Target, sb.Target, sameLevelTolerance) || !near(sa.Duration.Seconds(), sb.Duration.Seconds(), sameLengthTolerance) {
			return fmt.Sprintf("stage %d differs (%s to %s vs %s to %s)", i+1,
				shortDuration(sa.Duration), number(sa.Target), shortDuration(sb.Duration), number(sb.Target))
		}
	}
	return ""
}
