// Package scenario holds the canonical Plan of a load test and builds it
// from its sources: quick-mode flags (Quick), and the Overrides that flags
// apply on top of a file (Apply). Nothing downstream reads flags or files;
// the controller, the engine and the workload only see a validated Plan.
//
// Validation returns every problem found at once (Problems), each with a
// position when the plan came from a file.
//
// Plans are values; they are safe to share once built.
package scenario
