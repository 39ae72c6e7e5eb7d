package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// SnapshotVersion is the major version of the encoded snapshot
// (snapshotpb.Snapshot.version). Fields added later keep the version: old
// readers skip them. A change that old readers would misread raises it,
// and DecodeSnapshot refuses versions it does not know. docs/snapshots.md
// describes the format.
const SnapshotVersion = 1

// Limits on what DecodeSnapshot accepts, so that a hostile or broken peer
// cannot make a reader allocate without bound (docs/limits.md). Encoded
// snapshots of real runs are far below them: a few KiB per endpoint.
const (
	// MaxEncodedSnapshot is the largest encoded snapshot, in bytes.
	MaxEncodedSnapshot = 32 << 20
	// MaxSnapshotEndpoints is the most endpoints (request names) in one.
	MaxSnapshotEndpoints = 4096
	// MaxSnapshotChecks is the most checks in one.
	MaxSnapshotChecks = 4096
	// MaxSnapshotMessages is the most error-message entries on the wire;
	// beyond maxMessages distinct ones, the rest are counted under
	// OtherMessages, as Merge does.
	MaxSnapshotMessages = 1024
	// maxClassEntries is the most class entries of one endpoint.
	maxClassEntries = 64
	// maxSnapshotBins bounds the bins of all the sketches of one snapshot
	// together (16 MiB of counts); each sketch has at most maxBins. An
	// HTTP endpoint has up to eight sketches (its latency and seven
	// phases), which on a real run span about eight times its latency's
	// bins: twice the 1<<20 of before phases keeps a few hundred such
	// endpoints within it (docs/limits.md).
	maxSnapshotBins = 1 << 21
	// MaxSnapshotMonitorSamples is the most monitor samples in one: 16
	// monitors (scenario.MaxMonitors) of 16 intervals each.
	MaxSnapshotMonitorSamples = 256
	// MaxMonitorSampleValues is the most values of one sample: the
	// scraper keeps 2,000 series per monitor, and derives a few more.
	MaxMonitorSampleValues = 16384
	// MaxSnapshotMonitorValues is the most values of all the samples of
	// one snapshot, and of all their string tables.
	MaxSnapshotMonitorValues = 65536
	// MaxSnapshotAgents is the most agent parts in one (a server keeps
	// 1,000 agents).
	MaxSnapshotAgents = 4096
	// maxMonitorBytes bounds what EncodeSnapshot writes of monitor
	// samples, about 2 MiB (a value's strings and 12 bytes for the rest),
	// so that an interval with its samples stays well within what a
	// server takes in one request (4 MiB, base64 and all).
	maxMonitorBytes = 2 << 20
)

// ErrSnapshotVersion is wrapped by DecodeSnapshot's error for a snapshot
// of a major version this reader does not know.
var ErrSnapshotVersion = errors.New("unknown snapshot format version")

var classByName = func() map[string]Class {
	m := make(map[string]Class, NumClasses)
	for c := Class(0); c < NumClasses; c++ {
		m[c.String()] = c
	}
	return m
}()

// The indexes a latency can have: from 1 ns to the longest time.Duration.
// Durations below 1 ns (zero) are the DDSketch's zero count.
var minBinIndex, maxBinIndex = indexMapping.Index(1), indexMapping.Index(math.MaxInt64)

