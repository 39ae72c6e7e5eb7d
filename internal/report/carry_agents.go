package report

import (
	"slices"
	"strings"
)

// CarryAgents puts into dst, a summary of the whole run rebuilt by Build
// from its stored (merged) snapshots, what only the agents' own snapshots
// could tell and src, the summary recorded at the run's end, holds: the
// agents' rows, their warnings, and the generator's verdict when an agent
// was limited. The agents' parts of the merged snapshots add up to nearly
// that, but not to the parts a late agent sent after its interval was
// merged, nor to when an agent was lost, so a rebuilt summary of the whole
// run keeps what the run reported with this. A window's
// rows come from the agents' parts of its merged snapshots
// (metrics.Snapshot.Agents) instead.
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
