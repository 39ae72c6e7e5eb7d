// Package monitor is the target side of Surge: `surge monitor`'s sampler.
//
// New(Options) returns a Sampler for the host and the processes (--pid,
// --process) and cgroup v2 directories (--cgroup) to watch; Families reads
// them from /proc and /sys/fs/cgroup with prometheus/procfs, and Handler
// serves them as Prometheus text at /metrics. Host metrics use
// node_exporter's names and labels and process metrics client_golang's, so
// one analysis reads `surge monitor`, a real node_exporter and an
// application's own /metrics alike.
//
// Subpackages: promtext writes the text exposition format (one writer for
// every /metrics of Surge); scrape reads any such endpoint and turns
// scrapes into timestamped samples of rates, gauges, quantiles and derived
// series.
//
// A Sampler is safe for concurrent use.
package monitor
