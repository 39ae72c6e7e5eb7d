// Package agent runs one segment of a plan and streams its snapshots.
//
// An Agent is the boundary between the controller and the engine: a
// Segment (a share of the plan, a common start time and the snapshot
// interval) goes in, one metrics.Snapshot per interval comes out. Local runs
// the segment in this process; a remote transport can implement the same
// interface without the engine changing.
package agent
