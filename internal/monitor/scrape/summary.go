package scrape

import "sort"

// SeriesSummary is one series over many samples, as the run summary's
// monitors[].series[] shows it.
type SeriesSummary struct {
	Name    string            `json:"name"`
	Labels  map[string]string `json:"labels,omitempty"`
	Unit    string            `json:"unit,omitempty"`
	Derived bool              `json:"derived,omitempty"`
	Min     float64           `json:"min"`
	Mean    float64           `json:"mean"`
	Max     float64           `json:"max"`
	Last    float64           `json:"last"`
	N       int               `json:"n"` // samples that had a value for it
}

// Summarize folds samples (in time order) into one SeriesSummary per
// series, derived series first, then by name and labels. Failed samples
// have no values and count for nothing.
func Summarize(samples []Sample) []SeriesSummary {
	byKey := map[string]*SeriesSummary{}
	sum := map[string]float64{}
	for _, s := range samples {
		for _, v := range s.Values {
			k := v.Key()
			ss := byKey[k]
			if ss == nil {
				ss = &SeriesSummary{Name: v.Name, Labels: v.Labels, Unit: v.Unit, Derived: v.Derived, Min: v.V, Max: v.V}
				byKey[k] = ss
			}
			ss.Min, ss.Max, ss.Last = min(ss.Min, v.V), max(ss.Max, v.V), v.V
			ss.N++
			sum[k] += v.V
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := byKey[keys[i]], byKey[keys[j]]
		if a.Derived != b.Derived {
			return a.Derived
		}
		return keys[i] < keys[j]
	})
	out := make([]SeriesSummary, 0, len(keys))
	for _, k := range keys {
		ss := byKey[k]
		ss.Mean = sum[k] / float64(ss.N)
		out = append(out, *ss)
	}
	return out
}