// EncodeSnapshot returns s in the versioned wire and storage form
// (snapshotpb.Snapshot, protobuf). The encoding is deterministic: equal
// snapshots encode to equal bytes.
func EncodeSnapshot(s *Snapshot) ([]byte, error) {
	p := &snapshotpb.Snapshot{
		Version:        SnapshotVersion,
		Seq:            int64(s.Seq),
		StartUnixNano:  unixNano(s.Start),
		EndUnixNano:    unixNano(s.End),
		Iterations:     s.Iterations,
		Dropped:        s.Dropped,
		Due:            s.Due,
		CookiesDropped: s.CookiesDropped,
		Vus:            int64(s.VUs),
		MaxVus:         int64(s.MaxVUs),
		GeneratorCpu:   s.GeneratorCPU,
		GeneratorWait:  s.GeneratorWait,
	}
	if s.Lag != nil {
		p.Lag = sketchToProto(s.Lag)
	}
	p.Endpoints = make([]*snapshotpb.Endpoint, len(s.Endpoints))
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		pe := &snapshotpb.Endpoint{Name: e.Name, Method: e.Method, Requests: e.Requests,
			BytesSent: e.BytesSent, BytesReceived: e.BytesReceived}
		for c, n := range e.Classes {
			if n != 0 {
				pe.Classes = append(pe.Classes, &snapshotpb.ClassCount{Name: Class(c).String(), Count: n})
			}
		}
		if e.Latency != nil {
			pe.Latency = sketchToProto(e.Latency)
		}
		pe.Phases, pe.Protocols = phasesToProto(&e.Phases), protosToProto(&e.Protos)
		p.Endpoints[i] = pe
	}
	p.Checks = make([]*snapshotpb.Check, len(s.Checks))
	for i, c := range s.Checks {
		p.Checks[i] = &snapshotpb.Check{Name: c.Name, Passes: c.Passes, Fails: c.Fails}
	}
	for m, n := range s.Messages {
		p.Messages = append(p.Messages, &snapshotpb.MessageCount{Message: m, Count: n})
	}
	sort.Slice(p.Messages, func(i, j int) bool { return p.Messages[i].Message < p.Messages[j].Message })
	p.Monitors = monitorsToProto(s.Monitors)
	for i := range s.Agents {
		if i == MaxSnapshotAgents {
			break // no run has that many agents (the server keeps 1,000)
		}
		a := &s.Agents[i]
		pa := &snapshotpb.AgentPart{Name: a.Name, Cores: int64(a.Cores), Requests: a.Requests, Errors: a.Errors,
			Iterations: a.Iterations, Dropped: a.Dropped, Due: a.Due, GeneratorCpu: a.GeneratorCPU, Intervals: int64(a.Intervals),
			SchedCount: a.SchedCount, SchedLate: a.SchedLate}
		if a.Lag != nil && a.Lag.Count() > 0 {
			pa.Lag = sketchToProto(a.Lag)
		}
		p.Agents = append(p.Agents, pa)
	}
	p.Flows, p.Polls = flowsToProto(s.Flows), flowsToProto(s.Polls)
	if s.GeneratorSched != nil && s.GeneratorSched.Count() > 0 {
		p.GeneratorSched = sparseSketchToProto(s.GeneratorSched)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding snapshot %d: %w", s.Seq, err)
	}
	return b, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// fieldGeneratorSched is the number of Snapshot.generator_sched
// (snapshot.proto), for prescan.
const fieldGeneratorSched protowire.Number = 20

// sparseSketchToProto is sketchToProto with the used bins only, as a map
// (bin_counts) instead of a dense run: for a scheduling-latency sketch,
// whose runtime histogram puts its counts in about four bins per octave
// from tens of ns to ms, a few per cent of the dense span. Readers take
// either form.
func sparseSketchToProto(s *Sketch) *snapshotpb.Sketch {
	p := sketchToProto(s)
	if st := p.GetDdsketch().GetPositiveValues(); st != nil && len(st.ContiguousBinCounts) > 0 {
		m := make(map[int32]float64)
		for j, c := range st.ContiguousBinCounts {
			if c != 0 {
				m[st.ContiguousBinIndexOffset+int32(j)] = c
			}
		}
		st.BinCounts, st.ContiguousBinCounts, st.ContiguousBinIndexOffset = m, nil, 0
	}
	return p
}

func sketchToProto(s *Sketch) *snapshotpb.Sketch {
	p := &snapshotpb.Sketch{Count: s.count, SumNs: int64(s.sum), MinNs: int64(s.min), MaxNs: int64(s.max)}
	if s.count > 0 {
		p.Ddsketch = s.dd.ToProto()
		p.Ddsketch.NegativeValues = nil // always empty: Add records negatives as zero
	}
	return p
}

// DecodeSnapshot reads a snapshot EncodeSnapshot wrote, with any writer's
// version of the same major version: fields it does not know are skipped,
// and class names it does not know are counted under "other" (so errors
// stay errors and every request keeps one class). It refuses another major
// version (ErrSnapshotVersion), input beyond the limits above, and values
// no recorder makes (negative counts, a sketch whose bins disagree with its
// count), each with an error naming what is wrong.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	s, err := decodeSnapshot(b)
	if err != nil {
		return Snapshot{}, fmt.Errorf("decoding snapshot: %w", err)
	}
	return s, nil
}

