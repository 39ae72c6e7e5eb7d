package metrics_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch/pb/sketchpb"
	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// snapshotBins is the bins of all the sketches of one snapshot that a
// decoder accepts (docs/limits.md).
const snapshotBins = 1 << 21

// withPhases is s with timing phases on every endpoint but the last (a
// WebSocket endpoint has none): each request's phases, a new connection
// (connect and tls) every tenth, queued on the first two endpoints (the
// open model's first step), and the protocols: HTTP/2.0 on "item", one
// request of unknown protocol (a failed handshake) on "login".
func withPhases(s metrics.Snapshot, r *rand.Rand) metrics.Snapshot {
	eps := make([]metrics.Endpoint, len(s.Endpoints))
	for i, e := range s.Endpoints {
		e.Latency = e.Latency.Copy()
		if i < len(s.Endpoints)-1 {
			for j := range e.Requests {
				// Integer arithmetic only, as for the latencies.
				p := metrics.Phases{
					metrics.PhaseSend:    time.Duration(5+r.IntN(50)) * time.Microsecond,
					metrics.PhaseWait:    time.Duration(i+1) * time.Duration(1+r.IntN(5000)) * time.Microsecond,
					metrics.PhaseReceive: time.Duration(r.IntN(2000)) * time.Microsecond,
				}
				if j%10 == 0 {
					p[metrics.PhaseConnect] = time.Duration(100+r.IntN(400)) * time.Microsecond
					p[metrics.PhaseTLS] = time.Duration(1000+r.IntN(3000)) * time.Microsecond
					p[metrics.PhaseBlocked] = time.Duration(r.IntN(100)) * time.Microsecond
				}
				e.Phases.Add(&p)
				if i < 2 {
					e.Phases.AddQueued(time.Duration(r.IntN(300)) * time.Microsecond)
				}
			}
			proto := metrics.ProtoHTTP11
			if e.Name == "item" {
				proto = metrics.ProtoHTTP2
			}
			e.Protos[proto] = e.Requests
			if e.Name == "login" {
				e.Protos[proto], e.Protos[metrics.ProtoUnknown] = e.Requests-1, 1
			}
		}
		eps[i] = e
	}
	s.Endpoints = eps
	return s
}

// samePhases compares the phases and protocols of two snapshots' endpoints.
func samePhases(t *testing.T, want, got metrics.Snapshot) {
	t.Helper()
	if len(got.Endpoints) != len(want.Endpoints) {
		t.Fatalf("%d endpoints, want %d", len(got.Endpoints), len(want.Endpoints))
	}
	for i := range want.Endpoints {
		w, g := &want.Endpoints[i], &got.Endpoints[i]
		for p := range metrics.NumPhases {
			sameSketch(t, w.Name+" "+p.String(), w.Phases.Sketch(p), g.Phases.Sketch(p))
		}
		if g.Protos != w.Protos {
			t.Errorf("%s: protocols %v, want %v", w.Name, g.Protos, w.Protos)
		}
	}
}

// The phases' golden fixture is version 1 with the fields added for
// phases and protocols (Endpoint 8 and 9). The fixtures before it stay as
// they were: a snapshot without phases encodes to the same bytes as
// before phases existed (TestCodecGolden and the others), and reads with
// none.
func TestCodecGoldenPhases(t *testing.T) {
	r := rand.New(rand.NewPCG(50, 60))
	s := withPhases(testSnapshot(r, 8), r)
	want, d := golden(t, "snapshot-v1-phases.pb", s)
	samePhases(t, s, d)
	if d.Endpoints[4].Phases.Sketch(metrics.PhaseWait) != nil || d.Endpoints[2].Phases.Sketch(metrics.PhaseQueued) != nil {
		t.Error("a phase that was never recorded decoded as one")
	}
	for range 3 {
		if !bytes.Equal(encode(t, d), want) {
			t.Fatal("re-encoding the decoded snapshot gave other bytes")
		}
	}
	for _, old := range []string{"snapshot-v1.pb", "snapshot-v1-monitors.pb", "snapshot-v1-flows.pb"} {
		b, err := os.ReadFile(filepath.Join("testdata", old))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range decode(t, b).Endpoints {
			if !e.Phases.Empty() || e.Protos != [metrics.NumProtos]int64{} {
				t.Errorf("%s: endpoint %s decoded with phases or protocols %v", old, e.Name, e.Protos)
			}
		}
	}
	// Phases made but empty (an interval after Reset) are absent: the
	// bytes of a snapshot without phases.
	plain := testSnapshot(rand.New(rand.NewPCG(50, 60)), 8)
	reset := withPhases(plain, rand.New(rand.NewPCG(1, 1)))
	for i := range reset.Endpoints {
		e := &reset.Endpoints[i]
		e.Phases = e.Phases.Copy()
		e.Phases.Reset()
		e.Protos = [metrics.NumProtos]int64{}
	}
	if !bytes.Equal(encode(t, plain), encode(t, reset)) {
		t.Error("empty phases changed the encoding")
	}
}

