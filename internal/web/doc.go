// Package web holds the dashboard's front end — plain ES modules, CSS and
// the vendored uPlot charting library under static/ — embedded into the
// binary, so `go build` needs no npm and the server needs no files on disk.
//
//	mux.Handle("GET /", web.Handler())
//
// The pages talk to the server only through its documented HTTP API
// (docs/api.md). Every string the UI shows is in static/js/i18n.js, one
// block per language (English and Korean).
//
// Handler is safe for concurrent use.
package web
