// Package remote carries agent.Agent over the network: both ends of the
// remote-agent protocol (package agentpb, Connect's gRPC protocol over
// HTTP/2).
//
// On a load machine, a Worker (`surge agent`) connects out to a server,
// registers, keeps a heartbeat and runs the segments it is given with an
// agent.Local, streaming one encoded snapshot per interval:
//
//	w, err := remote.NewWorker(remote.WorkerOptions{Server: url, Token: tok, Name: "lg-1", Version: v})
//	err = w.Run(ctx) // until ctx is cancelled or the server refuses the agent
//
// On the server, a Registry is the Connect handler the workers talk to and
// the list of connected agents. Acquire reserves idle agents for a run and
// returns them as agent.Agent values that the controller drives like
// local ones; their Run returns an error wrapping agent.ErrLost when the
// agent goes silent for 3 intervals or its stream breaks.
//
// Loss, from the agent's side: a Worker pings the server with every
// heartbeat, and one that hears nothing for LostAfter intervals (as the
// server counts them) stops its segment by itself, ends the stream and
// connects anew, so an agent cut off from its server does not go on
// loading the target unseen; its next Hello names the run, and the server
// answers that the run is over for it.
//
// Time: a Worker measures the offset of its clock from the server's with
// NTP-style pings (the one with the least round trip wins) and maps the
// segment's start instant, given on the server's clock, onto its own
// monotonic clock. Latency is measured on the agent's monotonic clock;
// snapshots travel with their interval bounds on the server's clock.
//
// Worker, Registry and the agents Acquire returns are safe for concurrent
// use.
package remote