// An older reader's view: without Endpoint fields 8 and 9 the rest reads
// the same.
func TestCodecPhaseFieldsAreSkippable(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	plain := testSnapshot(r, 2)
	s := withPhases(plain, r)
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, s), &p); err != nil {
		t.Fatal(err)
	}
	if n := len(p.Endpoints[0].Phases); n != int(metrics.NumPhases) {
		t.Fatalf("login encoded %d phases, want all %d", n, metrics.NumPhases)
	}
	if n := len(p.Endpoints[2].Phases); n != int(metrics.PhaseQueued) {
		t.Fatalf("item encoded %d phases, want %d (no queued)", n, metrics.PhaseQueued)
	}
	for _, pe := range p.Endpoints {
		pe.Phases, pe.Protocols = nil, nil
	}
	if b := marshal(t, &p); !bytes.Equal(b, encode(t, plain)) {
		t.Error("the snapshot less its phases is not the encoding of the snapshot without phases")
	}
}

// What a newer writer may add reads: a phase this reader does not know
// is skipped, a protocol it does not know counts as unknown.
func TestCodecUnknownPhaseAndProtocol(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	s := withPhases(testSnapshot(r, 1), r)
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, s), &p); err != nil {
		t.Fatal(err)
	}
	e := p.Endpoints[1] // list: all HTTP/1.1
	e.Phases = append(e.Phases, &snapshotpb.PhaseSketch{Name: "dns", Sketch: validSketch(t)})
	e.Protocols[0].Count -= 2
	e.Protocols = append(e.Protocols, &snapshotpb.ProtoCount{Name: "HTTP/3.0", Count: 1}, &snapshotpb.ProtoCount{Name: "spdy", Count: 1})
	d := decode(t, marshal(t, &p))
	want := s.Endpoints[1].Protos
	want[metrics.ProtoHTTP11] -= 2
	want[metrics.ProtoUnknown] = 2
	if got := d.Endpoints[1].Protos; got != want {
		t.Errorf("protocols %v, want %v", got, want)
	}
	for ph := range metrics.NumPhases {
		sameSketch(t, ph.String(), s.Endpoints[1].Phases.Sketch(ph), d.Endpoints[1].Phases.Sketch(ph))
	}
}