func decodeSnapshot(b []byte) (Snapshot, error) {
	if len(b) > MaxEncodedSnapshot {
		return Snapshot{}, fmt.Errorf("%d bytes is more than the %d a snapshot may have", len(b), MaxEncodedSnapshot)
	}
	// Count what the message holds before unmarshalling, which allocates a
	// struct per entry: a small input of many empty entries must not
	// become a large heap.
	if err := prescan(b); err != nil {
		return Snapshot{}, err
	}
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(b, &p); err != nil {
		return Snapshot{}, err
	}
	switch {
	case p.Version == 0:
		return Snapshot{}, errors.New("no format version: not an encoded snapshot")
	case p.Version != SnapshotVersion:
		return Snapshot{}, fmt.Errorf("%w %d: this surge reads version %d; upgrade it", ErrSnapshotVersion, p.Version, SnapshotVersion)
	}
	if p.Seq < 0 || p.Seq > math.MaxInt32 {
		return Snapshot{}, fmt.Errorf("seq: %d is not an interval number", p.Seq)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"iterations", p.Iterations}, {"dropped", p.Dropped}, {"due", p.Due}, {"cookies_dropped", p.CookiesDropped},
		{"vus", p.Vus}, {"max_vus", p.MaxVus}} {
		if f.v < 0 {
			return Snapshot{}, fmt.Errorf("%s: %d is negative", f.name, f.v)
		}
	}
	if p.Vus > math.MaxInt32 || p.MaxVus > math.MaxInt32 {
		return Snapshot{}, fmt.Errorf("vus: %d, max_vus: %d: too many", p.Vus, p.MaxVus)
	}
	if !(p.GeneratorCpu >= 0) || math.IsInf(p.GeneratorCpu, 0) {
		return Snapshot{}, fmt.Errorf("generator_cpu: %v is not a number of cores", p.GeneratorCpu)
	}
	if !(p.GeneratorWait >= 0) || math.IsInf(p.GeneratorWait, 0) {
		return Snapshot{}, fmt.Errorf("generator_wait: %v is not a number of cores", p.GeneratorWait)
	}
	s := Snapshot{
		Seq: int(p.Seq), Start: fromUnixNano(p.StartUnixNano), End: fromUnixNano(p.EndUnixNano),
		Iterations: p.Iterations, Dropped: p.Dropped, Due: p.Due, CookiesDropped: p.CookiesDropped,
		VUs: int(p.Vus), MaxVUs: int(p.MaxVus), GeneratorCPU: p.GeneratorCpu, GeneratorWait: p.GeneratorWait,
	}
	bins := 0
	var err error
	if p.Lag != nil {
		if s.Lag, err = sketchFromProto(p.Lag, &bins); err != nil {
			return Snapshot{}, fmt.Errorf("lag: %w", err)
		}
	}
	if len(p.Endpoints) > 0 {
		s.Endpoints = make([]Endpoint, len(p.Endpoints))
	}
	for i, pe := range p.Endpoints {
		e := &s.Endpoints[i]
		e.Name, e.Method = pe.Name, pe.Method
		e.Requests, e.BytesSent, e.BytesReceived = pe.Requests, pe.BytesSent, pe.BytesReceived
		if e.Requests < 0 || e.BytesSent < 0 || e.BytesReceived < 0 {
			return Snapshot{}, fmt.Errorf("endpoint %q: negative count", pe.Name)
		}
		for _, pc := range pe.Classes {
			c, ok := classByName[pc.Name]
			if !ok {
				c = Other // a class a newer writer knows: still an error
			}
			if pc.Count < 0 || e.Classes[c] > math.MaxInt64-pc.Count {
				return Snapshot{}, fmt.Errorf("endpoint %q: class %q: count %d out of range", pe.Name, pc.Name, pc.Count)
			}
			e.Classes[c] += pc.Count
		}
		if pe.Latency != nil {
			if e.Latency, err = sketchFromProto(pe.Latency, &bins); err != nil {
				return Snapshot{}, fmt.Errorf("endpoint %q: latency: %w", pe.Name, err)
			}
		} else {
			e.Latency = NewSketch()
		}
		if err := phasesFromProto(e, pe, &bins); err != nil {
			return Snapshot{}, err
		}
	}
	if len(p.Checks) > 0 {
		s.Checks = make([]Check, len(p.Checks))
	}
	for i, pc := range p.Checks {
		if pc.Passes < 0 || pc.Fails < 0 {
			return Snapshot{}, fmt.Errorf("check %q: negative count", pc.Name)
		}
		s.Checks[i] = Check{Name: pc.Name, Passes: pc.Passes, Fails: pc.Fails}
	}
	for _, m := range p.Messages {
		if m.Count < 0 {
			return Snapshot{}, fmt.Errorf("message %q: negative count", m.Message)
		}
		addMessage(&s.Messages, m.Message, m.Count)
	}
	if s.Monitors, err = monitorsFromProto(p.Monitors); err != nil {
		return Snapshot{}, err
	}
	if len(p.Agents) > 0 {
		s.Agents = make([]AgentPart, len(p.Agents))
	}
	for i, pa := range p.Agents {
		a := &s.Agents[i]
		*a = AgentPart{Name: pa.Name, Requests: pa.Requests, Errors: pa.Errors, Iterations: pa.Iterations,
			Dropped: pa.Dropped, Due: pa.Due, GeneratorCPU: pa.GeneratorCpu, SchedCount: pa.SchedCount, SchedLate: pa.SchedLate}
		for _, v := range []int64{pa.Cores, pa.Requests, pa.Errors, pa.Iterations, pa.Dropped, pa.Due, pa.Intervals, pa.SchedCount, pa.SchedLate} {
			if v < 0 {
				return Snapshot{}, fmt.Errorf("agent %q: negative count", pa.Name)
			}
		}
		if pa.SchedLate > pa.SchedCount {
			return Snapshot{}, fmt.Errorf("agent %q: %d late scheduling latencies of %d", pa.Name, pa.SchedLate, pa.SchedCount)
		}
		if pa.Cores > math.MaxInt32 || pa.Intervals > math.MaxInt32 || pa.Errors > pa.Requests {
			return Snapshot{}, fmt.Errorf("agent %q: cores %d, intervals %d, errors %d of %d requests: out of range",
				pa.Name, pa.Cores, pa.Intervals, pa.Errors, pa.Requests)
		}
		if !(pa.GeneratorCpu >= 0) || math.IsInf(pa.GeneratorCpu, 0) {
			return Snapshot{}, fmt.Errorf("agent %q: generator_cpu: %v is not a number of cores", pa.Name, pa.GeneratorCpu)
		}
		a.Cores, a.Intervals = int(pa.Cores), int(pa.Intervals)
		if pa.Lag != nil {
			if a.Lag, err = sketchFromProto(pa.Lag, &bins); err != nil {
				return Snapshot{}, fmt.Errorf("agent %q: lag: %w", pa.Name, err)
			}
		}
	}
	if err := flowsFromSnapshot(&s, &p, &bins); err != nil {
		return Snapshot{}, err
	}
	if p.GeneratorSched != nil {
		if s.GeneratorSched, err = sketchFromProto(p.GeneratorSched, &bins); err != nil {
			return Snapshot{}, fmt.Errorf("generator_sched: %w", err)
		}
	}
	return s, nil
}

