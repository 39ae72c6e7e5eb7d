// Package engine schedules iterations of a workload on virtual users.
//
// An Engine runs one segment of a plan: the open model (iterations start at
// an arrival rate, ramped by stages, executed by a bounded, lazily grown pool
// of VUs) or the closed model (N VUs loop; stages ramp N). The load shape is
// a Profile; the open model asks a Pacer when each iteration is due and
// never knows whether the shape is constant or ramping.
//
// What a VU does in an iteration is the Workload's business: the engine only
// decides when and on which VU it runs, and records iterations, dropped
// iterations, start lag and the VU gauge into a metrics.Recorder.
//
//	e := engine.New(cfg, workload, recorder)
//	err := e.Run(ctx) // returns when the load is done or ctx is cancelled
//
// Cancelling ctx stops starting iterations; those in flight finish (their
// requests are bounded by the request timeout). Engine methods are safe for
// concurrent use.
package engine