func TestCodecRefusesBadPhases(t *testing.T) {
	base := func() *snapshotpb.Snapshot {
		var p snapshotpb.Snapshot
		r := rand.New(rand.NewPCG(1, 1))
		if err := proto.Unmarshal(encode(t, withPhases(testSnapshot(r, 1), r)), &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	wide := func() *snapshotpb.Sketch {
		return withBins(t, &sketchpb.Store{BinCounts: map[int32]float64{100: 1, 100 + sketchBins - 1: 1}})
	}
	for _, c := range []struct {
		name, want string
		edit       func(p *snapshotpb.Snapshot)
	}{
		{"a phase twice", `endpoint "login": phase "wait" listed twice`, func(p *snapshotpb.Snapshot) {
			p.Endpoints[0].Phases[1].Name = "wait"
		}},
		{"a phase without its sketch", `endpoint "list": phase "send" has no sketch`, func(p *snapshotpb.Snapshot) {
			p.Endpoints[1].Phases[3].Sketch = nil
		}},
		{"a bad phase sketch", `endpoint "list": phase "tls": ddsketch holds`, func(p *snapshotpb.Snapshot) {
			p.Endpoints[1].Phases[2].Sketch.Count++
		}},
		{"more durations than requests", `endpoint "cart": phase "blocked": 236 durations of 235 requests`, func(p *snapshotpb.Snapshot) {
			p.Endpoints[3].Requests = int64(p.Endpoints[3].Phases[4].Sketch.Count) - 1
			p.Endpoints[3].Protocols = nil
		}},
		{"a negative protocol count", `endpoint "item": protocol "HTTP/2.0": count -1`, func(p *snapshotpb.Snapshot) {
			p.Endpoints[2].Protocols[0].Count = -1
		}},
		{"more protocol counts than requests", `endpoint "login": protocol "HTTP/1.1": count`, func(p *snapshotpb.Snapshot) {
			p.Endpoints[0].Protocols[1].Count = p.Endpoints[0].Requests
		}},
		{"protocol counts past MaxInt64", `protocol "HTTP/1.1": count 298 out of range (9223372036854775807 requests)`, func(p *snapshotpb.Snapshot) {
			p.Endpoints[0].Requests = math.MaxInt64
			p.Endpoints[0].Protocols[0].Count = math.MaxInt64
		}},
		{"too many phase entries", "an endpoint with more than 64 phases", func(p *snapshotpb.Snapshot) {
			for i := range 65 {
				p.Endpoints[4].Phases = append(p.Endpoints[4].Phases, &snapshotpb.PhaseSketch{Name: fmt.Sprint("x", i)})
			}
		}},
		{"too many protocol entries", "an endpoint with more than 64 protocols", func(p *snapshotpb.Snapshot) {
			for range 65 {
				p.Endpoints[4].Protocols = append(p.Endpoints[4].Protocols, &snapshotpb.ProtoCount{Name: "HTTP/9"})
			}
		}},
		{"too many bins in a phase", "more than 2048 bins", func(p *snapshotpb.Snapshot) {
			p.Endpoints[0].Phases[0].Sketch = withBins(t, &sketchpb.Store{ContiguousBinIndexOffset: 100, ContiguousBinCounts: ones(sketchBins + 1)})
		}},
		// The phases' bins count with every other sketch's.
		{"too many bins in all", fmt.Sprintf("more than %d bins in all", snapshotBins), func(p *snapshotpb.Snapshot) {
			p.Endpoints = nil
			for i := range snapshotBins/sketchBins/8 + 1 {
				e := &snapshotpb.Endpoint{Name: fmt.Sprint(i), Requests: 2, Latency: wide()}
				for ph := range metrics.NumPhases {
					e.Phases = append(e.Phases, &snapshotpb.PhaseSketch{Name: ph.String(), Sketch: wide()})
				}
				p.Endpoints = append(p.Endpoints, e)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := base()
			c.edit(p)
			_, err := metrics.DecodeSnapshot(marshal(t, p))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
	// At the limits, it decodes: every endpoint's eight sketches of the
	// widest span, as many as the bin budget holds.
	p := base()
	p.Endpoints = nil
	for i := range snapshotBins / sketchBins / 8 {
		e := &snapshotpb.Endpoint{Name: fmt.Sprint(i), Requests: 2, Latency: wide(),
			Protocols: []*snapshotpb.ProtoCount{{Name: "HTTP/1.1", Count: 2}}}
		for ph := range metrics.NumPhases {
			e.Phases = append(e.Phases, &snapshotpb.PhaseSketch{Name: ph.String(), Sketch: wide()})
		}
		p.Endpoints = append(p.Endpoints, e)
	}
	p.Lag, p.Agents = nil, nil
	s := decode(t, marshal(t, p))
	if st, ok := s.Endpoints[0].Phases.Stats(metrics.PhaseQueued); !ok || st.Count != 2 || s.Endpoints[0].Protos[metrics.ProtoHTTP11] != 2 {
		t.Errorf("decoded %+v, %v", st, s.Endpoints[0].Protos)
	}
}

// Merge and Add merge the phases and protocols of endpoints by name and
// method, exactly, whatever the order, and share no sketch with their
// arguments; Totals adds every endpoint's.
func TestMergeAndAddMergePhases(t *testing.T) {
	part := func(wait time.Duration, n int, proto metrics.Proto) metrics.Snapshot {
		e := metrics.Endpoint{Name: "login", Method: "POST", Requests: int64(n), Latency: metrics.NewSketch()}
		e.Classes[metrics.OK] = int64(n)
		for range n {
			p := metrics.Phases{metrics.PhaseWait: wait, metrics.PhaseSend: time.Microsecond}
			e.Latency.Add(p.Total())
			e.Phases.Add(&p)
		}
		e.Protos[proto] = int64(n)
		return metrics.Snapshot{Start: t0, End: t0.Add(time.Second), Endpoints: []metrics.Endpoint{e}}
	}
	a, b := part(10*time.Millisecond, 10, metrics.ProtoHTTP11), part(30*time.Millisecond, 30, metrics.ProtoHTTP2)
	for _, m := range []metrics.Snapshot{metrics.Merge(a, b), metrics.Merge(b, a), metrics.Add(a, b)} {
		e := &m.Endpoints[0]
		st, ok := e.Phases.Stats(metrics.PhaseWait)
		if !ok || st.Count != 40 || st.Max != 30*time.Millisecond || st.P50 < 29*time.Millisecond {
			t.Errorf("wait %+v, %v", st, ok)
		}
		if e.Protos[metrics.ProtoHTTP11] != 10 || e.Protos[metrics.ProtoHTTP2] != 30 {
			t.Errorf("protocols %v", e.Protos)
		}
		if _, ok := e.Phases.Stats(metrics.PhaseQueued); ok {
			t.Error("a closed-model merge has a queued phase")
		}
		e.Phases.Add(&metrics.Phases{metrics.PhaseWait: time.Hour}) // must not reach a or b
		tot := m.Totals()
		if st, _ := tot.Phases.Stats(metrics.PhaseSend); st.Count != 41 || tot.Protos[metrics.ProtoHTTP2] != 30 {
			t.Errorf("totals: send %+v, protocols %v", st, tot.Protos)
		}
	}
	if st, _ := a.Endpoints[0].Phases.Stats(metrics.PhaseWait); st.Count != 10 || st.Max != 10*time.Millisecond {
		t.Errorf("merging modified its arguments: %+v", st)
	}
	if st, _ := b.Endpoints[0].Phases.Stats(metrics.PhaseWait); st.Count != 30 {
		t.Errorf("merging modified its arguments: %+v", st)
	}
	// A merge of decoded parts is the decoded merge.
	samePhases(t, metrics.Merge(a, b), metrics.Merge(decode(t, encode(t, a)), decode(t, encode(t, b))))
}
