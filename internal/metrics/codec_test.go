package metrics_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// testSnapshot is one interval of a 5-endpoint, 3-check scenario with
// errors of several classes, messages and start lag.
func testSnapshot(r *rand.Rand, seq int) metrics.Snapshot {
	s := metrics.Snapshot{
		Seq: seq, Start: t0.Add(time.Duration(seq) * time.Second), End: t0.Add(time.Duration(seq+1) * time.Second),
		Iterations: 900 + int64(seq), Dropped: 3, Due: 910, CookiesDropped: 2, VUs: 40, MaxVUs: 44,
		Lag: metrics.NewSketch(), GeneratorCPU: 0.75,
		Messages: map[string]int64{"status_5xx: 503 Service Unavailable": 7, "timeout: deadline exceeded": 2},
	}
	for i, name := range []string{"login", "list", "item", "cart", "checkout"} {
		e := metrics.Endpoint{Name: name, Method: "GET", Latency: metrics.NewSketch()}
		if i == 0 || i == 4 {
			e.Method = "POST"
		}
		n := 200 + r.IntN(100)
		for j := 0; j < n; j++ {
			// Integer arithmetic only, so the golden bytes are the same on
			// every platform (math.Exp may differ in its last bit).
			d := time.Duration(i+1) * time.Duration(1+r.IntN(5000)) * time.Microsecond
			if j == 0 {
				d = 0 // a zero latency lands in the DDSketch's zero count
			}
			e.Latency.Add(d)
			c := metrics.OK
			switch j % 50 {
			case 1:
				c = metrics.Status5xx
			case 2:
				c = metrics.Timeout
			case 3:
				c = metrics.CheckFailed
			}
			e.Requests++
			e.Classes[c]++
			e.BytesSent += 120
			e.BytesReceived += int64(500 + r.IntN(1000))
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	for _, name := range []string{"status is 200", "has items", "total matches"} {
		s.Checks = append(s.Checks, metrics.Check{Name: name, Passes: int64(300 + r.IntN(10)), Fails: int64(r.IntN(5))})
	}
	for j := 0; j < 50; j++ {
		s.Lag.Add(time.Duration(r.IntN(int(time.Millisecond))))
	}
	return s
}

func encode(t testing.TB, s metrics.Snapshot) []byte {
	t.Helper()
	b, err := metrics.EncodeSnapshot(&s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, b []byte) metrics.Snapshot {
	t.Helper()
	s, err := metrics.DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var quantiles = []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1}

func sameSketch(t *testing.T, what string, a, b *metrics.Sketch) {
	t.Helper()
	if (a == nil) != (b == nil) {
		t.Errorf("%s: sketch %v, want %v", what, b, a)
		return
	}
	if a == nil {
		return
	}
	if a.Count() != b.Count() || a.Min() != b.Min() || a.Max() != b.Max() || a.Mean() != b.Mean() {
		t.Errorf("%s: count/min/max/mean %d %v %v %v, want %d %v %v %v", what,
			b.Count(), b.Min(), b.Max(), b.Mean(), a.Count(), a.Min(), a.Max(), a.Mean())
	}
	for _, q := range quantiles {
		qa, qb := a.Quantile(q), b.Quantile(q)
		if math.Abs(float64(qa-qb)) > 1e-9*float64(qa) {
			t.Errorf("%s: q%v = %v, want %v", what, q, qb, qa)
		}
	}
}

// sameSnapshot compares every field of two snapshots.
func sameSnapshot(t *testing.T, want, got metrics.Snapshot) {
	t.Helper()
	if got.Seq != want.Seq || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) ||
		got.Iterations != want.Iterations || got.Dropped != want.Dropped || got.Due != want.Due ||
		got.CookiesDropped != want.CookiesDropped || got.VUs != want.VUs || got.MaxVUs != want.MaxVUs ||
		got.GeneratorCPU != want.GeneratorCPU {
		t.Errorf("scalars differ:\n got %+v\nwant %+v", got, want)
	}
	sameSketch(t, "lag", want.Lag, got.Lag)
	if len(got.Endpoints) != len(want.Endpoints) {
		t.Fatalf("%d endpoints, want %d", len(got.Endpoints), len(want.Endpoints))
	}
	for i := range want.Endpoints {
		w, g := want.Endpoints[i], got.Endpoints[i]
		if g.Name != w.Name || g.Method != w.Method || g.Requests != w.Requests || g.Classes != w.Classes ||
			g.BytesSent != w.BytesSent || g.BytesReceived != w.BytesReceived {
			t.Errorf("endpoint %d:\n got %+v\nwant %+v", i, g, w)
		}
		sameSketch(t, "endpoint "+w.Name, w.Latency, g.Latency)
	}
	if len(got.Checks) != len(want.Checks) {
		t.Fatalf("checks %v, want %v", got.Checks, want.Checks)
	}
	for i := range want.Checks {
		if got.Checks[i] != want.Checks[i] {
			t.Errorf("check %d: %+v, want %+v", i, got.Checks[i], want.Checks[i])
		}
	}
	if len(got.Messages) != len(want.Messages) {
		t.Errorf("messages %v, want %v", got.Messages, want.Messages)
	}
	for m, n := range want.Messages {
		if got.Messages[m] != n {
			t.Errorf("message %q: %d, want %d", m, got.Messages[m], n)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for seq := range 3 {
		s := testSnapshot(r, seq)
		b := encode(t, s)
		got := decode(t, b)
		sameSnapshot(t, s, got)
		if again := encode(t, got); !bytes.Equal(again, b) {
			t.Errorf("seq %d: re-encoding the decoded snapshot changed its bytes", seq)
		}
	}
}

func TestCodecEmptySnapshot(t *testing.T) {
	s := metrics.Snapshot{}
	got := decode(t, encode(t, s))
	sameSnapshot(t, s, got)
	if !got.Start.IsZero() || got.Lag != nil || got.Endpoints != nil || got.Messages != nil {
		t.Errorf("empty snapshot decoded as %+v", got)
	}
}

// Merging decoded snapshots gives what decoding the merge does: agents may
// send their snapshots encoded and the controller merge them after.
func TestCodecMergeOfDecodedIsDecodedMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a, b, c := testSnapshot(r, 7), testSnapshot(r, 7), testSnapshot(r, 7)
	merged := metrics.Merge(a, b, c)
	viaWire := metrics.Merge(decode(t, encode(t, a)), decode(t, encode(t, b)), decode(t, encode(t, c)))
	sameSnapshot(t, decode(t, encode(t, merged)), viaWire)
	sameSnapshot(t, merged, viaWire)
	total := viaWire.Totals()
	if want := a.Totals().Requests + b.Totals().Requests + c.Totals().Requests; total.Requests != want {
		t.Errorf("merged requests %d, want %d", total.Requests, want)
	}
	// Add (consecutive intervals) as well.
	spans := []metrics.Snapshot{testSnapshot(r, 0), testSnapshot(r, 1), testSnapshot(r, 2)}
	var decoded []metrics.Snapshot
	for _, s := range spans {
		decoded = append(decoded, decode(t, encode(t, s)))
	}
	sameSnapshot(t, metrics.Add(spans...), metrics.Add(decoded...))
}

// A newer writer's class and field: the old reader keeps every count and
// counts the unknown class as an error under "other".
func TestCodecUnknownClassAndField(t *testing.T) {
	p := &snapshotpb.Snapshot{
		Version: metrics.SnapshotVersion, Seq: 2,
		Endpoints: []*snapshotpb.Endpoint{{
			Name: "api", Method: "GET", Requests: 10,
			Classes: []*snapshotpb.ClassCount{{Name: "ok", Count: 6}, {Name: "quic_handshake", Count: 3}, {Name: "other", Count: 1}},
			Latency: &snapshotpb.Sketch{},
		}},
	}
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	// A field this reader has never heard of (number 99, a string).
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	b = protowire.AppendString(b, "from the future")
	s := decode(t, b)
	e := s.Endpoints[0]
	if e.Classes[metrics.OK] != 6 || e.Classes[metrics.Other] != 4 || e.Errors() != 4 || e.Requests != 10 {
		t.Errorf("classes %v (errors %d), want ok 6 and other 4", e.Classes, e.Errors())
	}
}

func TestCodecRefusesOtherVersions(t *testing.T) {
	for _, v := range []uint32{0, 2, 17} {
		b, _ := proto.Marshal(&snapshotpb.Snapshot{Version: v, Seq: 1})
		_, err := metrics.DecodeSnapshot(b)
		if err == nil {
			t.Errorf("version %d: decoded", v)
			continue
		}
		if v != 0 && !errors.Is(err, metrics.ErrSnapshotVersion) {
			t.Errorf("version %d: %v does not wrap ErrSnapshotVersion", v, err)
		}
		if v != 0 && !strings.Contains(err.Error(), "upgrade") {
			t.Errorf("version %d: %q does not say what to do", v, err)
		}
	}
}

func marshal(t *testing.T, p *snapshotpb.Snapshot) []byte {
	t.Helper()
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validSketch is the wire form of a sketch of one value.
func validSketch(t *testing.T) *snapshotpb.Sketch {
	s := metrics.NewSketch()
	s.Add(time.Millisecond)
	snap := metrics.Snapshot{Lag: s}
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, snap), &p); err != nil {
		t.Fatal(err)
	}
	return p.Lag
}

func TestCodecRefusesBadInput(t *testing.T) {
	many := func(n int, f func(*snapshotpb.Snapshot)) *snapshotpb.Snapshot {
		p := &snapshotpb.Snapshot{Version: 1}
		for range n {
			f(p)
		}
		return p
	}
	withSketch := func(f func(*snapshotpb.Sketch)) []byte {
		sk := validSketch(t)
		f(sk)
		return marshal(t, &snapshotpb.Snapshot{Version: 1, Lag: sk})
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"not protobuf", []byte{0xff, 0xff, 0xff}, "decoding snapshot"},
		{"too large", make([]byte, metrics.MaxEncodedSnapshot+1), "more than"},
		{"too many endpoints", marshal(t, many(metrics.MaxSnapshotEndpoints+1, func(p *snapshotpb.Snapshot) {
			p.Endpoints = append(p.Endpoints, &snapshotpb.Endpoint{})
		})), "endpoints"},
		{"too many checks", marshal(t, many(metrics.MaxSnapshotChecks+1, func(p *snapshotpb.Snapshot) {
			p.Checks = append(p.Checks, &snapshotpb.Check{})
		})), "checks"},
		{"too many messages", marshal(t, many(metrics.MaxSnapshotMessages+1, func(p *snapshotpb.Snapshot) {
			p.Messages = append(p.Messages, &snapshotpb.MessageCount{})
		})), "messages"},
		{"negative requests", marshal(t, &snapshotpb.Snapshot{Version: 1, Endpoints: []*snapshotpb.Endpoint{{Name: "a", Requests: -1}}}), `endpoint "a"`},
		{"negative iterations", marshal(t, &snapshotpb.Snapshot{Version: 1, Iterations: -5}), "iterations"},
		{"NaN cpu", marshal(t, &snapshotpb.Snapshot{Version: 1, GeneratorCpu: math.NaN()}), "generator_cpu"},
		{"too many bins", withSketch(func(s *snapshotpb.Sketch) {
			s.Ddsketch.PositiveValues = &sketchpb.Store{ContiguousBinCounts: make([]float64, 2049)}
		}), "bins"},
		{"bins far apart", withSketch(func(s *snapshotpb.Sketch) {
			s.Ddsketch.PositiveValues = &sketchpb.Store{BinCounts: map[int32]float64{100: 1, 2200: 1}}
			s.Count = 2
		}), "spans"},
		{"bin index of no duration", withSketch(func(s *snapshotpb.Sketch) {
			s.Ddsketch.PositiveValues = &sketchpb.Store{BinCounts: map[int32]float64{math.MaxInt32: 1}}
		}), "no duration"},
		{"negative bin count", withSketch(func(s *snapshotpb.Sketch) {
			s.Ddsketch.PositiveValues.ContiguousBinCounts[0] = -1
		}), "count"},
		{"infinite bin count", withSketch(func(s *snapshotpb.Sketch) {
			s.Ddsketch.PositiveValues.ContiguousBinCounts[0] = math.Inf(1)
		}), "count"},
		{"count disagrees with bins", withSketch(func(s *snapshotpb.Sketch) { s.Count = 5 }), "count says 5"},
		{"other mapping", withSketch(func(s *snapshotpb.Sketch) { s.Ddsketch.Mapping.Gamma = 1.05 }), "mapping"},
		{"no mapping", withSketch(func(s *snapshotpb.Sketch) { s.Ddsketch.Mapping = nil }), "mapping"},
		{"negative values", withSketch(func(s *snapshotpb.Sketch) {
			s.Ddsketch.NegativeValues = &sketchpb.Store{BinCounts: map[int32]float64{5: 1}}
		}), "negative"},
		{"min above max", withSketch(func(s *snapshotpb.Sketch) { s.MinNs = s.MaxNs + 1 }), "min"},
		{"count without sketch", withSketch(func(s *snapshotpb.Sketch) { s.Ddsketch = nil }), "no ddsketch"},
		{"empty sketch with values", withSketch(func(s *snapshotpb.Sketch) { s.Count = 0 }), "empty sketch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := metrics.DecodeSnapshot(c.in)
			if err == nil {
				t.Fatal("decoded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "decoding snapshot: ") {
				t.Errorf("error %q, want it to mention %q", err, c.want)
			}
		})
	}
}

// The golden fixture is version 1's wire form of a fixed snapshot: a change
// to the encoding that old readers or stored runs would see fails here.
// Rewrite it (go test -run Golden -update) only with a new version or an
// added field, and say so in docs/snapshots.md.
func TestCodecGolden(t *testing.T) {
	s := testSnapshot(rand.New(rand.NewPCG(10, 20)), 4)
	golden(t, "snapshot-v1.pb", s)
}

// maxDecodeAlloc is what decoding one input may allocate at most: the
// sketches' dense stores (≤ 16 MiB of bins in all) plus a multiple of the
// input, whatever the input holds.
func maxDecodeAlloc(n int) uint64 { return allocFactor * (24<<20 + 64*uint64(n)) }

func FuzzDecode(f *testing.F) {
	// Small seeds: the fuzzer mutates large ones (the golden file is
	// 14 KiB) a thousand times slower.
	small := metrics.Snapshot{Seq: 3, Start: t0, End: t0.Add(time.Second), Iterations: 5, VUs: 2, MaxVUs: 3,
		Lag: metrics.NewSketch(), Checks: []metrics.Check{{Name: "ok", Passes: 4, Fails: 1}},
		Messages: map[string]int64{"timeout: deadline": 1}}
	for _, name := range []string{"a", "b"} {
		e := metrics.Endpoint{Name: name, Method: "GET", Requests: 3, Latency: metrics.NewSketch()}
		e.Classes[metrics.OK], e.Classes[metrics.Timeout] = 2, 1
		for _, d := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond} {
			e.Latency.Add(d)
		}
		small.Endpoints = append(small.Endpoints, e)
	}
	small.Lag.Add(time.Microsecond)
	f.Add(encode(f, small))
	f.Add(encode(f, withMonitors(small)))
	f.Add(encode(f, withFlows(small, rand.New(rand.NewPCG(1, 2)))))
	f.Add(encode(f, withPhases(small, rand.New(rand.NewPCG(1, 3)))))
	f.Add(encode(f, metrics.Snapshot{}))
	f.Add([]byte{0x08, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := metrics.DecodeSnapshot(b)
		runtime.ReadMemStats(&after)
		if a := after.TotalAlloc - before.TotalAlloc; a > maxDecodeAlloc(len(b)) {
			t.Fatalf("decoding %d bytes allocated %d", len(b), a)
		}
		if err != nil {
			return
		}
		// What decodes re-encodes to a stable form.
		again, err := metrics.EncodeSnapshot(&s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := metrics.DecodeSnapshot(again)
		if err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
		third, _ := metrics.EncodeSnapshot(&s2)
		if !bytes.Equal(again, third) {
			t.Fatal("encode(decode(encode(s))) differs from encode(s)")
		}
		_ = s.Totals() // merging the decoded sketches must work
	})
}

func BenchmarkEncodeSnapshot(b *testing.B) {
	s := testSnapshot(rand.New(rand.NewPCG(7, 8)), 1)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		out, err := metrics.EncodeSnapshot(&s)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "wire-bytes")
}

