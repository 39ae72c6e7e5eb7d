package metrics_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// The two halves of a monitored interval: DecodeSnapshotLoad reads all but
// the samples, DecodeMonitorSamples only the samples, each as
// DecodeSnapshot reads it.
func TestCodecDecodesLoadAndSamplesApart(t *testing.T) {
	s := withMonitors(testSnapshot(rand.New(rand.NewPCG(5, 6)), 2))
	b := encode(t, s)
	load, err := metrics.DecodeSnapshotLoad(b)
	if err != nil {
		t.Fatal(err)
	}
	plain := s
	plain.Monitors = nil
	sameSnapshot(t, plain, load)
	sameMonitorsAndAgents(t, plain, load)
	ms, err := metrics.DecodeMonitorSamples(b)
	if err != nil {
		t.Fatal(err)
	}
	sameMonitorsAndAgents(t, metrics.Snapshot{Monitors: s.Monitors}, metrics.Snapshot{Monitors: ms})
	// Without samples, both read what is there.
	none := encode(t, plain)
	if l, err := metrics.DecodeSnapshotLoad(none); err != nil || l.Seq != 2 {
		t.Errorf("load of a snapshot without samples: %v", err)
	}
	if ms, err := metrics.DecodeMonitorSamples(none); err != nil || ms != nil {
		t.Errorf("samples of a snapshot without any: %v %v", ms, err)
	}
}

// Both refuse what DecodeSnapshot refuses: the load reader a bad sample
// too (the snapshot is checked whole), the sample reader bad samples and
// what is not a snapshot of a known version.
func TestCodecSplitDecodersRefuse(t *testing.T) {
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, withMonitors(metrics.Snapshot{Seq: 1, Start: t0, End: t0.Add(time.Second)})), &p); err != nil {
		t.Fatal(err)
	}
	p.Monitors[0].Values[0].Value = math.NaN()
	nan, _ := proto.Marshal(&p)
	p.Monitors[0].Values[0].Value = 1
	p.Version = 2
	v2, _ := proto.Marshal(&p)
	for _, c := range []struct {
		name string
		b    []byte
		load bool // the load reader refuses it too
		want string
	}{
		{"NaN value", nan, false, "is not finite"},
		{"version 2", v2, true, "unknown snapshot format version 2"},
		{"not a snapshot", []byte{0x12, 0x01}, true, ""},
		{"too many samples", func() []byte {
			q := proto.Clone(&p).(*snapshotpb.Snapshot)
			q.Version = 1
			for len(q.Monitors) <= metrics.MaxSnapshotMonitorSamples {
				q.Monitors = append(q.Monitors, &snapshotpb.MonitorSample{Monitor: "m"})
			}
			b, _ := proto.Marshal(q)
			return b
		}(), true, "more than 256 monitor samples"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := metrics.DecodeMonitorSamples(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("samples: error %v, want one saying %q", err, c.want)
			}
			if _, err := metrics.DecodeSnapshotLoad(c.b); (err != nil) != c.load || (c.load && !strings.Contains(err.Error(), c.want)) {
				t.Errorf("load: error %v, want an error: %v", err, c.load)
			}
		})
	}
}
