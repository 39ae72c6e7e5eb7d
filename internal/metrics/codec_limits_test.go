package metrics_test

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// The limits of docs/limits.md ("Snapshots"), each at the limit (accepted)
// and one past it (refused), and the values no recorder makes next to the
// nearest ones it does.

// sketchBins is the number of bins of one latency sketch (docs/limits.md).
const sketchBins = 2048

// binIndex is the DDSketch bin a duration lands in, read back from the
// encoding of a sketch holding it.
func binIndex(t *testing.T, d time.Duration) int32 {
	t.Helper()
	s := metrics.NewSketch()
	s.Add(d)
	st := validSketchOf(t, s).Ddsketch.PositiveValues
	for j, c := range st.ContiguousBinCounts {
		if c != 0 {
			return st.ContiguousBinIndexOffset + int32(j)
		}
	}
	for i := range st.BinCounts {
		return i
	}
	t.Fatalf("no bin for %v", d)
	return 0
}

func validSketchOf(t *testing.T, s *metrics.Sketch) *snapshotpb.Sketch {
	t.Helper()
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, metrics.Snapshot{Lag: s}), &p); err != nil {
		t.Fatal(err)
	}
	return p.Lag
}

// withBins is a lag sketch whose positive store is st, its count the sum of
// st's counts.
func withBins(t *testing.T, st *sketchpb.Store) *snapshotpb.Sketch {
	sk := validSketch(t)
	sk.Ddsketch.PositiveValues = st
	var n float64
	for _, c := range st.BinCounts {
		n += c
	}
	for _, c := range st.ContiguousBinCounts {
		n += c
	}
	sk.Count = uint64(n)
	return sk
}

// spread is a store of n bins of count 1 at indexes from, from+step, ….
func spread(from int32, n int, step int32) *sketchpb.Store {
	st := &sketchpb.Store{BinCounts: map[int32]float64{}}
	for i := range n {
		st.BinCounts[from+int32(i)*step] = 1
	}
	return st
}

func ones(n int) []float64 {
	c := make([]float64, n)
	for i := range c {
		c[i] = 1
	}
	return c
}

// paddedTo is a valid encoded snapshot of exactly n bytes: an empty
// version-1 snapshot and a field this reader does not know, as padding.
func paddedTo(t *testing.T, n int) []byte {
	b := marshal(t, &snapshotpb.Snapshot{Version: 1, Seq: 1})
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	pad := n - len(b) - 1
	for pad+len(b)+protowire.SizeVarint(uint64(pad)) > n {
		pad--
	}
	b = protowire.AppendBytes(b, make([]byte, pad))
	if len(b) != n {
		t.Fatalf("padded to %d bytes, want %d", len(b), n)
	}
	return b
}

// wideSketches is a snapshot of n endpoints whose sketches span the most
// bins a sketch may (two bins sketchBins-1 apart), and extra endpoints of a
// one-bin sketch.
func wideSketches(t *testing.T, n, extra int) []byte {
	p := &snapshotpb.Snapshot{Version: 1}
	for range n {
		p.Endpoints = append(p.Endpoints, &snapshotpb.Endpoint{Name: "wide",
			Latency: withBins(t, &sketchpb.Store{BinCounts: map[int32]float64{100: 1, 100 + sketchBins - 1: 1}})})
	}
	for range extra {
		p.Endpoints = append(p.Endpoints, &snapshotpb.Endpoint{Name: "one", Latency: validSketch(t)})
	}
	return marshal(t, p)
}

