package report

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/surgeload/surge/internal/metrics"
)

// FlowSummary is one flow's row: how long its iterations took end to end,
// from the first request's start (its due time in the open model) to the
// last response, think time excluded (metrics.Flow).
type FlowSummary struct {
	Name       string `json:"name"`
	Iterations int64  `json:"iterations"` // finished
	Errors     int64  `json:"errors"`     // of those, in which a step failed
	// Cut counts the iterations the end of the run stopped before they
	// finished: the slowest, and in no other figure but Requests.
	Cut      int64 `json:"cut"`
	Requests int64 `json:"requests"` // sent by its iterations, the cut ones' too
	// Duration is the finished iterations' durations; null when none
	// finished.
	Duration *Latency `json:"duration_ms"`
}

// PollSummary is one poll step's row (until:): its polls, those that
// timed out, their attempts, and the time from a poll's first attempt
// until its condition held.
type PollSummary struct {
	Name     string `json:"name"`
	Polls    int64  `json:"polls"`    // finished: the condition held or the poll timed out
	Timeouts int64  `json:"timeouts"` // of those, timed out (class poll_timeout)
	Cut      int64  `json:"cut"`      // stopped by the end of the run while polling
	Attempts int64  `json:"attempts"` // requests, the cut polls' too
	// Duration is of the polls whose condition held; null when none did.
	Duration *Latency `json:"duration_ms"`
}

func flowSummaries(fs []metrics.Flow) []FlowSummary {
	out := make([]FlowSummary, 0, len(fs))
	for _, f := range fs {
		out = append(out, FlowSummary{Name: f.Name, Iterations: f.Iterations, Errors: f.Errors, Cut: f.Cut,
			Requests: f.Requests, Duration: flowLatency(f.Duration)})
	}
	return out
}

func pollSummaries(fs []metrics.Flow) []PollSummary {
	out := make([]PollSummary, 0, len(fs))
	for _, f := range fs {
		out = append(out, PollSummary{Name: f.Name, Polls: f.Iterations, Timeouts: f.Errors, Cut: f.Cut,
			Attempts: f.Requests, Duration: flowLatency(f.Duration)})
	}
	return out
}

// flowLatency is nil for a sketch that holds no duration: an empty
// distribution has no percentiles, and 0 ms would read as instant.
func flowLatency(s *metrics.Sketch) *Latency {
	if s == nil || s.Count() == 0 {
		return nil
	}
	l := latency(s)
	return &l
}

// showFlows says whether the terminal and HTML summaries get the flows
// table: when a flow's iterations sent other than one request each (a
// flow of one request per iteration, as quick mode's, has the durations
// of its endpoint's row), any was cut short, or the run had poll steps.
func showFlows(s *Summary) bool {
	if len(s.Polls) > 0 {
		return true
	}
	for _, f := range s.Flows {
		if f.Cut > 0 || f.Requests != f.Iterations+f.Cut {
			return true
		}
	}
	return false
}

// writeFlows writes the flows table and the polls table after the
// endpoints, each with a line saying how many were cut short.
func writeFlows(b *strings.Builder, s *Summary) {
	if !showFlows(s) {
		return
	}
	dur := func(l *Latency) []any {
		if l == nil {
			return []any{"–", "–", "–", "–"}
		}
		return []any{msec(l.P50), msec(l.P95), msec(l.P99), msec(l.Max)}
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  flow\titerations\terrors\tp50\tp95\tp99\tmax")
	var cut int64
	for _, f := range s.Flows {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%s\t%s\n", append([]any{f.Name, f.Iterations, f.Errors}, dur(f.Duration)...)...)
		cut += f.Cut
	}
	_ = tw.Flush()
	if cut > 0 {
		fmt.Fprintf(b, "  %d iterations were cut short by the end of the run (not in the percentiles)\n", cut)
	}
	b.WriteString("  (first request to last response, think time excluded)\n")
	if len(s.Polls) == 0 {
		return
	}
	b.WriteString("\n")
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  poll\tpolls\ttimeouts\tattempts/poll\tp50\tp95\tp99\tmax")
	cut = 0
	for _, p := range s.Polls {
		per := "–"
		if n := p.Polls + p.Cut; n > 0 {
			per = num(round(float64(p.Attempts)/float64(n), 1))
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", append([]any{p.Name, p.Polls, p.Timeouts, per}, dur(p.Duration)...)...)
		cut += p.Cut
	}
	_ = tw.Flush()
	if cut > 0 {
		fmt.Fprintf(b, "  %d polls were cut short by the end of the run (not in the percentiles)\n", cut)
	}
}
