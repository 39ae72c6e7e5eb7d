package capacity

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/surgeload/surge/internal/monitor/scrape"
)

// Limits a monitored resource is said to sit at.
const (
	memoryFull = 95.0 // % of the memory a host or cgroup has
	linkFull   = 0.9  // of the link's bytes/s, either way
	linkOver   = 1.2  // past this share of the link, its speed is doubted
)

// Series of a monitor a search reads at the end of each step from the
// monitor's running summary (the last scrape's value): the memory in use
// and the network's speed and drops are not on the monitors' timeline.
// Counters are per-second rates (scrape.Value).
const (
	// procMemory is a process's resident memory in percent of the memory
	// limit surge monitor reads for it (scrape's derived series).
	procMemory = "process_memory_percent_of_limit"
	netSpeed   = "node_network_speed_bytes"
	netRxDrop  = "node_network_receive_drop_total"
	netTxDrop  = "node_network_transmit_drop_total"
)

var stepEndSeries = map[string]bool{
	scrape.HostMemoryUsedPercent:   true,
	scrape.HostMemoryAvailable:     true,
	scrape.CgroupMemoryUsedPercent: true,
	procMemory:                     true,
	netSpeed:                       true,
	netRxDrop:                      true,
	netTxDrop:                      true,
}

// monitorAt is one monitor's stepEndSeries at a step's end, by series key.
type monitorAt struct {
	name   string
	last   map[string]float64
	labels map[string]map[string]string
	names  map[string]string // series key → metric name
}

// monitorStep sets st's monitor figures: each timeline series' range over
// the window, and the stepEndSeries as the step ends.
func (sr *searcher) monitorStep(st *Step) {
	mons := sr.monitors()
	if len(mons) == 0 || st.Start.IsZero() {
		return
	}
	st.Monitors = map[string]map[string]Range{}
	for _, m := range mons {
		r := map[string]Range{}
		for _, p := range m.Points {
			if !within(p.T, st.Start, st.End) {
				continue
			}
			for _, vs := range []map[string]float64{p.Values, p.Limits} {
				for k, v := range vs {
					g, ok := r[k]
					if !ok {
						g = Range{v, v}
					}
					r[k] = Range{math.Min(g.Min, v), math.Max(g.Max, v)}
				}
			}
		}
		if len(r) > 0 {
			st.Monitors[m.Name] = r
		}
		at := monitorAt{name: m.Name, last: map[string]float64{}, labels: map[string]map[string]string{}, names: map[string]string{}}
		for _, ss := range m.Series {
			if stepEndSeries[ss.Name] && ss.N > 0 {
				k := scrape.Value{Name: ss.Name, Labels: ss.Labels}.Key()
				at.last[k], at.labels[k], at.names[k] = ss.Last, ss.Labels, ss.Name
			}
		}
		st.mon = append(st.mon, at)
	}
	if len(st.Monitors) == 0 {
		st.Monitors = nil
	}
}

// endValue is the value of series key of monitor name at st's end.
func endValue(st *Step, name, key string) (float64, bool) {
	if st == nil {
		return 0, false
	}
	for _, m := range st.mon {
		if m.name == name {
			v, ok := m.last[key]
			return v, ok
		}
	}
	return 0, false
}

// rangeOf is the range of the timeline series named name (any labels) of
// monitor mon in st, the widest over its label sets.
func rangeOf(st *Step, mon, name string) (Range, bool) {
	if st == nil {
		return Range{}, false
	}
	var out Range
	found := false
	for k, g := range st.Monitors[mon] {
		if seriesName(k) != name {
			continue
		}
		if !found {
			out, found = g, true
			continue
		}
		out = Range{math.Min(out.Min, g.Min), math.Max(out.Max, g.Max)}
	}
	return out, found
}

func seriesName(key string) string {
	name, _, _ := strings.Cut(key, "{")
	return name
}