func TestCodecLimitsAtTheBoundary(t *testing.T) {
	minIdx, maxIdx := binIndex(t, 1), binIndex(t, math.MaxInt64)
	if maxIdx-minIdx < sketchBins {
		t.Fatalf("bins %d to %d: the test needs them further apart", minIdx, maxIdx)
	}
	snap := func(p *snapshotpb.Snapshot) []byte { p.Version = 1; return marshal(t, p) }
	lag := func(st *sketchpb.Store) []byte { return snap(&snapshotpb.Snapshot{Lag: withBins(t, st)}) }
	classes := func(cs ...*snapshotpb.ClassCount) []byte {
		return snap(&snapshotpb.Snapshot{Endpoints: []*snapshotpb.Endpoint{{Name: "api", Classes: cs}}})
	}
	nClasses := func(n int) []byte {
		var cs []*snapshotpb.ClassCount
		for range n {
			cs = append(cs, &snapshotpb.ClassCount{Name: "ok", Count: 1})
		}
		return classes(cs...)
	}
	// zeroCount is a lag sketch of count values whose bins hold zero
	// values: the bins and the count disagree by zeros-count.
	zeroCount := func(count uint64, zeros float64) []byte {
		return snap(&snapshotpb.Snapshot{Lag: &snapshotpb.Sketch{Count: count,
			Ddsketch: &sketchpb.DDSketch{Mapping: validSketch(t).Ddsketch.Mapping, ZeroCount: zeros}}})
	}
	cases := []struct {
		name string
		in   []byte
		want string // "": decodes
	}{
		{"size at the limit", paddedTo(t, metrics.MaxEncodedSnapshot), ""},
		{"size past the limit", paddedTo(t, metrics.MaxEncodedSnapshot+1), "is more than the 33554432 a snapshot may have"},

		{"seq at the limit", snap(&snapshotpb.Snapshot{Seq: math.MaxInt32}), ""},
		{"seq past the limit", snap(&snapshotpb.Snapshot{Seq: math.MaxInt32 + 1}), "seq"},
		{"vus at the limit", snap(&snapshotpb.Snapshot{Vus: math.MaxInt32, MaxVus: math.MaxInt32}), ""},
		{"vus past the limit", snap(&snapshotpb.Snapshot{Vus: math.MaxInt32 + 1}), "vus: 2147483648"},
		{"max_vus past the limit", snap(&snapshotpb.Snapshot{MaxVus: math.MaxInt32 + 1}), "max_vus: 2147483648"},

		{"a class of count 0", classes(&snapshotpb.ClassCount{Name: "timeout", Count: 0}), ""},
		{"a class of count -1", classes(&snapshotpb.ClassCount{Name: "timeout", Count: -1}), `class "timeout": count -1`},
		// Two unknown classes both land in "other": their sum may reach
		// MaxInt64 but not pass it.
		{"class counts summing to MaxInt64", classes(&snapshotpb.ClassCount{Name: "other", Count: math.MaxInt64 - 1},
			&snapshotpb.ClassCount{Name: "quic", Count: 1}), ""},
		{"class counts summing past MaxInt64", classes(&snapshotpb.ClassCount{Name: "other", Count: math.MaxInt64 - 1},
			&snapshotpb.ClassCount{Name: "quic", Count: 2}), `class "quic": count 2 out of range`},
		{"class entries at the limit", nClasses(64), ""},
		{"class entries past the limit", nClasses(65), "more than 64 classes"},

		{"contiguous bins at the limit", lag(&sketchpb.Store{ContiguousBinIndexOffset: 100, ContiguousBinCounts: ones(sketchBins)}), ""},
		{"contiguous bins past the limit", lag(&sketchpb.Store{ContiguousBinIndexOffset: 100, ContiguousBinCounts: ones(sketchBins + 1)}), "more than 2048 bins"},
		{"sparse bins at the limit, spanning the limit", lag(spread(100, sketchBins, 1)), ""},
		{"sparse bins past the limit", lag(spread(100, sketchBins+1, 1)), "more than 2048 bins"},
		{"two bins spanning the limit", lag(spread(100, 2, sketchBins-1)), ""},
		{"two bins spanning one more", lag(spread(100, 2, sketchBins)), "spans 2049 bins, more than 2048"},

		{"the bin of 1 ns", lag(spread(minIdx, 1, 1)), ""},
		{"the bin below 1 ns", lag(spread(minIdx-1, 1, 1)), "no duration has that index"},
		{"the bin of the longest duration", lag(spread(maxIdx, 1, 1)), ""},
		{"the bin above the longest duration", lag(spread(maxIdx+1, 1, 1)), "no duration has that index"},
		{"a contiguous bin above the longest duration", lag(&sketchpb.Store{ContiguousBinIndexOffset: maxIdx, ContiguousBinCounts: []float64{1, 1}}),
			"no duration has that index"},
		// Every bin is checked, not only the first.
		{"a second contiguous bin of NaN", lag(&sketchpb.Store{ContiguousBinIndexOffset: 100, ContiguousBinCounts: []float64{1, math.NaN()}}),
			"ddsketch bin 101: count NaN"},
		{"a second contiguous bin of -1", lag(&sketchpb.Store{ContiguousBinIndexOffset: 100, ContiguousBinCounts: []float64{2, -1}}),
			"ddsketch bin 101: count -1"},
		{"negative values in a contiguous store", func() []byte {
			sk := validSketch(t)
			sk.Ddsketch.NegativeValues = &sketchpb.Store{ContiguousBinIndexOffset: 5, ContiguousBinCounts: []float64{1}}
			return snap(&snapshotpb.Snapshot{Lag: sk})
		}(), "negative values"},

		// A writer's mapping may differ from ours by float noise only.
		{"a mapping offset by float noise", func() []byte {
			sk := validSketch(t)
			sk.Ddsketch.Mapping.IndexOffset += 1e-12
			return snap(&snapshotpb.Snapshot{Lag: sk})
		}(), ""},
		{"a mapping offset by more", func() []byte {
			sk := validSketch(t)
			sk.Ddsketch.Mapping.IndexOffset += 1e-11
			return snap(&snapshotpb.Snapshot{Lag: sk})
		}(), "ddsketch mapping"},

		// The bins' total may differ from the count by float rounding:
		// half a value, plus 1e-9 of the count for large merged counts.
		{"bins half a value above the count", zeroCount(1, 1.5), ""},
		{"bins at the tolerance", zeroCount(43, 43.500000043), ""},
		{"bins past the tolerance", zeroCount(1, 1.6), "ddsketch holds 1.6 values, count says 1"},
		{"a large count one value off", zeroCount(1e9, 1e9+1), ""},
		{"a large count two values off", zeroCount(1e9, 1e9+2), "count says 1000000000"},

		// 1024 sketches spanning 2048 bins each are the 1<<21 bins a
		// snapshot may hold; one more bin, even a sketch of one, is too many.
		{"bins of all sketches at the limit", wideSketches(t, snapshotBins/sketchBins, 0), ""},
		{"bins of all sketches past the limit", wideSketches(t, snapshotBins/sketchBins, 1), "more than 2097152 bins in all"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := metrics.DecodeSnapshot(c.in)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("decoded, want an error mentioning %q", c.want)
			case c.want != "" && (!strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "decoding snapshot: ")):
				t.Errorf("error %q, want it to mention %q", err, c.want)
			}
		})
	}
}

