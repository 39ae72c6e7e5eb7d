// Package sink fans merged snapshots out to their consumers: the live
// terminal line, the server's live view, a Prometheus endpoint, the store.
//
// A Sink receives merged snapshots in time order from one goroutine; Fanout
// sends each snapshot to several sinks and keeps the first error of each.
package sink
