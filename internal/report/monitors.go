package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/result"
	"github.com/surgeload/surge/internal/suggest"
)

// MonitorSummary is one monitor of the run (CONTRACT.md: monitors[]).
type MonitorSummary struct {
	Name    string          `json:"name"`
	URL     string          `json:"url"`
	Scrapes int             `json:"scrapes"`
	Failed  int             `json:"failed"`
	Series  []MonitorSeries `json:"series"`
	// DroppedSeries counts, over all scrapes, the series left out by the
	// scraper's cap; DroppedNames names some of their metrics.
	DroppedSeries int      `json:"dropped_series,omitempty"`
	DroppedNames  []string `json:"dropped_names,omitempty"`
	// LastError is why the latest failed scrape failed.
	LastError string `json:"last_error,omitempty"`
}

// MonitorSeries is one series over the run.
type MonitorSeries struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Unit   string            `json:"unit"`
	Min    float64           `json:"min"`
	Mean   float64           `json:"mean"`
	Max    float64           `json:"max"`
	Last   float64           `json:"last"`
}

// timelineSeries are the derived series each timeline point carries, per
// monitor: the few a chart of the target shows beside the load.
var timelineSeries = map[string]bool{
	scrape.HostCPUBusyPercent:  true,
	scrape.HostMemoryAvailable: true,
	scrape.HostNetworkReceive:  true,
	scrape.HostNetworkTransmit: true,
	scrape.HostTCPEstablished:  true,
	scrape.HostListenOverflows: true,
	scrape.ProcessCPUPercent:   true,
	scrape.ProcessRSS:          true,
}

// limitSeries are the derived series that say a resource sat at its
// limit: each is a percentage of a limit that is known (a series exists
// only when its limit was read: the host's cores or MemTotal, a cgroup's
// cpu.max or memory.max, a process's affinity, quota or cgroup memory
// limit), so no warning ever names a limit that is not there.
var limitSeries = map[string]limitKind{
	scrape.HostCPUBusyPercent:      {"host CPU", "CPU", ""},
	scrape.ProcessCPUPercent:       {"process", "CPU", ""},
	scrape.CgroupCPUPercent:        {"cgroup", "CPU", ""},
	scrape.HostMemoryUsedPercent:   {"host", "memory", " of MemTotal in use: MemAvailable near zero"},
	scrape.CgroupMemoryUsedPercent: {"cgroup", "memory", " of memory.max: memory.current, which counts the page cache the kernel reclaims first"},
	scrape.ProcessMemoryPercent:    {"process", "memory", " of its cgroup's memory limit, in RSS"},
}

// limitKind words a limit series: what sat at it, which limit, and of
// what the percentage is.
type limitKind struct{ what, resource, of string }

// maxPointSeries bounds the timeline series kept per scrape (per-process
// series multiply with the processes watched; docs/limits.md).
const maxPointSeries = 64

// atLimit is the percentage of a limit (CPU or memory) at or above which
// a resource is said to sit at it.
const atLimit = 95.0

// MonitorPoint is what one scrape gave for the timeline: its time and the
// values of the timeline's series (nil when the scrape failed).
type MonitorPoint struct {
	T      time.Time
	Values map[string]float64 // by series key
	Limits map[string]float64 // the limitSeries, by series key
}

// MonitorData is one monitor over a run, folded scrape by scrape so that a
// long run keeps one running summary per series, not every sample: a
// MonitorFold builds it.
type MonitorData struct {
	Name, URL string
	Stats     scrape.Stats
	Series    []scrape.SeriesSummary
	Points    []MonitorPoint
	LastError string
}

// MonitorFold folds a monitor's samples as they arrive. It is not safe for
// concurrent use: its owner (the run session) serialises Add and Data.
type MonitorFold struct {
	name, url string
	series    map[string]*scrape.SeriesSummary
	sums      map[string]float64
	points    []MonitorPoint
	lastErr   string
}

// NewMonitorFold returns an empty fold for the monitor name at url.
func NewMonitorFold(name, url string) *MonitorFold {
	return &MonitorFold{name: name, url: url, series: map[string]*scrape.SeriesSummary{}, sums: map[string]float64{}}
}

