// Package metrics turns request outcomes into mergeable snapshots.
//
// A Recorder collects outcomes for one interval; Snapshot returns what it saw
// and starts a new interval. Snapshots merge exactly (Merge is associative and
// commutative), so an agent's snapshots and the controller's merged view agree
// within the latency sketch's relative error bound (RelativeAccuracy, 1 %).
// Percentiles are always read from merged sketches, never averaged.
//
// Thresholds ("p99<200ms", "errors<1%") are parsed by ParseThreshold and
// evaluated against a Snapshot holding the whole run.
//
// A Recorder is safe for concurrent use. A Snapshot is a value: Merge returns
// a new one and never modifies its arguments.
package metrics
