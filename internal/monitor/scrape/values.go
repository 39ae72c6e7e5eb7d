package scrape

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Quantiles reported for a Prometheus histogram.
var Quantiles = []float64{0.5, 0.9, 0.99}

// values turns a scrape into Values, using the previous successful scrape
// for rates. Called with m.mu held.
func (m *Monitor) values(p *parsed) []Value {
	var out []Value
	add := func(v Value) {
		if !math.IsNaN(v.V) && !math.IsInf(v.V, 0) { // JSON has neither
			out = append(out, v)
		}
	}
	r := rater{now: p, prev: m.prev}
	for _, key := range p.order {
		s := p.series[key]
		if !m.allowed(s.name) || !m.admit(s.name, key) {
			continue
		}
		switch s.kind {
		case gauge:
			add(Value{Name: s.name, Labels: s.labels, Unit: unitOf(s.name, gauge), V: s.v})
		case counter:
			if v, ok := r.rate(key); ok {
				add(Value{Name: s.name, Labels: s.labels, Unit: unitOf(s.name, counter), V: v})
			}
		case histogram:
			for _, q := range r.quantiles(key) {
				add(Value{Name: s.name, Labels: withLabel(s.labels, "quantile", q.label), Unit: unitOf(s.name, histogram), V: q.v})
			}
		case summary:
			for _, q := range s.quants {
				add(Value{Name: s.name, Labels: withLabel(s.labels, "quantile", strconv.FormatFloat(q.le, 'g', -1, 64)),
					Unit: unitOf(s.name, summary), V: q.n})
			}
		}
	}
	for _, v := range derive(r) {
		v.Derived = true
		add(v)
	}
	sortValues(out)
	return out
}

// rater computes per-second rates of counters between two scrapes.
type rater struct{ now, prev *parsed }

// rate is the per-second increase of the counter at key since the previous
// scrape. A counter that went down was reset (its process restarted): it
// counts from zero, as Prometheus' rate() does.
func (r rater) rate(key string) (float64, bool) {
	if r.prev == nil {
		return 0, false
	}
	cur, ok1 := r.now.series[key]
	old, ok2 := r.prev.series[key]
	dt := r.now.t.Sub(r.prev.t).Seconds()
	if !ok1 || !ok2 || dt <= 0 {
		return 0, false
	}
	d := cur.v - old.v
	if d < 0 {
		d = cur.v
	}
	return d / dt, true
}

type quantile struct {
	label string
	v     float64
}

// quantiles of the observations a histogram received since the previous
// scrape, by linear interpolation inside the bucket, as Prometheus'
// histogram_quantile does (so within one bucket's width of the truth). None
// when it received no observation.
func (r rater) quantiles(key string) []quantile {
	if r.prev == nil {
		return nil
	}
	cur, old := r.now.series[key], r.prev.series[key]
	if cur == nil || old == nil || len(cur.buckets) == 0 {
		return nil
	}
	bs := make([]bucket, len(cur.buckets))
	copy(bs, cur.buckets)
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	oldN := map[float64]float64{}
	for _, b := range old.buckets {
		oldN[b.le] = b.n
	}
	reset := cur.count < old.count
	for i := range bs {
		if !reset {
			bs[i].n -= oldN[bs[i].le]
		}
	}
	total := bs[len(bs)-1].n
	if !math.IsInf(bs[len(bs)-1].le, 1) || total <= 0 {
		return nil // no +Inf bucket (invalid) or nothing observed
	}
	out := make([]quantile, 0, len(Quantiles))
	for _, q := range Quantiles {
		out = append(out, quantile{strconv.FormatFloat(q, 'g', -1, 64), bucketQuantile(q, total, bs)})
	}
	return out
}

func bucketQuantile(q, total float64, bs []bucket) float64 {
	rank := q * total
	lo, below := 0.0, 0.0
	for i, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				if i == 0 {
					return math.NaN()
				}
				return bs[i-1].le // above the highest bound: its bound, as Prometheus says
			}
			if i == 0 && b.le <= 0 {
				return b.le
			}
			if b.n == below {
				return b.le
			}
			return lo + (b.le-lo)*(rank-below)/(b.n-below)
		}
		lo, below = b.le, b.n
	}
	return math.NaN()
}

