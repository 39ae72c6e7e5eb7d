// Package controller owns a run: it splits the plan into one segment per
// agent (Split: exact shares that add up to the plan), starts the agents at
// a common time (set ahead by 50 ms and 4 round trips of the slowest
// remote agent, so that its segment arrives first), merges their snapshots interval by interval (an interval
// is emitted once every running agent has sent it, in order), feeds each
// merged snapshot to the sink (detached: sink.Detach gives it a goroutine
// of its own, so a slow sink never stalls the merge), and returns the
// run's Result: the merged timeline, its total, why it stopped early (if
// it did), the live changes made to it (Events) and what each agent did
// (Agents: counts, start lag, CPU, limited or not, lost or not, from the
// agent's own snapshots before merging).
//
// A local run is a controller with one in-process agent (agent.NewLocal,
// the default); a distributed run is the same controller with other agents.
//
//	c := controller.New(plan, controller.Options{Sink: sink.Fanout{progress, store}, OnAgentLoss: controller.LossRebalance})
//	go func() { time.Sleep(time.Minute); c.Adjust(500) }() // a new rate, split across agents
//	res, err := c.Run(ctx) // cancelling ctx is a graceful stop: in-flight requests finish
//	summary := report.Build(id, res, runtime.GOMAXPROCS(0))
//
// An agent whose Run returns an error wrapping agent.ErrLost is lost: an
// EventAgentLost names it, it no longer holds back the merge, and the
// run's LossPolicy applies (loss.go): LossRebalance (the default) hands
// its share to the agents left so the offered load holds — in the open
// model each survivor keeps its stripe and runs it at rate·(r+l)/r for r
// running and l lost agents, in the closed model the VUs are split again
// over the survivors — and follows a ramping profile with them;
// LossContinue goes on at the survivors' own shares; LossAbort stops the
// run with a cause that names the agent. Later Adjusts go only to the
// agents left, split by the same rule. A run whose agents are all lost
// returns its data and an error wrapping ErrAllAgentsLost.
//
// Adjust, Live and Events may be called from other goroutines while Run
// runs.
package controller
