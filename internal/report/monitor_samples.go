package report

import (
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/scenario"
)

// SampleFolds folds the monitor samples that snapshots carry
// (metrics.Snapshot.Monitors) into one MonitorData per monitor, counting
// its scrapes, failures and dropped series from the samples themselves:
// what a tracker of a recorded run, or a summary rebuilt from stored
// intervals, knows of the monitors. It is not safe for concurrent use.
type SampleFolds struct {
	order []string
	folds map[string]*MonitorFold
	stats map[string]*scrape.Stats
	urls  map[string]string
}

// NewSampleFolds returns folds for the plan's monitors, in its order; a
// sample of a monitor the plan does not name gets a fold after them.
func NewSampleFolds(ms []scenario.Monitor) *SampleFolds {
	f := &SampleFolds{folds: map[string]*MonitorFold{}, stats: map[string]*scrape.Stats{}, urls: map[string]string{}}
	for _, m := range ms {
		f.urls[m.Name] = m.URL
		f.fold(m.Name)
	}
	return f
}

func (f *SampleFolds) fold(name string) *MonitorFold {
	if fd := f.folds[name]; fd != nil {
		return fd
	}
	fd := NewMonitorFold(name, f.urls[name])
	f.folds[name], f.stats[name] = fd, &scrape.Stats{}
	f.order = append(f.order, name)
	return fd
}

// Add folds one sample in. Samples of one monitor must come in time order.
func (f *SampleFolds) Add(m metrics.MonitorSample) {
	fd := f.fold(m.Monitor)
	st := f.stats[m.Monitor]
	st.Scrapes++
	if m.Err != "" {
		st.Failed++
	} else {
		st.DroppedSeries += m.Dropped
		st.DroppedLast = m.Dropped
	}
	fd.Add(scrape.FromMetrics(m))
}

// Data returns what was folded so far, one MonitorData per monitor.
func (f *SampleFolds) Data() []MonitorData {
	out := make([]MonitorData, 0, len(f.order))
	for _, name := range f.order {
		out = append(out, f.folds[name].Data(*f.stats[name]))
	}
	return out
}

// FoldSamples folds the samples that each hands to its yield, in the
// order they came (one monitor's in the order they were sent), keeping
// those whose time falls in [from, to) — a zero bound is open — into one
// MonitorData per monitor: the plan's monitors first, in its order. ok is
// false when each yields no sample at all (a run without monitors, or
// stored before snapshots carried them): there is then nothing to say
// about its monitors, rather than "no scrapes". An error of each is
// returned.
//
// A sample travels with the snapshot taken after it came, which is
// usually that of the interval it was sent in and otherwise the next:
// samples are placed by their time, never by the snapshot carrying them.
func FoldSamples(ms []scenario.Monitor, from, to time.Time, each func(yield func(metrics.MonitorSample) error) error) (data []MonitorData, ok bool, err error) {
	f := NewSampleFolds(ms)
	err = each(func(m metrics.MonitorSample) error {
		ok = true
		if (!from.IsZero() && m.T.Before(from)) || (!to.IsZero() && !m.T.Before(to)) {
			return nil
		}
		f.Add(m)
		return nil
	})
	if err != nil || !ok {
		return nil, false, err
	}
	return f.Data(), true, nil
}

// MonitorsFromSnapshots is FoldSamples of the samples snaps carry.
func MonitorsFromSnapshots(ms []scenario.Monitor, snaps []metrics.Snapshot, from, to time.Time) (data []MonitorData, ok bool) {
	data, ok, _ = FoldSamples(ms, from, to, func(yield func(metrics.MonitorSample) error) error {
		for i := range snaps {
			for _, m := range snaps[i].Monitors {
				_ = yield(m) // never fails
			}
		}
		return nil
	})
	return data, ok
}