// unitOf guesses a series' unit from Prometheus' naming conventions.
func unitOf(name string, k kind) string {
	base := strings.TrimSuffix(name, "_total")
	cpu := strings.Contains(name, "cpu")
	switch k {
	case counter:
		switch {
		case strings.HasSuffix(base, "_seconds") && cpu:
			return "cores" // CPU seconds per second
		case strings.HasSuffix(base, "_seconds"):
			return "s/s"
		case strings.HasSuffix(base, "_bytes"):
			return "B/s"
		}
		return "/s"
	default:
		switch {
		case strings.HasSuffix(base, "_bytes"):
			return "B"
		case strings.HasSuffix(base, "_seconds"):
			return "s"
		case strings.HasSuffix(base, "_cores"):
			return "cores"
		case strings.HasSuffix(base, "_percent"):
			return "%"
		}
		return ""
	}
}

func withLabel(ls map[string]string, name, value string) map[string]string {
	out := make(map[string]string, len(ls)+1)
	for k, v := range ls {
		out[k] = v
	}
	out[name] = value
	return out
}

// Derived series (docs/monitor.md).
const (
	HostCPUBusyCores        = "host_cpu_busy_cores"
	HostCPUBusyPercent      = "host_cpu_busy_percent"
	HostMemoryAvailable     = "host_memory_available_bytes"
	HostMemoryUsedPercent   = "host_memory_used_percent"
	HostNetworkReceive      = "host_network_receive_bytes_per_second"
	HostNetworkTransmit     = "host_network_transmit_bytes_per_second"
	HostTCPEstablished      = "host_tcp_established"
	HostListenOverflows     = "host_tcp_listen_overflows_per_second"
	ProcessCPUCores         = "process_cpu_cores"
	ProcessCPUPercent       = "process_cpu_percent_of_limit"
	ProcessRSS              = "process_rss_bytes"
	ProcessMemoryPercent    = "process_memory_percent_of_limit"
	CgroupCPUCores          = "cgroup_cpu_cores"
	CgroupCPUPercent        = "cgroup_cpu_percent_of_limit"
	CgroupThrottledPercent  = "cgroup_cpu_throttled_percent"
	CgroupMemoryUsedPercent = "cgroup_memory_used_percent"
)

// derivedInputs are the metrics derive reads.
var derivedInputs = map[string]bool{
	"node_cpu_seconds_total":                   true,
	"node_memory_MemAvailable_bytes":           true,
	"node_memory_MemTotal_bytes":               true,
	"node_network_receive_bytes_total":         true,
	"node_network_transmit_bytes_total":        true,
	"node_netstat_Tcp_CurrEstab":               true,
	"node_netstat_TcpExt_ListenOverflows":      true,
	"process_cpu_seconds_total":                true,
	"process_resident_memory_bytes":            true,
	"surge_process_cpu_limit_cores":            true,
	"surge_process_memory_limit_bytes":         true,
	"surge_cgroup_cpu_usage_seconds_total":     true,
	"surge_cgroup_cpu_limit_cores":             true,
	"surge_cgroup_cpu_periods_total":           true,
	"surge_cgroup_cpu_throttled_periods_total": true,
	"surge_cgroup_memory_current_bytes":        true,
	"surge_cgroup_memory_max_bytes":            true,
}

// idleModes are the node_cpu_seconds_total modes in which a CPU is not
// busy.
var idleModes = map[string]bool{"idle": true, "iowait": true}