// What decodes at the limits decodes to what was sent.
func TestCodecValuesAtTheLimits(t *testing.T) {
	p := &snapshotpb.Snapshot{Version: 1, Seq: math.MaxInt32, Vus: math.MaxInt32, MaxVus: math.MaxInt32 - 1,
		Endpoints: []*snapshotpb.Endpoint{{Name: "api", Requests: math.MaxInt64, Classes: []*snapshotpb.ClassCount{
			{Name: "ok", Count: 5}, {Name: "other", Count: math.MaxInt64 - 10}, {Name: "quic", Count: 10}}}}}
	s := decode(t, marshal(t, p))
	if s.Seq != math.MaxInt32 || s.VUs != math.MaxInt32 || s.MaxVUs != math.MaxInt32-1 {
		t.Errorf("seq %d, vus %d, max vus %d", s.Seq, s.VUs, s.MaxVUs)
	}
	var want [metrics.NumClasses]int64
	want[metrics.OK], want[metrics.Other] = 5, math.MaxInt64
	if e := s.Endpoints[0]; e.Classes != want || e.Requests != math.MaxInt64 {
		t.Errorf("requests %d, classes %v; want %d, %v", e.Requests, e.Classes, int64(math.MaxInt64), want)
	}
}

// A class named "unknown" — what Class.String returns for no class — is an
// unknown class like any other: counted under "other", never a panic.
func TestCodecClassNamedUnknown(t *testing.T) {
	p := &snapshotpb.Snapshot{Version: 1, Endpoints: []*snapshotpb.Endpoint{{Name: "api", Requests: 3,
		Classes: []*snapshotpb.ClassCount{{Name: "ok", Count: 1}, {Name: "unknown", Count: 2}}}}}
	s := decode(t, marshal(t, p))
	var want [metrics.NumClasses]int64
	want[metrics.OK], want[metrics.Other] = 1, 2
	if got := s.Endpoints[0].Classes; got != want {
		t.Errorf("classes %v, want %v", got, want)
	}
}