// Add folds one sample in.
func (f *MonitorFold) Add(s scrape.Sample) {
	p := MonitorPoint{T: s.T}
	if !s.OK() {
		f.lastErr = s.Err
		f.points = append(f.points, p)
		return
	}
	p.Values = map[string]float64{}
	for _, v := range s.Values {
		k := v.Key()
		ss := f.series[k]
		if ss == nil {
			ss = &scrape.SeriesSummary{Name: v.Name, Labels: v.Labels, Unit: v.Unit, Derived: v.Derived, Min: v.V, Max: v.V}
			f.series[k] = ss
		}
		ss.Min, ss.Max, ss.Last = min(ss.Min, v.V), max(ss.Max, v.V), v.V
		ss.N++
		f.sums[k] += v.V
		if v.Derived && timelineSeries[v.Name] && len(p.Values) < maxPointSeries {
			p.Values[k] = v.V
		}
		if _, ok := limitSeries[v.Name]; ok && v.Derived {
			if p.Limits == nil {
				p.Limits = map[string]float64{}
			}
			if len(p.Limits) < maxPointSeries {
				p.Limits[k] = v.V
			}
		}
	}
	f.points = append(f.points, p)
}

// Data returns what was folded so far, with st the monitor's counts; the
// result shares nothing that Add changes.
func (f *MonitorFold) Data(st scrape.Stats) MonitorData {
	d := MonitorData{Name: f.name, URL: f.url, Stats: st, LastError: f.lastErr,
		Points: append([]MonitorPoint(nil), f.points...)}
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := f.series[keys[i]], f.series[keys[j]]
		if a.Derived != b.Derived {
			return a.Derived
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		ss := *f.series[k]
		ss.Mean = f.sums[k] / float64(ss.N)
		d.Series = append(d.Series, ss)
	}
	return d
}

// AddMonitors puts the monitors' data into s, built from res by Build:
// the monitors field, each timeline point's monitors object, and a
// warning for every CPU that sat at its limit.
//
// A sample belongs to the load interval its scrape was sent in (Start ≤ T <
// End). Its gauges are the target's at T, but its rates cover the time
// since the previous scrape, which is mostly the interval before: the
// alignment error is up to one interval. Samples outside every interval
// (a scrape sent before the first one started) count in the series
// summary only.
//
// It also evaluates the thresholds on monitor series
// ("monitor[api].process_cpu < 80%"), which Build cannot: each is measured
// at the worst moment of its series (metrics.Threshold.MeasureSeries), and
// one naming a monitor or series the run lacks fails with an error that
// names it.
func AddMonitors(s *Summary, res *result.Result, mons []MonitorData) {
	if len(mons) == 0 {
		return
	}
	defer evaluateMonitorThresholds(s)
	s.Monitors = []MonitorSummary{}
	for _, m := range mons {
		ms := MonitorSummary{Name: m.Name, URL: m.URL, Scrapes: m.Stats.Scrapes, Failed: m.Stats.Failed,
			Series: []MonitorSeries{}, DroppedSeries: m.Stats.DroppedSeries, DroppedNames: m.Stats.DroppedNames}
		ms.LastError = m.LastError // set only by a failure
		for _, ss := range m.Series {
			ls := ss.Labels
			if ls == nil {
				ls = map[string]string{}
			}
			ms.Series = append(ms.Series, MonitorSeries{Name: ss.Name, Labels: ls, Unit: ss.Unit,
				Min: round(ss.Min, 3), Mean: round(ss.Mean, 3), Max: round(ss.Max, 3), Last: round(ss.Last, 3)})
		}
		s.Monitors = append(s.Monitors, ms)
	}
	if len(res.Timeline) == 0 || len(res.Timeline) != len(s.Timeline) {
		return
	}
	for i := range s.Timeline {
		s.Timeline[i].Monitors = map[string]map[string]*float64{}
	}
	for _, m := range mons {
		keys := map[string]bool{}
		byInterval := make([]*MonitorPoint, len(res.Timeline))
		atLimitN := map[string]int{}
		for j := range m.Points {
			p := &m.Points[j]
			for k := range p.Values {
				keys[k] = true
			}
			i := sort.Search(len(res.Timeline), func(i int) bool { return res.Timeline[i].End.After(p.T) })
			if i == len(res.Timeline) || p.T.Before(res.Timeline[i].Start) {
				continue
			}
			byInterval[i] = p // the last scrape in the interval wins
		}
		for i, p := range byInterval {
			vals := map[string]*float64{}
			for k := range keys {
				vals[k] = nil
				if p != nil {
					if v, ok := p.Values[k]; ok {
						r := round(v, 3)
						vals[k] = &r
					}
				}
			}
			s.Timeline[i].Monitors[m.Name] = vals
			if p != nil {
				for k, v := range p.Limits {
					if v >= atLimit {
						atLimitN[k]++
					}
				}
			}
		}
		n := len(res.Timeline)
		limited := make([]string, 0, len(atLimitN))
		for k := range atLimitN {
			limited = append(limited, k)
		}
		sort.Strings(limited)
		for _, k := range limited {
			if c := atLimitN[k]; c*3 >= n {
				name, _, _ := strings.Cut(k, "{")
				lk := limitSeries[name]
				s.Warnings = append(s.Warnings, fmt.Sprintf("monitor %s: %s sat at its %s limit (≥ %.0f%%%s) in %d of %d intervals: the target, not the load, set the pace",
					m.Name, limitName(k), lk.resource, atLimit, lk.of, c, n))
			}
		}
	}
}

