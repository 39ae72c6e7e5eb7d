// Package run is the run session every front-end drives: `surge run`, the
// server's own runs, the Go API, and a `surge run --server` run that the
// dashboard steers. A Session owns one run of a plan: it wraps a
// controller (which splits the plan across the agents, merges their
// snapshots and feeds the sinks) and gives every front-end the same four
// verbs and the same stop causes.
//
//	s := run.New(plan, run.Options{Sinks: []sink.Sink{progress, recorder}})
//	if err := s.Start(ctx); err != nil { … }  // returns at once; the run goes on
//	s.Adjust(500)                              // a new rate (open) or VU count (closed)
//	s.Stop(errStopped)                         // graceful, with a named cause: in-flight requests finish
//	res, err := s.Wait()                       // the controller's Result
//
// The contract:
//
//   - Start starts the run on a goroutine of the session's own and returns
//     at once; it fails if the session was started before. Cancelling
//     Start's ctx stops the run as Stop does, with ctx's cause.
//   - Stop(cause) asks for a graceful stop and returns at once; the first
//     cause given (by Stop or by ctx) is the run's: Result.Stopped and the
//     stop Event carry it. Stopping a run that has ended, or one that was
//     never started, does nothing.
//   - Adjust sets the open model's rate or the closed model's VU count,
//     split across the agents as the plan was, and records an Event. It
//     never blocks on the run.
//   - Wait blocks until the run has ended — every agent has returned and
//     every sink is closed — and returns its Result (also when the run
//     failed: err then says why). Done is closed at that moment.
//   - Live and Events read the merged timeline and the live changes so far;
//     Stopped says whether (and why) the run was stopped early.
//
// Sinks are called by the controller's sink goroutines, never by the
// caller's: a sink that wants to steer its own run (the recorder of a CLI
// run that the dashboard controls) may call Adjust and Stop, which never
// block, but must not call Wait.
//
// Options.OnAgentLoss is the run's controller.LossPolicy for an agent
// lost mid-run (rebalance by default). A run whose agents are all lost
// ends with an error wrapping controller.ErrAllAgentsLost from Wait (a
// front-end marks it failed) and its Result, with the data they sent; one
// aborted by the abort policy ends with the cause naming the agent, as its
// error and as Stopped.
//
// The plan's Monitors are scraped for the run's duration, every interval,
// one goroutine each (monitors.go): they start with Start and are stopped,
// a scrape in flight cancelled, before Done is closed, so Monitors is final
// once Wait returns. A slow or dead monitor never blocks or slows the run.
// Each snapshot the sinks get carries the monitor samples that came since
// the previous one (metrics.Snapshot.Monitors), so whatever records the
// run stores the target's side with each interval and shows it live.
//
// Every method of a Session is safe for concurrent use.
package run
