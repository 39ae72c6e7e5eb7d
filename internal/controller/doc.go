// Package controller owns a run: it splits the plan into one segment per
// agent (Split: exact shares that add up to the plan), starts the agents at
// a common time, merges their snapshots interval by interval (an interval
// is emitted once every running agent has sent it, in order), feeds each
// merged snapshot to the sink (detached: sink.Detach gives it a goroutine
// of its own, so a slow sink never stalls the merge), and returns the
// run's Result: the merged timeline, its total, why it stopped early (if
// it did) and the live changes made to it (Events).
//
// A local run is a controller with one in-process agent (agent.NewLocal,
// the default); a distributed run is the same controller with other agents.
//
//	c := controller.New(plan, controller.Options{Sink: sink.Fanout{progress, store}})
//	go func() { time.Sleep(time.Minute); c.Adjust(500) }() // a new rate, split across agents
//	res, err := c.Run(ctx) // cancelling ctx is a graceful stop: in-flight requests finish
//	summary := report.Build(id, res, runtime.GOMAXPROCS(0))
//
// Adjust, Live and Events may be called from other goroutines while Run
// runs.
package controller
