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
// CLI and scenario files by plan.js. The start forms share form.js (a
// field and its error, server problems put beside their fields),
// target.js (URL or scenario file) and agentpick.js (this server or
// connected agents: N of them or those with labels, with the count of
// those that match). pages/run.js is a run's page: live from its event
// stream, with the agents' rows of a run on agents, the target monitors'
// charts, the flows and poll steps beside the endpoints, and under them
// where each endpoint's time went (its timing phases at a percentile the
// user picks, as stacked bars and a table, and its protocols; WebSocket
// and gRPC rows keep their method and have none); pages/compare.js is the
// comparison of two load tests: the load's metrics, then the target
// monitors' rows, the flows' p99 and the endpoints' wait and connect p95,
// which never change the verdict. charts.js holds the phases' names,
// colours, bar and protocol words beside the time-series charts. pages/capacity.js is everything of capacity searches:
// the start form, a search's page (steps live, the curve with its knee and
// max rate, the bottleneck and its evidence) and the comparison of two.
// The browser tests (internal/server/browser_*_test.go, build tag browser)
// drive the pages in chromium, from fixtures in the documented shapes and
// from a real server with real agents.
//
// Handler is safe for concurrent use.
package web
