// Package engine schedules iterations of a workload on virtual users.
//
// An Engine runs one segment of a plan: the open model (iterations start at
// an arrival rate, ramped by stages, executed by a bounded, lazily grown pool
// of at most Config.MaxVUs VUs) or the closed model (N VUs loop; stages ramp
// N). The load shape is a Profile; the open model asks a RatePacer when each
// iteration is due and never knows whether the shape is constant or ramping.
// Segments of one open-model plan share its schedule by Config.Stripe:
// segment i of n runs iterations i, i+n, i+2n, … of the whole plan, so
// their iterations alternate and add up to it exactly.
//
// What a VU does in an iteration is the Workload's business: the engine only
// decides when and on which VU it runs, tells the VU when the iteration was
// due (Iteration.Due: in the open model the first request's latency counts
// from it, so the wait for a free VU is in the latency), and records
// iterations, dropped iterations, start lag and the VU gauge into a
// metrics.Recorder. In the open model every due iteration is either
// started or dropped (no VU free within the timeout, or the run stopped);
// DueBy tells how many were due by an instant — the offered load. The
// count is the plan's at the edges too: a live rate change re-times the
// iteration the scheduler was waiting for (none is lost to it); an
// iteration due before the planned end is started or dropped however late
// the scheduler sees the end, and one due after it is neither; a rate of 0
// pauses the schedule until the end or the next change.
//
//	e, err := engine.New(engine.Config{Model: engine.Open, Profile: engine.Constant(200, time.Minute), MaxVUs: 50}, workload, rec)
//	go func() { time.Sleep(10 * time.Second); e.Adjust(400) }() // the rest of the run at 400/s
//	err = e.Run(ctx, start) // start: the common start time of all segments
//
// New refuses a configuration that is unbounded or above the MaxVUs and
// MaxRate ceilings (ErrBadConfig). Run returns when the profile or the
// iteration budget (Config.Iterations) is done, or when ctx is cancelled:
// then no iteration starts, and those in flight finish (their requests are
// bounded by the request timeout, and cut off one second after it). A VU
// whose Iterate returns ErrVUDone ends without failing the run. Adjust and
// DueBy are safe for concurrent use with Run.
package engine