// CarryMonitors puts into dst, a summary rebuilt by Build from a run's
// stored snapshots, the monitors of src, the summary recorded at the
// run's end (which AddMonitors completed): the monitors field, each
// timeline point's monitors (when both timelines have the same intervals)
// and the monitor warnings; then it evaluates dst's monitor thresholds on
// them. Snapshots hold the samples sent during the intervals
// (MonitorsFromSnapshots), but the run's own summary also counts the
// scrapes before its first interval and after its last: a rebuilt summary
// of the whole run keeps what the run reported with this.
func CarryMonitors(dst, src *Summary) {
	if len(src.Monitors) == 0 {
		return
	}
	dst.Monitors = src.Monitors
	if len(dst.Timeline) == len(src.Timeline) {
		for i := range dst.Timeline {
			dst.Timeline[i].Monitors = src.Timeline[i].Monitors
		}
	}
	for _, w := range src.Warnings {
		if strings.HasPrefix(w, "monitor ") && !slices.Contains(dst.Warnings, w) {
			dst.Warnings = append(dst.Warnings, w)
		}
	}
	evaluateMonitorThresholds(dst)
}

// evaluateMonitorThresholds (re)evaluates s's monitor thresholds on
// s.Monitors, keeping the others as Build left them.
func evaluateMonitorThresholds(s *Summary) {
	for i, o := range s.Thresholds {
		t, err := metrics.ParseThreshold(o.Expr)
		if err != nil || t.Monitor == "" {
			continue
		}
		limited := o.Limited
		s.Thresholds[i] = evaluateMonitor(ThresholdOutcome{Expr: o.Expr}, t, s.Monitors)
		s.Thresholds[i].Limited = limited
	}
}

// evaluateMonitor measures monitor threshold t on mons into out.
func evaluateMonitor(out ThresholdOutcome, t metrics.Threshold, mons []MonitorSummary) ThresholdOutcome {
	var m *MonitorSummary
	names := make([]string, 0, len(mons))
	for i := range mons {
		names = append(names, mons[i].Name)
		if mons[i].Name == t.Monitor {
			m = &mons[i]
		}
	}
	if m == nil {
		out.Error = fmt.Sprintf("no monitor named %q", t.Monitor)
		if best := suggest.Closest(t.Monitor, names); best != "" {
			out.Error += fmt.Sprintf("; did you mean %q?", best)
		}
		return out
	}
	if m.Scrapes > 0 && m.Failed == m.Scrapes {
		out.Error = fmt.Sprintf("monitor %q: every scrape failed (%s)", m.Name, m.LastError)
		return out
	}
	rs := make([]metrics.SeriesRange, len(m.Series))
	for i, ss := range m.Series {
		rs[i] = metrics.SeriesRange{Name: ss.Name, Unit: ss.Unit, Min: ss.Min, Max: ss.Max}
	}
	v, err := t.MeasureSeries(rs)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Value = round(v, 3)
	out.OK = t.Holds(v)
	for _, ss := range m.Series {
		if ss.Name == t.Metric {
			out.Unit = ss.Unit
			break
		}
	}
	return out
}

