package metrics

import (
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
	// together (8 MiB of counts); each sketch has at most maxBins.
	maxSnapshotBins = 1 << 20
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
	s := Snapshot{
		Seq: int(p.Seq), Start: fromUnixNano(p.StartUnixNano), End: fromUnixNano(p.EndUnixNano),
		Iterations: p.Iterations, Dropped: p.Dropped, Due: p.Due, CookiesDropped: p.CookiesDropped,
		VUs: int(p.Vus), MaxVUs: int(p.MaxVus), GeneratorCPU: p.GeneratorCpu,
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
	return s, nil
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
	var endpoints, checks, messages int
	return eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case 5:
			if endpoints++; endpoints > MaxSnapshotEndpoints {
				return fmt.Errorf("more than %d endpoints", MaxSnapshotEndpoints)
			}
			classes := 0
			return eachField(v, func(num protowire.Number, v []byte) error {
				switch num {
				case 4:
					if classes++; classes > maxClassEntries {
						return fmt.Errorf("an endpoint with more than %d classes", maxClassEntries)
					}
				case 7:
					return prescanSketch(v)
				}
				return nil
			})
		case 6:
			if checks++; checks > MaxSnapshotChecks {
				return fmt.Errorf("more than %d checks", MaxSnapshotChecks)
			}
		case 13:
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
