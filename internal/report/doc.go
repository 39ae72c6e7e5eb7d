// Package report turns a run's Result into its outputs: the Summary (the
// surge.summary/v1 JSON object of CONTRACT.md), the terminal summary table,
// the CSV timeline, JUnit XML with one test case per threshold, and a
// self-contained HTML report with charts (uPlot, embedded).
//
// Build computes every figure once from merged snapshots; the writers only
// format the Summary. All functions are safe for concurrent use.
package report