// An empty snapshot decodes to the zero Snapshot (nil slices, as a
// recorder's empty interval has them, so JSON renders it alike), and an
// empty sketch travels as its zero count alone.
func TestCodecEmptyValues(t *testing.T) {
	if got := decode(t, encode(t, metrics.Snapshot{})); !reflect.DeepEqual(got, metrics.Snapshot{}) {
		t.Errorf("empty snapshot decoded as %#v", got)
	}
	s := metrics.Snapshot{Lag: metrics.NewSketch(), Endpoints: []metrics.Endpoint{{Name: "idle", Latency: metrics.NewSketch()}}}
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, s), &p); err != nil {
		t.Fatal(err)
	}
	if p.Lag == nil || p.Lag.Ddsketch != nil || p.Endpoints[0].Latency == nil || p.Endpoints[0].Latency.Ddsketch != nil {
		t.Errorf("empty sketches encoded as lag %v, latency %v; want a zero count and no ddsketch", p.Lag, p.Endpoints[0].Latency)
	}
	got := decode(t, encode(t, s))
	if got.Lag == nil || got.Lag.Count() != 0 || got.Endpoints[0].Latency.Count() != 0 {
		t.Errorf("empty sketches decoded as %v, %v", got.Lag, got.Endpoints[0].Latency)
	}
}

// A sketch of zero latencies only (sum 0, every value in the zero count)
// is a valid sketch: loopback responses faster than the clock tick.
func TestCodecSketchOfZeros(t *testing.T) {
	s := metrics.Snapshot{Endpoints: []metrics.Endpoint{{Name: "fast", Requests: 3, Latency: metrics.NewSketch()}}}
	for range 3 {
		s.Endpoints[0].Latency.Add(0)
	}
	got := decode(t, encode(t, s))
	if l := got.Endpoints[0].Latency; l.Count() != 3 || l.Max() != 0 || l.Quantile(0.99) != 0 {
		t.Errorf("decoded %d values, max %v, p99 %v; want 3 zeros", l.Count(), l.Max(), l.Quantile(0.99))
	}
}

