// Package server is the HTTP side of `surge server`: the JSON API under
// /api/v1 (docs/api.md), the live streams the dashboard watches
// (Server-Sent Events), Prometheus text at /metrics, and the embedded
// dashboard from package web.
//
//	srv := server.New(server.Options{Store: st, Secret: secret})
//	http.Serve(ln, srv.Handler())
//	defer srv.Close(ctx) // stops the server's own run, keeping its data
//
// Runs started through the API run in this process through the same
// controller as `surge run`; a Tracker turns each merged snapshot into a
// timeline point and the summary so far, which go to the store and to the
// live streams. Runs made elsewhere (`surge run --server URL`) are recorded
// through a Recorder, a sink that sends what its own Tracker produced.
// Compare tells whether run B is better or worse than run A beyond the
// interval-to-interval noise of each.
//
// A Server is safe for concurrent use.
package server
