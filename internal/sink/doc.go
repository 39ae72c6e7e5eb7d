// Package sink fans merged snapshots out to their consumers. Its
// implementations live with what they feed: the CLI's live progress line
// and its recording to a server (internal/cli), the server's run sink that
// writes the store and the live streams, and server.Recorder, which sends
// a CLI run to `surge server`.
//
// A Sink receives merged snapshots in time order, one Consume per interval,
// from one goroutine, and Close once after the last. Fanout sends each
// snapshot to several sinks: every sink sees every snapshot even when
// another fails, and the errors are joined. Func adapts a function with
// nothing to close.
//
// Detach gives each sink (each member of a Fanout) a goroutine and a buffer
// of DetachBuffer intervals, so that a slow sink never stalls the caller
// nor the other sinks; a sink that falls further behind misses snapshots,
// and its Close says how many. The controller detaches whatever sink it is
// given:
//
//	c := controller.New(plan, controller.Options{Sink: sink.Fanout{progress, store}})
//	res, err := c.Run(ctx) // Close has returned for every sink when Run returns
package sink