// monitorsToProto encodes monitor samples, each with a string table of
// its names, label names and values and units, in the order of first use
// (so equal samples encode alike). It keeps what DecodeSnapshot accepts:
// at most MaxSnapshotMonitorSamples samples and MaxMonitorSampleValues
// values each, MaxSnapshotMonitorValues in all, and about maxMonitorBytes
// (which counts a string each time a value uses it, so it overstates what
// the string tables take); the values left out are counted in their
// sample's dropped series. No run comes near: the
// scraper keeps 2,000 series per monitor, and a snapshot carries about
// one sample per monitor.
func monitorsToProto(ms []MonitorSample) []*snapshotpb.MonitorSample {
	if len(ms) == 0 {
		return nil
	}
	ms = ms[:min(len(ms), MaxSnapshotMonitorSamples)]
	out := make([]*snapshotpb.MonitorSample, 0, len(ms))
	used := 0    // values and strings of the samples so far, as prescan counts them
	written := 0 // about what they take encoded
	for i := range ms {
		m := &ms[i]
		pm := &snapshotpb.MonitorSample{Monitor: m.Monitor, TUnixNano: unixNano(m.T), TookNs: int64(m.Took),
			Error: m.Err, Dropped: int64(m.Dropped)}
		index := map[string]uint32{}
		str := func(v string) uint32 {
			k, ok := index[v]
			if !ok {
				k = uint32(len(pm.Strings))
				index[v] = k
				pm.Strings = append(pm.Strings, v)
			}
			return k
		}
		var names []string
		for j := range m.Values {
			v := &m.Values[j]
			// A value takes one entry and at most 3 + 2·labels strings.
			size := 12 + len(v.Name) + len(v.Unit)
			for n, lv := range v.Labels {
				size += len(n) + len(lv) + 4
			}
			if j >= MaxMonitorSampleValues || used+len(pm.Strings)+len(pm.Values)+4+2*len(v.Labels) > MaxSnapshotMonitorValues ||
				written+size > maxMonitorBytes {
				pm.Dropped += int64(len(m.Values) - j)
				break
			}
			str("")
			pv := &snapshotpb.MonitorValue{Name: str(v.Name), Unit: str(v.Unit), Derived: v.Derived, Value: v.V}
			names = names[:0]
			for n := range v.Labels {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				pv.Labels = append(pv.Labels, str(n), str(v.Labels[n]))
			}
			pm.Values = append(pm.Values, pv)
			written += size
		}
		used += len(pm.Strings) + len(pm.Values)
		out = append(out, pm)
	}
	return out
}

