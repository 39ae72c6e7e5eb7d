package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/surgeload/surge/internal/metrics"
)

// WriteText writes the terminal summary table.
func WriteText(w io.Writer, s *Summary) error {
	var b strings.Builder
	t := s.Totals
	b.WriteString("\n")
	if s.Generator.Limited {
		// Above the numbers: they describe what Surge managed to send, not
		// what the target can take.
		fmt.Fprintf(&b, "⚠ GENERATOR-LIMITED RUN: Surge could not hold the plan (%s); the numbers below are not the target's limit\n",
			strings.Join(s.Generator.Reasons, ", "))
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "⚠ %s\n", strings.ToUpper(w[:1])+w[1:])
	}
	fmt.Fprintf(&b, "%s — %s model, %s, %s\n", s.Run.Name, s.Run.Model, duration(s.Run.DurationS), s.Run.Status)
	fmt.Fprintf(&b, "  requests   %d (%s/s)   errors %d (%s%%)   iterations %d   dropped %d\n",
		t.Requests, num(t.RPS), t.Errors, num(t.ErrorRate), t.Iterations, t.DroppedIterations)
	fmt.Fprintf(&b, "  data       sent %s   received %s   max VUs %d\n", bytes(t.BytesSent), bytes(t.BytesReceived), s.Run.MaxVUs)
	l := s.Latency
	fmt.Fprintf(&b, "  latency    min %s  mean %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
		msec(l.Min), msec(l.Mean), msec(l.P50), msec(l.P90), msec(l.P95), msec(l.P99), msec(l.P999), msec(l.Max))
	if t.Errors > 0 {
		b.WriteString("  errors    ")
		for _, c := range errorClassOrder {
			if n := s.Errors[c]; n > 0 {
				fmt.Fprintf(&b, " %s %d", c, n)
			}
		}
		b.WriteString("\n")
		for i, m := range s.Messages {
			if i == 5 {
				fmt.Fprintf(&b, "             … %d more messages\n", len(s.Messages)-5)
				break
			}
			fmt.Fprintf(&b, "             %6d × %s\n", m.Count, m.Message)
		}
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  endpoint\tmethod\trequests\terrors\trps\tp50\tp95\tp99\tmax")
	for _, e := range s.Endpoints {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Method, e.Requests, e.Errors, num(e.RPS),
			msec(e.Latency.P50), msec(e.Latency.P95), msec(e.Latency.P99), msec(e.Latency.Max))
	}
	_ = tw.Flush()
	writePhases(&b, s)
	writeFlows(&b, s)
	if showWindows(s) {
		writeWindows(&b, s)
	}
	writeMonitors(&b, s)
	if len(s.Checks) > 0 {
		b.WriteString("\n  checks\n")
		for _, c := range s.Checks {
			mark := "✓"
			if c.Fails > 0 {
				mark = "✗"
			}
			fmt.Fprintf(&b, "    %s %s: %d passed, %d failed\n", mark, c.Name, c.Passes, c.Fails)
		}
	}
	if len(s.Thresholds) > 0 {
		b.WriteString("\n  thresholds\n")
		for _, th := range s.Thresholds {
			mark := "✓"
			if !th.OK {
				mark = "✗"
			}
			detail := "measured " + num(th.Value) + th.Unit
			if th.Unit == "ms" {
				detail = "measured " + msec(th.Value)
			}
			if th.Error != "" {
				detail = th.Error
			}
			if th.OK && th.Limited {
				detail += "; generator-limited run: the pass says little about the target"
			}
			fmt.Fprintf(&b, "    %s %s (%s)\n", mark, th.Expr, detail)
		}
	}
	g := s.Generator
	if g.StartLag.P99 > 0 || len(g.Warnings) > 0 {
		fmt.Fprintf(&b, "\n  generator  start lag p50 %s  p99 %s  max %s   cpu peak %s of %d cores\n",
			msec(g.StartLag.P50), msec(g.StartLag.P99), msec(g.StartLag.Max), num(g.CPUMax), g.Cores)
	}
	for _, w := range g.Warnings {
		fmt.Fprintf(&b, "  ⚠ %s\n", w)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// phaseColumns are the phases the terminal and HTML reports show, in
// order; queued only when an endpoint has it (the open model).
func phaseColumns(s *Summary) []string {
	cols := []string{"blocked", "connect", "tls", "send", "wait", "receive"}
	for _, e := range s.Endpoints {
		if _, ok := e.Phases["queued"]; ok {
			return append(cols, "queued")
		}
	}
	return cols
}

// hasPhases reports whether an endpoint of s has timing phases.
func hasPhases(s *Summary) bool {
	for _, e := range s.Endpoints {
		if len(e.Phases) > 0 {
			return true
		}
	}
	return false
}

// writePhases writes where each endpoint's time went: the p95 of each
// phase, and the protocols its requests went with. Endpoints without
// phases (WebSocket, gRPC) have no row.
func writePhases(b *strings.Builder, s *Summary) {
	if !hasPhases(s) {
		return
	}
	cols := phaseColumns(s)
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  where time went (p95)\tprotocol\t%s\n", strings.Join(cols, "\t"))
	for _, e := range s.Endpoints {
		if len(e.Phases) == 0 {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s", e.Name, protocolMix(e.Protocols))
		for _, c := range cols {
			v := "–"
			if p, ok := e.Phases[c]; ok {
				v = msec(p.P95)
			}
			fmt.Fprintf(tw, "\t%s", v)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
}

// protocolMix names the protocols of an endpoint's requests, the most
// used first: "HTTP/1.1", or with their counts when there are several,
// "HTTP/2.0 20609, unknown 6".
func protocolMix(m map[string]int64) string {
	type pc struct {
		name string
		n    int64
	}
	var all []pc
	for k, n := range m {
		all = append(all, pc{k, n})
	}
	if len(all) == 0 {
		return "–"
	}
	if len(all) == 1 {
		return all[0].name
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].name < all[j].name
	})
	parts := make([]string, len(all))
	for i, p := range all {
		parts[i] = p.name + " " + strconv.FormatInt(p.n, 10)
	}
	return strings.Join(parts, ", ")
}

// showWindows says whether the summary gets the windows table: for runs
// whose load changes (stages, live changes), where the knee is the story.
func showWindows(s *Summary) bool {
	changed := len(s.Plan.Stages) > 0
	for _, e := range s.Events {
		if e.Kind != "stop" {
			changed = true
		}
	}
	return changed && len(s.Windows) > 1
}

// writeWindows writes offered against achieved load, latency and errors
// over the run, a row per window.
func writeWindows(b *strings.Builder, s *Summary) {
	offered := "offered/s"
	if s.Run.Model != "open" {
		offered = "VUs"
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  time\t%s\tachieved/s\tp50\tp99\terrors\tdropped\t\n", offered)
	for _, w := range s.Windows {
		p50, p99 := "–", "–"
		if w.P50 != nil {
			p50, p99 = msec(*w.P50), msec(*w.P99)
		}
		fmt.Fprintf(tw, "  %s–%ss\t%s\t%s\t%s\t%s\t%d\t%d\t\n", secs(w.From), secs(w.To),
			num(round(w.Offered, 0)), num(round(w.RPS, 0)), p50, p99, w.Errors, w.Dropped)
	}
	_ = tw.Flush()
}

// errorClassOrder is the order the errors line names classes in: the
// metrics package's, so a new class is never left out.
var errorClassOrder = func() []string {
	var out []string
	for _, c := range metrics.ErrorClasses() {
		out = append(out, c.String())
	}
	return out
}()

// msec writes a latency in the one style every output uses (latencyText).
func msec(v float64) string { return latencyText(v) }

func num(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// secs writes seconds with at most one decimal: "2", "17.7".
func secs(v float64) string { return strconv.FormatFloat(round(v, 1), 'f', -1, 64) }

func duration(secs float64) string {
	return strconv.FormatFloat(secs, 'f', 1, 64) + "s"
}
