// Package workload turns a scenario.Plan's flows into the engine's
// Workload: VUs that run setup once, pick a flow by weight, send its
// requests through the HTTP client, pause for think time, run checks and
// extractions, and record every outcome and check.
//
// Compile does all parsing once (URLs, headers, templates, checks, data
// rows), so an iteration only renders templates into requests and sends
// them. Compile's Program is immutable and safe to share; each VU is used
// by one goroutine and keeps its cookie jar, variables and data rows for
// its whole life, across iterations.
//
// Cookies a VU's jar drops by its limits (see protocol/http's Jar) are
// counted with metrics.Recorder.CookiesDropped.
//
// A VU whose unique data ran out (on_exhausted: stop) ends with an error
// wrapping ErrDataExhausted.
package workload
