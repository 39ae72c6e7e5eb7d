// Package workload turns a scenario.Plan's flows into the engine's
// Workload: VUs that pick a flow by weight, send its requests through the
// HTTP client, pause for think time, and record every outcome.
//
// Compile does all parsing once (URLs, headers, weights), so an iteration
// only fills in requests and sends them. Compile's Program is immutable and
// safe to share; each VU is used by one goroutine.
package workload
