// Package web holds the dashboard's front end — plain ES modules, CSS and
// the vendored uPlot charting library under static/ — embedded into the
// binary, so `go build` needs no npm and the server needs no files on disk.
//
//	mux.Handle("GET /", web.Handler())
//
// The pages talk to the server only through its documented HTTP API
// (docs/api.md). Every string the UI shows is in static/js/i18n.js, one
// block per language (English and Korean). Every latency is written by
// dom.js fmtMs ("12.3 ms", "1.20 s"), and every plan in the words of the
// CLI and scenario files by plan.js. The browser tests
// (internal/server/browser_test.go, build tag browser) drive the pages in
// chromium, from fixtures in the documented shapes and from a real server.
//
// Handler is safe for concurrent use.
package web
