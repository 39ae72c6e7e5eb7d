// Package server is the HTTP side of `surge server`: the JSON API under
// /api/v1 (docs/api.md), the live streams the dashboard watches
// (Server-Sent Events), Prometheus text at /metrics, and the embedded
// dashboard from package web (unless Options.NoUI).
//
//	srv := server.New(server.Options{Store: st, Secret: secret})
//	hs := srv.HTTPServer() // the handler with read timeouts for unauthenticated clients
//	go hs.Serve(ln)
//	defer srv.Close(ctx) // stops the server's own run, keeping its data; does not close the store
//
// Runs started through the API run in this process through the same
// controller as `surge run`; a Tracker turns each merged snapshot into a
// timeline point and the summary so far, which go to the store and to the
// live streams. Runs made elsewhere (`surge run --server URL`) are recorded
// through a Recorder, a sink that sends what its own Tracker produced; a
// recorded run that stops sending is marked interrupted. Compare tells
// whether run B is better or worse than run A beyond the
// interval-to-interval noise of each, or that the two are incomparable
// because they were offered different load. A capacity search (POST
// /api/v1/capacity) is one of the server's own runs, of kind "capacity",
// whose rate a capacity.Search sets step by step on the run's session; its
// surge.capacity/v1 result is saved with the run after every step, streamed
// as "step" events and served as the run's summary (capacity.go).
//
// A Server is safe for concurrent use.
package server
