package report

import (
	"slices"
	"strings"
)

// CarryAgents puts into dst, a summary of the whole run rebuilt by Build
// from its stored (merged) snapshots, what only the agents' own snapshots
// could tell and src, the summary recorded at the run's end, holds: the
// agents' rows, their warnings, and the generator's verdict when an agent
// was limited. Merged snapshots cannot be split back into agents, so a
// rebuilt summary of the whole run needs this to keep them; a summary of a
// window of the run has no agents' rows.
func CarryAgents(dst, src *Summary) {
	if len(src.Agents) == 0 {
		return
	}
	dst.Agents = append([]AgentSummary(nil), src.Agents...)
	for _, w := range src.Generator.Warnings {
		if strings.HasPrefix(w, "agent ") && !slices.Contains(dst.Generator.Warnings, w) {
			dst.Generator.Warnings = append(dst.Generator.Warnings, w)
		}
	}
	for _, a := range src.Agents {
		if !a.Limited {
			continue
		}
		dst.Generator.Limited = true
		for _, r := range a.Reasons {
			if !slices.Contains(dst.Generator.Reasons, r) {
				dst.Generator.Reasons = append(dst.Generator.Reasons, r)
			}
		}
	}
}
