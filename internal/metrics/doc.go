// Package metrics turns request outcomes into mergeable snapshots.
//
// A Recorder collects outcomes for one interval; Snapshot returns what it saw
// and starts a new interval. Snapshots merge exactly (Merge is associative and
// commutative), so an agent's snapshots and the controller's merged view agree
// within the latency sketch's relative error bound (RelativeAccuracy, 1 %).
// Percentiles are always read from merged sketches, never averaged.
//
// A merged snapshot also keeps each agent's part of the interval (Agents,
// from the Agent name the controller gives each agent's snapshot), and the
// target monitors' samples that came during it (Monitors): both are
// encoded with it, so any window of a stored run has its agents' rows and
// its monitors.
//
// A FlowRecorder (flows.go) records each flow iteration's end-to-end
// duration, and a second one each poll step's polls; a snapshot carries
// them as Flows and Polls, which merge by name (MergeFlows) and are
// encoded with it.
//
// An Outcome whose client measured its timing phases (phases.go: blocked,
// connect, tls, send, wait, receive, and queued in the open model) adds
// them to its endpoint's PhaseSketches, one sketch per phase, and counts
// the protocol it went with (Endpoint.Protos); snapshots carry, merge and
// encode them as they do latencies.
//
// Thresholds ("p99<200ms", "errors<1%", "flow[order].p99<5s") are parsed by
// ParseThreshold and evaluated against a Snapshot holding the whole run.
//
// A Recorder is safe for concurrent use. A Snapshot is a value: Merge returns
// a new one and never modifies its arguments.
package metrics