// raw builds wire bytes from (field, value) pairs: a []byte value is a
// length-delimited field, a uint64 a varint, a float64 a fixed64.
func raw(fields ...any) []byte {
	var b []byte
	for i := 0; i < len(fields); i += 2 {
		num := protowire.Number(fields[i].(int))
		switch v := fields[i+1].(type) {
		case []byte:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendBytes(b, v)
		case uint64:
			b = protowire.AppendTag(b, num, protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		case float64:
			b = protowire.AppendTag(b, num, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(v))
		}
	}
	return b
}

// lagStore is a version-1 snapshot whose lag sketch has the encoded store
// st as its positive (field 2) or negative (field 3) values.
func lagStore(field int, st []byte) []byte {
	sketch := raw(1, uint64(1), 5, raw(field, st))
	return raw(1, uint64(1), 13, sketch)
}

// endpointStore is the same with the sketch as an endpoint's latency.
func endpointStore(field int, st []byte) []byte {
	sketch := raw(1, uint64(1), 5, raw(field, st))
	return raw(1, uint64(1), 5, raw(1, []byte("api"), 7, sketch))
}

func marshalStore(t *testing.T, st *sketchpb.Store) []byte {
	b, err := proto.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A sketch of more bins than any sketch has is refused before the decoder
// builds it: a small hostile input must not become a large heap first. Each
// input is about 1.5 MB; refusing it allocates almost nothing.
func TestCodecOversizeSketchRefusedBeforeItIsBuilt(t *testing.T) {
	const n = 200_000
	sparse := marshalStore(t, spread(0, n/2, 1))
	packed := marshalStore(t, &sketchpb.Store{ContiguousBinCounts: ones(n)})
	var unpacked []byte
	for range n {
		unpacked = append(unpacked, raw(2, 1.0)...)
	}
	cases := []struct {
		name string
		in   []byte
	}{
		{"lag: sparse positive bins", lagStore(2, sparse)},
		{"lag: packed positive bins", lagStore(2, packed)},
		{"lag: unpacked positive bins", lagStore(2, unpacked)},
		{"lag: sparse negative bins", lagStore(3, sparse)},
		{"lag: packed negative bins", lagStore(3, packed)},
		{"latency: sparse positive bins", endpointStore(2, sparse)},
		{"latency: packed positive bins", endpointStore(2, packed)},
		{"latency: packed negative bins", endpointStore(3, packed)},
	}
	for _, c := range cases {
		var err error
		a := allocated(func() { _, err = metrics.DecodeSnapshot(c.in) })
		if err == nil || !strings.Contains(err.Error(), "more than 2048 bins") {
			t.Errorf("%s: error %v, want more than 2048 bins", c.name, err)
		}
		if a > 64<<10 {
			t.Errorf("%s: refusing %d bytes allocated %d: the sketch was built before it was refused", c.name, len(c.in), a)
		}
	}
}

// Empty chunks of packed bins hold no bins: a writer may split its packed
// field, and the count of bins is what the chunks hold.
func TestCodecEmptyPackedChunks(t *testing.T) {
	sk := validSketch(t)
	sk.Ddsketch.PositiveValues, sk.Ddsketch.ZeroCount = nil, 1
	sk.MinNs, sk.MaxNs, sk.SumNs = 0, 0, 0
	b := marshal(t, &snapshotpb.Snapshot{Version: 1, Lag: sk})
	var chunks []byte
	for range 3 * sketchBins {
		chunks = append(chunks, raw(2, []byte{})...)
	}
	// A second lag field merges into the first (protobuf semantics).
	b = append(b, raw(13, raw(5, raw(2, chunks)))...)
	s := decode(t, b)
	if s.Lag.Count() != 1 || s.Lag.Max() != 0 {
		t.Errorf("lag %d values, max %v; want one zero", s.Lag.Count(), s.Lag.Max())
	}
}

// EncodedVersion reads the version alone, whatever else the message holds
// or where the field is; 0 when there is none.
func TestEncodedVersion(t *testing.T) {
	r := encode(t, metrics.Snapshot{Seq: 9, Checks: []metrics.Check{{Name: "c", Passes: 1}}})
	cases := []struct {
		name string
		in   []byte
		want uint32
		err  string
	}{
		{"a snapshot", r, metrics.SnapshotVersion, ""},
		{"empty", nil, 0, ""},
		{"no version field", raw(2, uint64(5), 99, []byte("x")), 0, ""},
		{"version after other fields", raw(2, uint64(5), 15, []byte("m"), 14, 1.5, 1, uint64(7)), 7, ""},
		{"the largest version", raw(1, uint64(math.MaxUint32)), math.MaxUint32, ""},
		{"a version too large", raw(1, uint64(math.MaxUint32)+1), 0, "4294967296 is not a version"},
		{"a version of another wire type", raw(1, []byte{7}), 0, ""},
		{"a truncated tag", []byte{0x80}, 0, "reading snapshot version"},
		{"a truncated version", []byte{0x08, 0x80}, 0, "reading snapshot version"},
		{"a truncated field", raw(2, uint64(5))[:1], 0, "reading snapshot version"},
	}
	for _, c := range cases {
		v, err := metrics.EncodedVersion(c.in)
		switch {
		case c.err == "" && (err != nil || v != c.want):
			t.Errorf("%s: %d, %v; want %d", c.name, v, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %d, %v; want an error %q", c.name, v, err, c.err)
		}
	}
}

// A snapshot at the message cap — 64 distinct messages and the rest under
// OtherMessages — keeps every name through the codec and through Merge:
// OtherMessages is not one of the 64.
func TestMessagesAtTheCapKeepTheirNames(t *testing.T) {
	s := metrics.Snapshot{Messages: map[string]int64{metrics.OtherMessages: 10}}
	for i := range 64 {
		s.Messages[fmt.Sprintf("timeout: m%02d", i)] = 2
	}
	check := func(what string, got metrics.Snapshot, extra int64) {
		t.Helper()
		if len(got.Messages) != 65 || got.Messages[metrics.OtherMessages] != 10+extra {
			t.Errorf("%s: %d messages, %d other; want 64 and other %d", what, len(got.Messages), got.Messages[metrics.OtherMessages], 10+extra)
		}
		for m := range s.Messages {
			if got.Messages[m] == 0 {
				t.Errorf("%s: %q lost", what, m)
			}
		}
	}
	check("decoded", decode(t, encode(t, s)), 0)
	for range 20 { // Merge reads maps: any order must keep the names
		check("merged", metrics.Merge(s, metrics.Snapshot{Messages: map[string]int64{"timeout: m00": 1}}), 0)
		check("merged with a new message", metrics.Merge(s, metrics.Snapshot{Messages: map[string]int64{"timeout: new": 1}}), 1)
	}
}