// monitorsFromProto decodes and checks monitor samples: indexes inside
// their string table, label pairs, finite values (JSON has no NaN, and the
// scraper keeps none), no values in a failed sample.
func monitorsFromProto(ps []*snapshotpb.MonitorSample) ([]MonitorSample, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	out := make([]MonitorSample, len(ps))
	for i, pm := range ps {
		m := &out[i]
		*m = MonitorSample{Monitor: pm.Monitor, T: fromUnixNano(pm.TUnixNano), Took: time.Duration(pm.TookNs), Err: pm.Error}
		if pm.TookNs < 0 || pm.Dropped < 0 || pm.Dropped > math.MaxInt32 {
			return nil, fmt.Errorf("monitor %q sample: took %d ns, dropped %d: out of range", pm.Monitor, pm.TookNs, pm.Dropped)
		}
		m.Dropped = int(pm.Dropped)
		if pm.Error != "" && len(pm.Values) > 0 {
			return nil, fmt.Errorf("monitor %q sample: failed (%s) but has values", pm.Monitor, pm.Error)
		}
		if len(pm.Values) > 0 {
			m.Values = make([]MonitorValue, len(pm.Values))
		}
		n := uint32(len(pm.Strings))
		labelSets := map[string]map[string]string{} // equal label sets share one map
		var kb []byte                               // a label set's key: its indexes
		for j, pv := range pm.Values {
			if pv.Name >= n || pv.Unit >= n || len(pv.Labels)%2 != 0 {
				return nil, fmt.Errorf("monitor %q sample: value %d: string index out of the table of %d, or labels not in pairs", pm.Monitor, j, n)
			}
			if math.IsNaN(pv.Value) || math.IsInf(pv.Value, 0) {
				return nil, fmt.Errorf("monitor %q sample: series %q: value %v is not finite", pm.Monitor, pm.Strings[pv.Name], pv.Value)
			}
			v := &m.Values[j]
			*v = MonitorValue{Name: pm.Strings[pv.Name], Unit: pm.Strings[pv.Unit], Derived: pv.Derived, V: pv.Value}
			if len(pv.Labels) == 0 {
				continue
			}
			kb = kb[:0]
			for _, x := range pv.Labels {
				kb = binary.AppendUvarint(kb, uint64(x))
			}
			ls, ok := labelSets[string(kb)]
			if !ok {
				ls = make(map[string]string, len(pv.Labels)/2)
				for k := 0; k < len(pv.Labels); k += 2 {
					a, b := pv.Labels[k], pv.Labels[k+1]
					if a >= n || b >= n {
						return nil, fmt.Errorf("monitor %q sample: value %d: label index out of the table of %d", pm.Monitor, j, n)
					}
					ls[pm.Strings[a]] = pm.Strings[b]
				}
				labelSets[string(kb)] = ls
			}
			v.Labels = ls
		}
	}
	return out, nil
}