func BenchmarkDecodeSnapshot(b *testing.B) {
	s := testSnapshot(rand.New(rand.NewPCG(7, 8)), 1)
	enc := encode(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := metrics.DecodeSnapshot(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "wire-bytes")
}

// allocated is what f allocates, in bytes.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The inputs that cost a decoder most per byte — many endpoints whose
// sketches each claim the widest span with two bins, and many empty
// entries — stay within the fuzz test's bound, accepted or not.
func TestCodecDecodeAllocationIsBounded(t *testing.T) {
	wide := func(n int) []byte {
		const lo = 100 // bins 100 and 2147: both durations, 2048 apart
		p := &snapshotpb.Snapshot{Version: 1}
		for range n {
			sk := validSketch(t)
			sk.Count = 2
			sk.Ddsketch.PositiveValues = &sketchpb.Store{BinCounts: map[int32]float64{lo: 1, lo + 2047: 1}}
			p.Endpoints = append(p.Endpoints, &snapshotpb.Endpoint{Name: "e", Latency: sk})
		}
		return marshal(t, p)
	}
	cases := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"wide sketches within the bin budget", wide(500), true},
		{"wide sketches at the bin budget", wide(snapshotBins / sketchBins), true},
		{"wide sketches beyond the bin budget", wide(4000), false},
		{"empty entries at every limit", emptyEntries(t), true},
	}
	for _, c := range cases {
		var err error
		a := allocated(func() { _, err = metrics.DecodeSnapshot(c.in) })
		if (err == nil) != c.ok {
			t.Errorf("%s: error %v, want ok %v", c.name, err, c.ok)
		}
		if a > maxDecodeAlloc(len(c.in)) {
			t.Errorf("%s: %d bytes allocated %d, more than %d", c.name, len(c.in), a, maxDecodeAlloc(len(c.in)))
		}
		t.Logf("%s: %d bytes in, %d allocated", c.name, len(c.in), a)
	}
}

func emptyEntries(t *testing.T) []byte {
	p := &snapshotpb.Snapshot{Version: 1}
	for range metrics.MaxSnapshotEndpoints {
		p.Endpoints = append(p.Endpoints, &snapshotpb.Endpoint{})
	}
	for range metrics.MaxSnapshotChecks {
		p.Checks = append(p.Checks, &snapshotpb.Check{})
	}
	for i := range metrics.MaxSnapshotMessages {
		p.Messages = append(p.Messages, &snapshotpb.MessageCount{Message: fmt.Sprint(i)})
	}
	return marshal(t, p)
}

// golden checks s's encoding against the fixture testdata/NAME (rewritten
// with -update), and that the fixture decodes to s; it returns the
// fixture and what it decoded to. Every golden test adds its own checks.
func golden(t *testing.T, name string, s metrics.Snapshot) ([]byte, metrics.Snapshot) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got := encode(t, s)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the encoding of the fixed snapshot changed (%d bytes, golden %d): a wire change (see TestCodecGolden)", len(got), len(want))
	}
	d := decode(t, want)
	sameSnapshot(t, s, d)
	return want, d
}
