package report

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/surgeload/surge/internal/monitor/scrape"
)

// monitorView is one monitor as the HTML report shows it: its charts (one
// per unit of its timeline series) and a table of every series it kept.
type monitorView struct {
	Name, URL       string
	Scrapes, Failed int
	DroppedSeries   int
	LastError       string
	Charts          []monitorChart
	Rows            []monitorRow // the derived series
	Raw             []monitorRow // the endpoint's own series, folded away
}

// monitorChart is one chart of a monitor: the timeline series that share
// a unit. Series is the JSON that report.js reads: [{key, label}].
type monitorChart struct {
	ID, Caption, Unit string
	Series            string
}

// monitorRow is one line of a monitor's table, formatted in its unit.
type monitorRow struct {
	Series, Unit         string
	Min, Mean, Max, Last string
	Derived              bool
}

// chartUnits are the units of the timeline series, in the order the charts
// follow, and what a chart of each shows.
var chartUnits = []struct{ unit, caption string }{
	{"%", "CPU, % busy"},
	{"B", "memory, bytes"},
	{"B/s", "network, bytes/s"},
	{"/s", "per second"},
	{"", "count"},
}

// derivedSeries are the series the scraper derives (scrape.Value.Derived):
// the monitor's table lists them first, the endpoint's own below.
var derivedSeries = map[string]bool{
	scrape.HostCPUBusyCores: true, scrape.HostCPUBusyPercent: true, scrape.HostMemoryAvailable: true,
	scrape.HostMemoryUsedPercent: true, scrape.HostNetworkReceive: true, scrape.HostNetworkTransmit: true,
	scrape.HostTCPEstablished: true, scrape.HostListenOverflows: true, scrape.ProcessCPUCores: true,
	scrape.ProcessCPUPercent: true, scrape.ProcessRSS: true, scrape.CgroupCPUCores: true,
	scrape.CgroupCPUPercent: true, scrape.CgroupThrottledPercent: true, scrape.CgroupMemoryUsedPercent: true,
}

// seriesWords names the derived series in the charts' legends.
var seriesWords = map[string]string{
	scrape.HostCPUBusyPercent:  "host CPU",
	scrape.HostMemoryAvailable: "memory available",
	scrape.HostNetworkReceive:  "network rx",
	scrape.HostNetworkTransmit: "network tx",
	scrape.HostTCPEstablished:  "TCP established",
	scrape.HostListenOverflows: "listen overflows",
	scrape.ProcessCPUPercent:   "CPU % of limit",
	scrape.ProcessRSS:          "RSS",
}

// monitorViews builds the monitors' charts and tables from s.
func monitorViews(s *Summary) []monitorView {
	var out []monitorView
	for mi, m := range s.Monitors {
		v := monitorView{Name: m.Name, URL: m.URL, Scrapes: m.Scrapes, Failed: m.Failed,
			DroppedSeries: m.DroppedSeries, LastError: m.LastError}
		units := map[string]string{} // series key → unit
		labels := map[string]map[string]string{}
		for _, ss := range m.Series {
			k := scrape.Value{Name: ss.Name, Labels: ss.Labels}.Key()
			units[k], labels[k] = ss.Unit, ss.Labels
			row := monitorRow{Series: k, Unit: ss.Unit, Derived: derivedSeries[ss.Name],
				Min: unitValue(ss.Min, ss.Unit), Mean: unitValue(ss.Mean, ss.Unit),
				Max: unitValue(ss.Max, ss.Unit), Last: unitValue(ss.Last, ss.Unit)}
			if row.Derived {
				v.Rows = append(v.Rows, row)
			} else {
				v.Raw = append(v.Raw, row)
			}
		}
		// The keys on the timeline: every point has the same ones.
		keys := map[string]bool{}
		for _, p := range s.Timeline {
			for k := range p.Monitors[m.Name] {
				keys[k] = true
			}
		}
		byUnit := map[string][]string{}
		for k := range keys {
			u, ok := units[k]
			if !ok {
				u = unitOfKey(k)
			}
			byUnit[u] = append(byUnit[u], k)
		}
		for ci, cu := range chartUnits {
			ks := byUnit[cu.unit]
			if len(ks) == 0 {
				continue
			}
			sort.Strings(ks)
			type entry struct {
				Key   string `json:"key"`
				Label string `json:"label"`
			}
			var es []entry
			for _, k := range ks {
				es = append(es, entry{k, seriesLabel(k, labels[k])})
			}
			b, _ := json.Marshal(es) // strings only: cannot fail
			caption := cu.caption
			if cu.unit == "%" && !slices.ContainsFunc(ks, func(k string) bool { return strings.Contains(k, "cpu") }) {
				caption = "percent"
			}
			v.Charts = append(v.Charts, monitorChart{
				ID: "chart-monitor-" + strconv.Itoa(mi) + "-" + strconv.Itoa(ci), Caption: caption, Unit: cu.unit, Series: string(b)})
		}
		out = append(out, v)
	}
	return out
}

// unitOfKey guesses a timeline key's unit from its metric name, for a key
// the monitor's series list does not have.
func unitOfKey(k string) string {
	name, _, _ := strings.Cut(k, "{")
	switch {
	case strings.Contains(name, "percent"):
		return "%"
	case strings.HasSuffix(name, "_bytes_per_second"):
		return "B/s"
	case strings.HasSuffix(name, "_bytes"):
		return "B"
	case strings.HasSuffix(name, "_per_second"):
		return "/s"
	}
	return ""
}

// seriesLabel words a timeline series for a legend: "host CPU",
// "gunicorn[4242] RSS", "network rx eth0".
func seriesLabel(key string, ls map[string]string) string {
	name, _, _ := strings.Cut(key, "{")
	words := seriesWords[name]
	if words == "" {
		words = name
	}
	if ls == nil {
		return words
	}
	who := ls["name"]
	if pid := ls["pid"]; pid != "" {
		who += "[" + pid + "]"
	}
	var rest []string
	for k, v := range ls {
		if k != "name" && k != "pid" {
			rest = append(rest, v)
		}
	}
	sort.Strings(rest)
	parts := []string{}
	if who != "" {
		parts = append(parts, who)
	}
	parts = append(parts, words)
	parts = append(parts, rest...)
	return strings.Join(parts, " ")
}

// unitValue formats v in unit, as the monitor tables show it.
func unitValue(v float64, unit string) string {
	switch unit {
	case "B":
		return bytes(int64(v))
	case "B/s":
		return bytes(int64(v)) + "/s"
	case "%":
		return num(round(v, 1)) + "%"
	case "cores":
		return num(round(v, 2)) + " cores"
	case "/s":
		return num(round(v, 2)) + "/s"
	case "s":
		return num(round(v, 3)) + " s"
	}
	return num(round(v, 2))
}