// sketchFromProto rebuilds a Sketch, adding its bins to *bins.
func sketchFromProto(p *snapshotpb.Sketch, bins *int) (*Sketch, error) {
	s := NewSketch()
	if p.Count == 0 {
		if p.SumNs != 0 || p.MinNs != 0 || p.MaxNs != 0 || ddCount(p.Ddsketch) != 0 {
			return nil, errors.New("an empty sketch with values")
		}
		return s, nil
	}
	if p.MinNs < 0 || p.MaxNs < p.MinNs || p.SumNs < 0 {
		return nil, fmt.Errorf("min %d, max %d, sum %d: not durations of one distribution", p.MinNs, p.MaxNs, p.SumNs)
	}
	d := p.Ddsketch
	if d == nil {
		return nil, fmt.Errorf("count %d but no ddsketch", p.Count)
	}
	want := indexMapping.ToProto()
	if m := d.Mapping; m == nil || m.Interpolation != want.Interpolation ||
		math.Abs(m.Gamma-want.Gamma) > 1e-12 || math.Abs(m.IndexOffset-want.IndexOffset) > 1e-12 {
		return nil, fmt.Errorf("ddsketch mapping %v: want %v (relative accuracy %v)", d.Mapping, want, RelativeAccuracy)
	}
	if n := len(d.NegativeValues.GetBinCounts()) + len(d.NegativeValues.GetContiguousBinCounts()); n > 0 {
		return nil, errors.New("ddsketch has negative values: latencies are never negative")
	}
	if !validCount(d.ZeroCount) {
		return nil, fmt.Errorf("ddsketch zero count %v", d.ZeroCount)
	}
	if err := checkStore(d.PositiveValues, bins); err != nil {
		return nil, err
	}
	if c := ddCount(d); math.Abs(c-float64(p.Count)) > 0.5+1e-9*float64(p.Count) {
		return nil, fmt.Errorf("ddsketch holds %v values, count says %d", c, p.Count)
	}
	if d.ZeroCount > 0 {
		_ = s.dd.AddWithCount(0, d.ZeroCount) // cannot fail: a valid count
	}
	if d.PositiveValues != nil {
		store.MergeWithProto(s.dd.GetPositiveValueStore(), d.PositiveValues)
	}
	s.count, s.sum, s.min, s.max = p.Count, time.Duration(p.SumNs), time.Duration(p.MinNs), time.Duration(p.MaxNs)
	return s, nil
}

func validCount(c float64) bool { return c >= 0 && !math.IsInf(c, 0) }

// checkStore refuses bins no latency sketch has: counts that are not
// finite and ≥ 0, indexes outside what a duration maps to, and more bins —
// or a wider span, which is what a dense store allocates — than maxBins. It
// adds the span to *bins, which may not pass maxSnapshotBins.
func checkStore(st *sketchpb.Store, bins *int) error {
	if st == nil {
		return nil
	}
	if len(st.BinCounts) > maxBins || len(st.ContiguousBinCounts) > maxBins {
		return fmt.Errorf("ddsketch has more than %d bins", maxBins)
	}
	lo, hi := math.MaxInt, math.MinInt
	bin := func(i int, c float64) error {
		if !validCount(c) {
			return fmt.Errorf("ddsketch bin %d: count %v", i, c)
		}
		if c == 0 {
			return nil
		}
		if i < minBinIndex || i > maxBinIndex {
			return fmt.Errorf("ddsketch bin %d: no duration has that index (%d to %d)", i, minBinIndex, maxBinIndex)
		}
		lo, hi = min(lo, i), max(hi, i)
		return nil
	}
	for i, c := range st.BinCounts {
		if err := bin(int(i), c); err != nil {
			return err
		}
	}
	for j, c := range st.ContiguousBinCounts {
		if err := bin(j+int(st.ContiguousBinIndexOffset), c); err != nil {
			return err
		}
	}
	if hi < lo {
		return nil
	}
	span := hi - lo + 1
	if span > maxBins {
		// The collapsing store would fold the lowest bins together; no
		// sketch of ours ever holds such a span.
		return fmt.Errorf("ddsketch spans %d bins, more than %d", span, maxBins)
	}
	if *bins += span; *bins > maxSnapshotBins {
		return fmt.Errorf("the sketches hold more than %d bins in all", maxSnapshotBins)
	}
	return nil
}

func ddCount(d *sketchpb.DDSketch) float64 {
	if d == nil {
		return 0
	}
	n := d.ZeroCount
	for _, st := range []*sketchpb.Store{d.PositiveValues, d.NegativeValues} {
		if st == nil {
			continue
		}
		for _, c := range st.BinCounts {
			n += c
		}
		for _, c := range st.ContiguousBinCounts {
			n += c
		}
	}
	return n
}

