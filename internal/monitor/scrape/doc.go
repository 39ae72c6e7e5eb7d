// Package scrape reads Prometheus and OpenMetrics text endpoints — a
// `surge monitor`, node_exporter, an application's /metrics — and turns
// each scrape into a Sample: counters as per-second rates since the
// previous scrape (CPU seconds become cores busy), gauges as they are,
// histograms as quantiles, plus the derived series people look at first
// (host CPU busy, memory available, network bytes/s, TCP established,
// listen overflows/s, per-process CPU and RSS).
//
//	m, err := scrape.New(scrape.Target{Name: "api", URL: "http://10.0.0.5:9465/metrics"}, scrape.Options{})
//	go m.Run(ctx, time.Second, func(s scrape.Sample) { … })
//
// A scrape is bounded in time (at most the interval), body size and series
// count; one that fails, times out or returns garbage is a Sample with Err
// set, counted in Stats, and never blocks the caller past its timeout.
// Samples are timestamped when the scrape is sent; RunAligned sends one
// a lead before each interval of a run ends (Lead). Sample and Value are
// plain data (with JSON tags); Summarize folds a run's samples into the
// min/mean/max/last of each series, and Monitor.Stats counts scrapes,
// failures and dropped series. A Monitor is safe for concurrent use.
package scrape
