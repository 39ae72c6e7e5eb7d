package metrics_test

import (
	"bytes"
	"fmt"
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

// withFlows is s with the flows and polls of a queue-backed scenario: an
// "order" flow whose durations spread over 50 ms – 1 s, one iteration of
// which failed and two cut short, a "browse" flow that only had cut
// iterations, and the poll step of "order", whose timed-out polls have
// no duration.
func withFlows(s metrics.Snapshot, r *rand.Rand) metrics.Snapshot {
	order, poll := metrics.NewSketch(), metrics.NewSketch()
	for range 40 {
		d := time.Duration(50+r.IntN(950)) * time.Millisecond
		order.Add(d)
		poll.Add(d - 2*time.Millisecond)
	}
	s.Flows = []metrics.Flow{
		{Name: "order", Iterations: 41, Errors: 1, Requests: 851, Cut: 2, Duration: order},
		{Name: "browse", Requests: 3, Cut: 1, Duration: metrics.NewSketch()},
	}
	s.Polls = []metrics.Flow{{Name: "wait for order", Iterations: 43, Errors: 3, Requests: 810, Cut: 2, Duration: poll}}
	return s
}

func sameFlows(t *testing.T, what string, want, got []metrics.Flow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		sameSketch(t, what+" "+w.Name, w.Duration, g.Duration)
		w.Duration, g.Duration = nil, nil
		if g != w {
			t.Errorf("%s %d:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

// The flows' golden fixture is version 1 with the fields added for flows
// and polls (18 and 19). The fixtures before it stay as they were: a
// snapshot without flows encodes to the same bytes as before flows
// existed (TestCodecGolden, TestCodecGoldenMonitorsAndAgents), and reads
// with no flows.
func TestCodecGoldenFlows(t *testing.T) {
	r := rand.New(rand.NewPCG(30, 40))
	s := withFlows(testSnapshot(r, 6), r)
	want, d := golden(t, "snapshot-v1-flows.pb", s)
	sameFlows(t, "flow", s.Flows, d.Flows)
	sameFlows(t, "poll", s.Polls, d.Polls)
	for range 5 {
		if !bytes.Equal(encode(t, d), want) {
			t.Fatal("re-encoding the decoded snapshot gave other bytes")
		}
	}
	for _, old := range []string{"snapshot-v1.pb", "snapshot-v1-monitors.pb"} {
		b, err := os.ReadFile(filepath.Join("testdata", old))
		if err != nil {
			t.Fatal(err)
		}
		if o := decode(t, b); o.Flows != nil || o.Polls != nil {
			t.Errorf("%s decoded with flows %v, polls %v", old, o.Flows, o.Polls)
		}
	}
	// Empty lists are absent: the bytes of a snapshot without flows.
	plain := s
	plain.Flows, plain.Polls = nil, nil
	empty := plain
	empty.Flows, empty.Polls = []metrics.Flow{}, []metrics.Flow{}
	if !bytes.Equal(encode(t, plain), encode(t, empty)) {
		t.Error("empty flow lists changed the encoding")
	}
}

// An older reader's view: without fields 18 and 19 the rest reads the same.
func TestCodecFlowFieldsAreSkippable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := withFlows(testSnapshot(r, 1), r)
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, s), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Flows) != 2 || len(p.Polls) != 1 {
		t.Fatalf("encoded %d flows and %d polls, want 2 and 1", len(p.Flows), len(p.Polls))
	}
	p.Flows, p.Polls = nil, nil
	plain := s
	plain.Flows, plain.Polls = nil, nil
	if b := marshal(t, &p); !bytes.Equal(b, encode(t, plain)) {
		t.Error("the snapshot less its flows is not the encoding of the snapshot without flows")
	}
}

func TestCodecRefusesBadFlows(t *testing.T) {
	base := func() *snapshotpb.Snapshot {
		var p snapshotpb.Snapshot
		r := rand.New(rand.NewPCG(1, 1))
		if err := proto.Unmarshal(encode(t, withFlows(metrics.Snapshot{Seq: 1, Start: t0, End: t0.Add(time.Second)}, r)), &p); err != nil {
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
		{"no name", "flow 1: no name", func(p *snapshotpb.Snapshot) { p.Flows[1].Name = "" }},
		{"a name twice", `flow "order": listed twice`, func(p *snapshotpb.Snapshot) { p.Flows[1].Name = "order" }},
		{"a poll name twice", `poll "wait for order": listed twice`, func(p *snapshotpb.Snapshot) {
			p.Polls = append(p.Polls, &snapshotpb.Flow{Name: "wait for order"})
		}},
		{"negative iterations", `flow "order": negative count`, func(p *snapshotpb.Snapshot) { p.Flows[0].Iterations = -1 }},
		{"negative errors", `flow "order": negative count`, func(p *snapshotpb.Snapshot) { p.Flows[0].Errors = -1 }},
		{"negative requests", `poll "wait for order": negative count`, func(p *snapshotpb.Snapshot) { p.Polls[0].Requests = -1 }},
		{"negative cut", `flow "browse": negative count`, func(p *snapshotpb.Snapshot) { p.Flows[1].Cut = -1 }},
		{"more errors than iterations", `flow "order": 42 errors of 41 iterations`, func(p *snapshotpb.Snapshot) { p.Flows[0].Errors = 42 }},
		{"more durations than iterations", `flow "order": 40 durations of 39 iterations`, func(p *snapshotpb.Snapshot) {
			p.Flows[0].Iterations, p.Flows[0].Errors = 39, 0
		}},
		{"a bad duration", `poll "wait for order": duration: ddsketch holds`, func(p *snapshotpb.Snapshot) { p.Polls[0].Duration.Count = 7 }},
		{"too many flows", "more than 4096 flows", func(p *snapshotpb.Snapshot) {
			for i := len(p.Flows); i <= metrics.MaxSnapshotFlows; i++ {
				p.Flows = append(p.Flows, &snapshotpb.Flow{Name: fmt.Sprint(i)})
			}
		}},
		{"too many polls", "more than 4096 polls", func(p *snapshotpb.Snapshot) {
			for i := len(p.Polls); i <= metrics.MaxSnapshotFlows; i++ {
				p.Polls = append(p.Polls, &snapshotpb.Flow{Name: fmt.Sprint(i)})
			}
		}},
		{"too many bins in a duration", "more than 2048 bins", func(p *snapshotpb.Snapshot) {
			p.Flows[0].Duration = withBins(t, &sketchpb.Store{ContiguousBinIndexOffset: 100, ContiguousBinCounts: ones(sketchBins + 1)})
			p.Flows[0].Iterations = sketchBins + 1
		}},
		// The durations' bins count with every other sketch's: 1024
		// sketches of the widest span are all a snapshot may hold.
		{"too many bins in all", "more than 2097152 bins in all", func(p *snapshotpb.Snapshot) {
			p.Flows, p.Polls = nil, nil
			for i := range snapshotBins/sketchBins/2 + 1 {
				p.Flows = append(p.Flows, &snapshotpb.Flow{Name: fmt.Sprint(i), Iterations: 2, Duration: wide()})
				p.Polls = append(p.Polls, &snapshotpb.Flow{Name: fmt.Sprint(i), Iterations: 2, Duration: wide()})
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
	// At the limits, it decodes.
	p := base()
	p.Flows, p.Polls = nil, nil
	for i := range snapshotBins / sketchBins / 2 {
		p.Flows = append(p.Flows, &snapshotpb.Flow{Name: fmt.Sprint(i), Iterations: 2, Duration: wide()})
		p.Polls = append(p.Polls, &snapshotpb.Flow{Name: fmt.Sprint(i), Iterations: 2, Duration: wide()})
	}
	for i := snapshotBins / sketchBins / 2; i < metrics.MaxSnapshotFlows; i++ {
		p.Flows = append(p.Flows, &snapshotpb.Flow{Name: fmt.Sprint(i), Requests: 1, Cut: 1})
	}
	s := decode(t, marshal(t, p))
	if len(s.Flows) != metrics.MaxSnapshotFlows || len(s.Polls) != snapshotBins/sketchBins/2 || s.Flows[4095].Cut != 1 || s.Flows[0].Duration.Count() != 2 {
		t.Errorf("decoded %d flows, %d polls", len(s.Flows), len(s.Polls))
	}
}

// The costliest flows per input byte — every entry at both lists' limits,
// each a name and nothing else — stay within the fuzz test's bound.
func TestCodecDecodeAllocationOfFlowsIsBounded(t *testing.T) {
	p := &snapshotpb.Snapshot{Version: 1}
	for i := range metrics.MaxSnapshotFlows {
		p.Flows = append(p.Flows, &snapshotpb.Flow{Name: fmt.Sprint(i)})
		p.Polls = append(p.Polls, &snapshotpb.Flow{Name: fmt.Sprint(i)})
	}
	in := marshal(t, p)
	var err error
	a := allocated(func() { _, err = metrics.DecodeSnapshot(in) })
	if err != nil {
		t.Fatal(err)
	}
	if a > maxDecodeAlloc(len(in)) {
		t.Errorf("%d bytes allocated %d, more than %d", len(in), a, maxDecodeAlloc(len(in)))
	}
	t.Logf("%d bytes in, %d allocated", len(in), a)
}

// Merge and Add merge flows by name, exactly, whatever the order of the
// parts, and share no sketch with them.
func TestMergeAndAddMergeFlows(t *testing.T) {
	part := func(agent string, iters int64, d time.Duration) metrics.Snapshot {
		sk := metrics.NewSketch()
		for range iters {
			sk.Add(d)
		}
		poll := metrics.NewSketch()
		poll.Add(d / 2)
		return metrics.Snapshot{Agent: agent, Start: t0, End: t0.Add(time.Second),
			Flows: []metrics.Flow{{Name: "order", Iterations: iters, Errors: 1, Requests: 3 * iters, Cut: 1, Duration: sk},
				{Name: agent + " only", Iterations: 1, Requests: 1, Duration: metrics.NewSketch()}},
			Polls: []metrics.Flow{{Name: "wait", Iterations: 1, Requests: 4, Duration: poll}}}
	}
	a, b := part("a", 10, 100*time.Millisecond), part("b", 30, 300*time.Millisecond)
	for _, m := range []metrics.Snapshot{metrics.Merge(a, b), metrics.Merge(b, a), metrics.Add(a, b)} {
		if len(m.Flows) != 3 || len(m.Polls) != 1 {
			t.Fatalf("flows %+v, polls %+v", m.Flows, m.Polls)
		}
		o := m.Flows[0]
		if o.Name != "order" || o.Iterations != 40 || o.Errors != 2 || o.Requests != 120 || o.Cut != 2 || o.Duration.Count() != 40 {
			t.Errorf("order: %+v", o)
		}
		if o.Duration.Min() != 100*time.Millisecond || o.Duration.Max() != 300*time.Millisecond {
			t.Errorf("order: min %v max %v", o.Duration.Min(), o.Duration.Max())
		}
		if w := m.Polls[0]; w.Iterations != 2 || w.Requests != 8 || w.Duration.Count() != 2 {
			t.Errorf("wait: %+v", w)
		}
		m.Flows[0].Duration.Add(time.Hour) // must not reach a or b
	}
	if a.Flows[0].Duration.Count() != 10 || b.Flows[0].Duration.Count() != 30 {
		t.Errorf("merging modified its arguments: %d, %d durations", a.Flows[0].Duration.Count(), b.Flows[0].Duration.Count())
	}
	if m := metrics.Merge(metrics.Snapshot{}, metrics.Snapshot{}); m.Flows != nil || m.Polls != nil {
		t.Errorf("parts without flows merged into %v, %v", m.Flows, m.Polls)
	}
	// A merge of decoded parts is the decoded merge.
	sameFlows(t, "flow", metrics.Merge(a, b).Flows, metrics.Merge(decode(t, encode(t, a)), decode(t, encode(t, b))).Flows)
}
