package scrape

import (
	"sort"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// A Sample is what one scrape of one monitor gave: the values of its series
// at T, or the reason it failed. It is plain data and is never modified
// after Scrape returns it.
type Sample struct {
	Monitor string        `json:"monitor"`          // the Target's name
	T       time.Time     `json:"t"`                // when the scrape was sent: the values are the target's at T (within Took)
	Took    time.Duration `json:"took_ns"`          // from sending to the end of the body
	Err     string        `json:"err,omitempty"`    // why the scrape failed ("" when it did not); a failed sample has no values
	Values  []Value       `json:"values,omitempty"` // derived series first, then by name and labels
	// Dropped is how many series this scrape left out because the monitor
	// already kept Options.MaxSeries (Stats.DroppedLast).
	Dropped int `json:"dropped,omitempty"`
}

// Metrics returns s as a snapshot carries it (metrics.Snapshot.Monitors),
// sharing its label maps.
func (s Sample) Metrics() metrics.MonitorSample {
	m := metrics.MonitorSample{Monitor: s.Monitor, T: s.T, Took: s.Took, Err: s.Err, Dropped: s.Dropped}
	if len(s.Values) > 0 {
		m.Values = make([]metrics.MonitorValue, len(s.Values))
	}
	for i, v := range s.Values {
		m.Values[i] = metrics.MonitorValue{Name: v.Name, Labels: v.Labels, Unit: v.Unit, Derived: v.Derived, V: v.V}
	}
	return m
}

// FromMetrics is the Sample a snapshot's monitor sample holds (the
// inverse of Sample.Metrics), sharing its label maps.
func FromMetrics(m metrics.MonitorSample) Sample {
	s := Sample{Monitor: m.Monitor, T: m.T, Took: m.Took, Err: m.Err, Dropped: m.Dropped}
	if len(m.Values) > 0 {
		s.Values = make([]Value, len(m.Values))
	}
	for i, v := range m.Values {
		s.Values[i] = Value{Name: v.Name, Labels: v.Labels, Unit: v.Unit, Derived: v.Derived, V: v.V}
	}
	return s
}

// OK reports whether the scrape succeeded.
func (s Sample) OK() bool { return s.Err == "" }

// A Value is one series at one scrape. Counters are per-second rates over
// the time since the previous successful scrape (so the first scrape has
// none), gauges are as scraped, a histogram is its quantiles over that same
// time, one Value per quantile (label "quantile"). Derived values are the
// few computed series people look at first (docs/monitor.md lists them).
type Value struct {
	Name    string            `json:"name"`
	Labels  map[string]string `json:"labels,omitempty"`
	Unit    string            `json:"unit,omitempty"` // "cores", "%", "B", "B/s", "/s", "s", or "" for a plain number
	Derived bool              `json:"derived,omitempty"`
	V       float64           `json:"value"`
}

// Key identifies the series: its name and labels, in one string.
func (v Value) Key() string { return seriesKey(v.Name, v.Labels) }

// Find returns the value of the series name with exactly these labels
// (name, value pairs).
func (s Sample) Find(name string, labels ...string) (Value, bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	key := seriesKey(name, want)
	for _, v := range s.Values {
		if v.Name == name && v.Key() == key {
			return v, true
		}
	}
	return Value{}, false
}

func seriesKey(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(strings.ReplaceAll(labels[n], `"`, `\"`))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func sortValues(vs []Value) {
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].Derived != vs[j].Derived {
			return vs[i].Derived // derived series first: they are the ones people read
		}
		return vs[i].Key() < vs[j].Key()
	})
}

// Stats counts a monitor's scrapes so far.
type Stats struct {
	Scrapes int `json:"scrapes"` // attempted
	Failed  int `json:"failed"`  // failed, timed out or unparsable
	// DroppedSeries counts, summed over all scrapes, the series left out
	// because the monitor already kept MaxSeries; DroppedLast is how many
	// the latest successful scrape left out; DroppedNames names their
	// metrics (at most maxDroppedNames of them, the first seen).
	DroppedSeries int      `json:"dropped_series"`
	DroppedLast   int      `json:"dropped_last"`
	DroppedNames  []string `json:"dropped_names,omitempty"`
}