// limitName words a limit series' key: "host CPU", "process gunicorn (pid 12)".
func limitName(key string) string {
	name, labels, _ := strings.Cut(key, "{")
	what := limitSeries[name].what
	if labels == "" {
		return what
	}
	return what + " {" + labels
}

// writeMonitors writes the compact block of each monitor: peak host CPU,
// least memory available, peak listen overflows/s, each process's peak
// CPU.
func writeMonitors(w io.Writer, s *Summary) {
	for _, m := range s.Monitors {
		fmt.Fprintf(w, "\n  monitor %s  %s  scrapes %d, failed %d", m.Name, m.URL, m.Scrapes, m.Failed)
		if m.DroppedSeries > 0 {
			fmt.Fprintf(w, ", %d series dropped (cap)", m.DroppedSeries)
		}
		fmt.Fprintln(w)
		if m.Scrapes > 0 && m.Failed == m.Scrapes {
			fmt.Fprintf(w, "    every scrape failed: %s\n", m.LastError)
			continue
		}
		var host []string
		for _, ss := range m.Series {
			if len(ss.Labels) > 0 {
				continue
			}
			switch ss.Name {
			case scrape.HostCPUBusyPercent:
				host = append(host, "cpu peak "+num(round(ss.Max, 1))+"%")
			case scrape.HostMemoryAvailable:
				host = append(host, "memory available min "+bytes(int64(ss.Min)))
			case scrape.HostMemoryUsedPercent:
				host = append(host, "memory used peak "+num(round(ss.Max, 1))+"%")
			case scrape.HostListenOverflows:
				host = append(host, "listen overflows peak "+num(round(ss.Max, 2))+"/s")
			}
		}
		if len(host) > 0 {
			fmt.Fprintf(w, "    host     %s\n", strings.Join(host, "   "))
		}
		for _, ss := range m.Series {
			if ss.Name != scrape.ProcessCPUPercent && ss.Name != scrape.ProcessCPUCores {
				continue
			}
			if ss.Name == scrape.ProcessCPUCores && hasSeries(m.Series, scrape.ProcessCPUPercent, ss.Labels) {
				continue // the percentage of its limit says more
			}
			who := ss.Labels["name"]
			if pid := ss.Labels["pid"]; pid != "" {
				who += "[" + pid + "]"
			}
			if who == "" {
				who = "(the endpoint's own process)"
			}
			if ss.Name == scrape.ProcessCPUPercent {
				fmt.Fprintf(w, "    process  %s cpu peak %s%% of its limit\n", who, num(round(ss.Max, 1)))
			} else {
				fmt.Fprintf(w, "    process  %s cpu peak %s cores\n", who, num(round(ss.Max, 2)))
			}
		}
		// Memory against a limit, only where one is known (a process's
		// cgroup limit, a cgroup's memory.max).
		for _, ss := range m.Series {
			if ss.Name != scrape.ProcessMemoryPercent {
				continue
			}
			who := ss.Labels["name"] + "[" + ss.Labels["pid"] + "]"
			rss := ""
			if r, ok := findSeries(m.Series, scrape.ProcessRSS, ss.Labels); ok {
				rss = " " + bytes(int64(r.Max)) + ","
			}
			fmt.Fprintf(w, "    process  %s rss peak%s %s%% of its memory limit\n", who, rss, num(round(ss.Max, 1)))
		}
		for _, ss := range m.Series {
			var what string
			switch ss.Name {
			case scrape.CgroupCPUPercent:
				what = "cpu peak " + num(round(ss.Max, 1)) + "% of cpu.max"
			case scrape.CgroupMemoryUsedPercent:
				what = "memory peak " + num(round(ss.Max, 1)) + "% of memory.max"
			default:
				continue
			}
			fmt.Fprintf(w, "    cgroup   %s %s\n", ss.Labels["cgroup"], what)
		}
	}
}

func findSeries(ss []MonitorSeries, name string, labels map[string]string) (MonitorSeries, bool) {
	for _, s := range ss {
		if s.Name == name && fmt.Sprint(s.Labels) == fmt.Sprint(labels) {
			return s, true
		}
	}
	return MonitorSeries{}, false
}

func hasSeries(ss []MonitorSeries, name string, labels map[string]string) bool {
	_, ok := findSeries(ss, name, labels)
	return ok
}