// memoryAtLimit says which monitored memory was near its limit at the
// end of st and not at the baseline's, or "": a cgroup's memory.current at
// ≥ 95 % of memory.max, or a host's memory in use at ≥ 95 % (MemAvailable
// near 0; the window's lowest MemAvailable counts too).
func (sr *searcher) memoryAtLimit(st *Step) string {
	if sr.base == nil {
		return "" // no baseline to tell a full memory from one that filled
	}
	for _, m := range st.mon {
		for _, k := range sortedKeys(m.last) {
			name := m.names[k]
			if name != scrape.CgroupMemoryUsedPercent && name != scrape.HostMemoryUsedPercent && name != procMemory {
				continue
			}
			used := m.last[k]
			var lowAvail float64
			haveAvail := false
			if name == scrape.HostMemoryUsedPercent {
				// The window's lowest MemAvailable, against the total the
				// last scrape implies (used % = 1 − available/total).
				if g, ok := rangeOf(st, m.name, scrape.HostMemoryAvailable); ok && used < 100 {
					if lastAvail, ok := m.last[scrape.HostMemoryAvailable]; ok && lastAvail > 0 {
						total := lastAvail / (1 - used/100)
						used = math.Max(used, 100*(1-g.Min/total))
						lowAvail, haveAvail = g.Min, true
					}
				}
			}
			base, ok := endValue(sr.base, m.name, k)
			if !ok || used < memoryFull || base >= memoryFull {
				continue
			}
			what := "host memory"
			switch name {
			case procMemory:
				what = fmt.Sprintf("process %s (pid %s) memory", m.labels[k]["name"], m.labels[k]["pid"])
			case scrape.CgroupMemoryUsedPercent:
				what = "cgroup memory (memory.current of memory.max)"
				if c := m.labels[k]["cgroup"]; c != "" {
					what = fmt.Sprintf("cgroup %s memory (memory.current of memory.max)", c)
				}
			}
			s := fmt.Sprintf("monitor %s: %s at %.1f%% of its limit at %.1f/s (%.1f%% at the baseline %.1f/s)", m.name, what, used, st.Rate, base, sr.base.Rate)
			if haveAvail {
				s += fmt.Sprintf("; MemAvailable fell to %s", bytesText(lowAvail))
			}
			return s
		}
	}
	return ""
}

// networkAtLimit says which monitored network sat at its link or dropped
// packets during st and not at the baseline, or "": the host's bytes/s
// (either way, loopback left out) at ≥ 90 % of the link — LinkBytesPerSec,
// else the sum of the monitor's node_network_speed_bytes — while
// throughput had stopped following the offered rate; or receive/transmit
// drops at the step's end where the baseline had none.
func (sr *searcher) networkAtLimit(st *Step, saturated bool) string {
	if sr.base == nil {
		return ""
	}
	for _, m := range st.mon {
		link, from := sr.o.LinkBytesPerSec, "the configured link"
		if link == 0 {
			for k, v := range m.last {
				if m.names[k] == netSpeed && m.labels[k]["device"] != "lo" && v > 0 {
					link += v
				}
			}
			from = "the link's node_network_speed_bytes"
		}
		if link > 0 && saturated {
			for _, dir := range []struct{ name, words string }{{scrape.HostNetworkTransmit, "transmit"}, {scrape.HostNetworkReceive, "receive"}} {
				g, ok := rangeOf(st, m.name, dir.name)
				if !ok || g.Max < linkFull*link {
					continue
				}
				if b, ok := rangeOf(sr.base, m.name, dir.name); ok && b.Max >= linkFull*link {
					continue
				}
				over := ""
				if g.Max > linkOver*link {
					// More than the link can carry: the speed given (or
					// reported) is below the real one, so the link may not
					// be what saturated.
					over = fmt.Sprintf(" — more than %s carries: check that speed (--link)", from)
				}
				return fmt.Sprintf("monitor %s: network %s at %s/s, %.0f%% of %s (%s/s), at %.1f/s while throughput was flat%s", m.name, dir.words, bytesText(g.Max), 100*g.Max/link, from, bytesText(link), st.Rate, over)
			}
		}
		for _, k := range sortedKeys(m.last) {
			name := m.names[k]
			if (name != netRxDrop && name != netTxDrop) || m.labels[k]["device"] == "lo" || m.last[k] <= 0 {
				continue
			}
			if b, ok := endValue(sr.base, m.name, k); !ok || b > 0 {
				continue
			}
			dir := "receive"
			if name == netTxDrop {
				dir = "transmit"
			}
			return fmt.Sprintf("monitor %s: device %s dropped %.0f packets/s on %s at %.1f/s (none at the baseline %.1f/s)", m.name, m.labels[k]["device"], m.last[k], dir, st.Rate, sr.base.Rate)
		}
	}
	return ""
}

// networkCarried is the most bytes/s a monitored host's network carried
// during st, either way, with the monitor and direction: what a pool-like
// plateau's evidence shows when no link speed is known, since a link
// shaped below its nominal speed (tc, a cloud's cap) looks like a pool
// of one.
func (sr *searcher) networkCarried(st *Step) (mon, dir string, bps float64) {
	for _, m := range st.mon {
		for _, d := range []struct{ name, words string }{{scrape.HostNetworkTransmit, "transmit"}, {scrape.HostNetworkReceive, "receive"}} {
			if g, ok := rangeOf(st, m.name, d.name); ok && g.Max > bps {
				mon, dir, bps = m.name, d.words, g.Max
			}
		}
	}
	return mon, dir, bps
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// bytesText is a byte count in binary units.
func bytesText(b float64) string {
	const k = 1024.0
	switch {
	case b >= k*k*k:
		return fmt.Sprintf("%.2f GiB", b/(k*k*k))
	case b >= k*k:
		return fmt.Sprintf("%.1f MiB", b/(k*k))
	case b >= k:
		return fmt.Sprintf("%.1f KiB", b/k)
	}
	return fmt.Sprintf("%.0f B", b)
}