// derive computes the derived series from all parsed series, whatever the
// allow-list and the cap on series say: they are few, and the reason to
// scrape at all.
func derive(r rater) []Value {
	var out []Value
	p := r.now
	var busy float64
	var busyOK bool
	cpus := map[string]bool{}
	var rx, tx float64
	var rxOK, txOK bool
	for _, key := range p.order {
		s := p.series[key]
		switch s.name {
		case "node_cpu_seconds_total":
			cpus[s.labels["cpu"]] = true
			if !idleModes[s.labels["mode"]] {
				if v, ok := r.rate(key); ok {
					busy, busyOK = busy+v, true
				}
			}
		case "node_network_receive_bytes_total", "node_network_transmit_bytes_total":
			if s.labels["device"] == "lo" {
				continue // loopback traffic never left the host
			}
			if v, ok := r.rate(key); ok {
				if strings.Contains(s.name, "receive") {
					rx, rxOK = rx+v, true
				} else {
					tx, txOK = tx+v, true
				}
			}
		case "process_cpu_seconds_total":
			v, ok := r.rate(key)
			if !ok {
				continue
			}
			out = append(out, Value{Name: ProcessCPUCores, Labels: s.labels, Unit: "cores", V: v})
			if lim := p.series[seriesKey("surge_process_cpu_limit_cores", s.labels)]; lim != nil && lim.v > 0 {
				out = append(out, Value{Name: ProcessCPUPercent, Labels: s.labels, Unit: "%", V: 100 * v / lim.v})
			}
		case "process_resident_memory_bytes":
			out = append(out, Value{Name: ProcessRSS, Labels: s.labels, Unit: "B", V: s.v})
			if lim := p.series[seriesKey("surge_process_memory_limit_bytes", s.labels)]; lim != nil && lim.v > 0 {
				out = append(out, Value{Name: ProcessMemoryPercent, Labels: s.labels, Unit: "%", V: 100 * s.v / lim.v})
			}
		case "surge_cgroup_cpu_usage_seconds_total":
			v, ok := r.rate(key)
			if !ok {
				continue
			}
			out = append(out, Value{Name: CgroupCPUCores, Labels: s.labels, Unit: "cores", V: v})
			if lim := p.series[seriesKey("surge_cgroup_cpu_limit_cores", s.labels)]; lim != nil && lim.v > 0 {
				out = append(out, Value{Name: CgroupCPUPercent, Labels: s.labels, Unit: "%", V: 100 * v / lim.v})
			}
			periods, ok1 := r.rate(seriesKey("surge_cgroup_cpu_periods_total", s.labels))
			throttled, ok2 := r.rate(seriesKey("surge_cgroup_cpu_throttled_periods_total", s.labels))
			if ok1 && ok2 && periods > 0 {
				out = append(out, Value{Name: CgroupThrottledPercent, Labels: s.labels, Unit: "%", V: 100 * throttled / periods})
			}
		case "surge_cgroup_memory_current_bytes":
			if lim := p.series[seriesKey("surge_cgroup_memory_max_bytes", s.labels)]; lim != nil && lim.v > 0 {
				out = append(out, Value{Name: CgroupMemoryUsedPercent, Labels: s.labels, Unit: "%", V: 100 * s.v / lim.v})
			}
		}
	}
	if busyOK {
		out = append(out, Value{Name: HostCPUBusyCores, Unit: "cores", V: busy})
		if len(cpus) > 0 {
			out = append(out, Value{Name: HostCPUBusyPercent, Unit: "%", V: 100 * busy / float64(len(cpus))})
		}
	}
	if avail := p.series["node_memory_MemAvailable_bytes"]; avail != nil {
		out = append(out, Value{Name: HostMemoryAvailable, Unit: "B", V: avail.v})
		if total := p.series["node_memory_MemTotal_bytes"]; total != nil && total.v > 0 {
			out = append(out, Value{Name: HostMemoryUsedPercent, Unit: "%", V: 100 * (1 - avail.v/total.v)})
		}
	}
	if rxOK {
		out = append(out, Value{Name: HostNetworkReceive, Unit: "B/s", V: rx})
	}
	if txOK {
		out = append(out, Value{Name: HostNetworkTransmit, Unit: "B/s", V: tx})
	}
	if e := p.series["node_netstat_Tcp_CurrEstab"]; e != nil {
		out = append(out, Value{Name: HostTCPEstablished, V: e.v})
	}
	if v, ok := r.rate("node_netstat_TcpExt_ListenOverflows"); ok {
		out = append(out, Value{Name: HostListenOverflows, Unit: "/s", V: v})
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
