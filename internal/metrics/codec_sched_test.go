package metrics_test

import (
	"bytes"
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

// schedSketch is a scheduling-latency distribution as the agent's meter
// makes it: many counts at a few bucket midpoints, from 32 ns to some ms.
func schedSketch(scale uint64) *metrics.Sketch {
	s := metrics.NewSketch()
	for i, d := range []time.Duration{32, 96, 160, 224, 1120, 9 * time.Microsecond, 150 * time.Microsecond, 2200 * time.Microsecond, 14 * time.Millisecond} {
		s.AddN(d, scale*uint64(1+i%3)*uint64(100>>i+1))
	}
	return s
}

// AddN is n calls of Add.
func TestSketchAddN(t *testing.T) {
	a, b := metrics.NewSketch(), metrics.NewSketch()
	for _, v := range []struct {
		d time.Duration
		n uint64
	}{{3 * time.Millisecond, 40}, {0, 3}, {-time.Second, 2}, {90 * time.Microsecond, 0}, {17 * time.Millisecond, 1}} {
		a.AddN(v.d, v.n)
		for range v.n {
			b.Add(v.d)
		}
	}
	sameSketch(t, "AddN", b, a)
	if a.Count() != 46 || a.Min() != 0 || a.Max() != 17*time.Millisecond {
		t.Errorf("count %d, min %v, max %v", a.Count(), a.Min(), a.Max())
	}
}

// The scheduling latency round-trips; a snapshot without it decodes with
// none (nil), as every snapshot written before it does.
func TestCodecSchedRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	s := testSnapshot(r, 2)
	s.GeneratorSched = schedSketch(7)
	b := encode(t, s)
	d := decode(t, b)
	sameSnapshot(t, s, d)
	sameSketch(t, "generator_sched", s.GeneratorSched, d.GeneratorSched)
	if !bytes.Equal(encode(t, d), b) {
		t.Error("re-encoding the decoded snapshot gave other bytes")
	}
	plain := s
	plain.GeneratorSched = nil
	if o := decode(t, encode(t, plain)); o.GeneratorSched != nil {
		t.Errorf("a snapshot without scheduling latency decoded with %v", o.GeneratorSched)
	}
	empty := plain
	empty.GeneratorSched = metrics.NewSketch()
	if !bytes.Equal(encode(t, plain), encode(t, empty)) {
		t.Error("an empty scheduling-latency sketch changed the encoding")
	}
	for _, old := range []string{"snapshot-v1.pb", "snapshot-v1-monitors.pb", "snapshot-v1-flows.pb", "snapshot-v1-phases.pb"} {
		ob, err := os.ReadFile(filepath.Join("testdata", old))
		if err != nil {
			t.Fatal(err)
		}
		if o := decode(t, ob); o.GeneratorSched != nil {
			t.Errorf("%s decoded with a scheduling latency %v", old, o.GeneratorSched)
		}
	}
}

// The golden fixture with field 20; the fixtures before it stay as they
// were (TestCodecGolden and the others).
func TestCodecGoldenSched(t *testing.T) {
	s := testSnapshot(rand.New(rand.NewPCG(50, 60)), 8)
	s.GeneratorSched = schedSketch(3)
	_, d := golden(t, "snapshot-v1-sched.pb", s)
	sameSketch(t, "generator_sched", s.GeneratorSched, d.GeneratorSched)
}

// It goes sparse: only the used bins, so a distribution from 32 ns to
// 14 ms costs its few bins, not the dense span of the lag sketch's form;
// and an older reader skips it.
func TestCodecSchedIsSparseAndSkippable(t *testing.T) {
	sk := schedSketch(1)
	s := metrics.Snapshot{Seq: 1, Start: t0, End: t0.Add(time.Second), GeneratorSched: sk}
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, s), &p); err != nil {
		t.Fatal(err)
	}
	st := p.GetGeneratorSched().GetDdsketch().GetPositiveValues()
	if st == nil || len(st.ContiguousBinCounts) != 0 || len(st.BinCounts) != 9 { // nine values, 32 ns … 14 ms: nine bins
		t.Fatalf("encoded store %v; want the 9 used bins as bin_counts", st)
	}
	dense := metrics.Snapshot{Seq: 1, Start: t0, End: t0.Add(time.Second), Lag: sk}
	if a, b := len(encode(t, s)), len(encode(t, dense)); 4*a > b {
		t.Errorf("sparse %d bytes against %d dense; want a fraction", a, b)
	}
	p.GeneratorSched = nil
	plain := metrics.Snapshot{Seq: 1, Start: t0, End: t0.Add(time.Second)}
	if !bytes.Equal(marshal(t, &p), encode(t, plain)) {
		t.Error("the snapshot less its scheduling latency is not the encoding of the snapshot without it")
	}
}

func TestCodecRefusesBadSched(t *testing.T) {
	for _, c := range []struct {
		name, want string
		sk         func() *snapshotpb.Sketch
	}{
		{"count disagrees", "generator_sched: ddsketch holds", func() *snapshotpb.Sketch {
			sk := withBins(t, &sketchpb.Store{BinCounts: map[int32]float64{1000: 5}})
			sk.Count = 9
			return sk
		}},
		{"too wide", "spans", func() *snapshotpb.Sketch {
			return withBins(t, &sketchpb.Store{BinCounts: map[int32]float64{100: 1, 100 + sketchBins: 1}})
		}},
		{"too many bins", "more than 2048 bins", func() *snapshotpb.Sketch {
			m := map[int32]float64{}
			for i := range sketchBins + 1 {
				m[int32(100+i)] = 1
			}
			return withBins(t, &sketchpb.Store{BinCounts: m})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := snapshotpb.Snapshot{Version: metrics.SnapshotVersion, GeneratorSched: c.sk()}
			_, err := metrics.DecodeSnapshot(marshal(t, &p))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one with %q", err, c.want)
			}
		})
	}
}

// Merge (agents of one interval) and Add (a span of intervals) merge the
// scheduling latency as they do the lag, never sharing an argument's
// sketch; nil everywhere stays nil.
func TestMergeAndAddSched(t *testing.T) {
	a := metrics.Snapshot{Start: t0, End: t0.Add(time.Second), GeneratorSched: schedSketch(1)}
	b := metrics.Snapshot{Start: t0, End: t0.Add(time.Second), GeneratorSched: schedSketch(2)}
	none := metrics.Snapshot{Start: t0, End: t0.Add(time.Second)}
	want := schedSketch(1)
	want.MergeFrom(schedSketch(2))
	for name, f := range map[string]func(...metrics.Snapshot) metrics.Snapshot{"Merge": metrics.Merge, "Add": metrics.Add} {
		got := f(a, none, b)
		sameSketch(t, name, want, got.GeneratorSched)
		got.GeneratorSched.AddN(time.Second, 10)
		sameSketch(t, name+"'s argument", schedSketch(1), a.GeneratorSched)
		if n := f(none, none); n.GeneratorSched != nil {
			t.Errorf("%s of snapshots without it: %v", name, n.GeneratorSched)
		}
	}
}
