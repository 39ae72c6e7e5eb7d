// Package controller owns a run: it splits the plan into one segment per
// agent (exact shares that add up to the plan), starts the agents at a
// common time, merges their snapshots interval by interval, feeds the merged
// snapshots to the sinks, and returns the run's Result.
//
// A local run is a controller with one in-process agent; a distributed run
// is the same controller with remote agents.
//
//	c := controller.New(plan, controller.Options{Sinks: sinks})
//	res, err := c.Run(ctx)
//
// Adjust and Live may be called from other goroutines while Run runs.
package controller