// prescan counts the repeated fields of an encoded snapshot against the
// limits without allocating, and refuses malformed wire data.
func prescan(b []byte) error {
	var endpoints, checks, messages, samples, values, agents int
	var flows, polls int
	return eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldFlows:
			return prescanFlow(num, v, &flows)
		case fieldPolls:
			return prescanFlow(num, v, &polls)
		case 16:
			if samples++; samples > MaxSnapshotMonitorSamples {
				return fmt.Errorf("more than %d monitor samples", MaxSnapshotMonitorSamples)
			}
			own := 0
			return eachField(v, func(num protowire.Number, _ []byte) error {
				if num != 5 && num != 6 { // strings, values
					return nil
				}
				if num == 6 {
					if own++; own > MaxMonitorSampleValues {
						return fmt.Errorf("a monitor sample with more than %d values", MaxMonitorSampleValues)
					}
				}
				if values++; values > MaxSnapshotMonitorValues {
					return fmt.Errorf("more than %d monitor values and strings", MaxSnapshotMonitorValues)
				}
				return nil
			})
		case 17:
			if agents++; agents > MaxSnapshotAgents {
				return fmt.Errorf("more than %d agent parts", MaxSnapshotAgents)
			}
			return eachField(v, func(num protowire.Number, v []byte) error {
				if num == 8 {
					return prescanSketch(v)
				}
				return nil
			})
		case 5:
			if endpoints++; endpoints > MaxSnapshotEndpoints {
				return fmt.Errorf("more than %d endpoints", MaxSnapshotEndpoints)
			}
			classes, phases, protos := 0, 0, 0
			return eachField(v, func(num protowire.Number, v []byte) error {
				switch num {
				case 4:
					if classes++; classes > maxClassEntries {
						return fmt.Errorf("an endpoint with more than %d classes", maxClassEntries)
					}
				case 7:
					return prescanSketch(v)
				case fieldEndpointPhases:
					if phases++; phases > maxPhaseEntries {
						return fmt.Errorf("an endpoint with more than %d phases", maxPhaseEntries)
					}
					return prescanPhase(v)
				case fieldEndpointProtocols:
					if protos++; protos > maxProtoEntries {
						return fmt.Errorf("an endpoint with more than %d protocols", maxProtoEntries)
					}
				}
				return nil
			})
		case 6:
			if checks++; checks > MaxSnapshotChecks {
				return fmt.Errorf("more than %d checks", MaxSnapshotChecks)
			}
		case 13, fieldGeneratorSched:
			return prescanSketch(v)
		case 15:
			if messages++; messages > MaxSnapshotMessages {
				return fmt.Errorf("more than %d error messages", MaxSnapshotMessages)
			}
		}
		return nil
	})
}

func prescanSketch(b []byte) error {
	return eachField(b, func(num protowire.Number, v []byte) error {
		if num != 5 { // Sketch.ddsketch
			return nil
		}
		return eachField(v, func(num protowire.Number, v []byte) error {
			if num != 2 && num != 3 { // DDSketch.positiveValues, negativeValues
				return nil
			}
			entries, packed := 0, 0
			return eachField(v, func(num protowire.Number, v []byte) error {
				switch num {
				case 1: // binCounts map entries
					entries++
				case 2: // contiguousBinCounts, packed or not
					if v == nil {
						packed++
					} else {
						packed += len(v) / 8
					}
				}
				if entries > maxBins || packed > maxBins {
					return fmt.Errorf("ddsketch has more than %d bins", maxBins)
				}
				return nil
			})
		})
	})
}

// eachField calls f with each field of the message b: its number and, for
// a length-delimited field, its bytes (nil for other wire types).
func eachField(b []byte, f func(num protowire.Number, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		if typ == protowire.BytesType {
			v, n = protowire.ConsumeBytes(b)
			if v == nil && n >= 0 {
				v = []byte{}
			}
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}

// EncodedVersion returns the format version of an encoded snapshot without
// decoding the rest; 0 when b has none.
func EncodedVersion(b []byte) (uint32, error) {
	var v uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("reading snapshot version: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			v, n = protowire.ConsumeVarint(b)
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return 0, fmt.Errorf("reading snapshot version: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	if v > math.MaxUint32 {
		return 0, fmt.Errorf("reading snapshot version: %d is not a version", v)
	}
	return uint32(v), nil
}
