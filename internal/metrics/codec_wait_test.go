package metrics_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// oldGoldens are the fixtures written before generator_wait (field 21).
var oldGoldens = []string{"snapshot-v1.pb", "snapshot-v1-monitors.pb", "snapshot-v1-flows.pb",
	"snapshot-v1-phases.pb", "snapshot-v1-sched.pb"}

// The CPU wait round-trips; every snapshot written before it decodes with
// 0 and re-encodes to its own bytes: a snapshot without the field is
// encoded as it was before the field existed.
func TestCodecWaitRoundTrip(t *testing.T) {
	s := testSnapshot(rand.New(rand.NewPCG(21, 22)), 3)
	s.GeneratorWait = 0.4375
	b := encode(t, s)
	d := decode(t, b)
	sameSnapshot(t, s, d)
	if d.GeneratorWait != s.GeneratorWait {
		t.Errorf("generator_wait decoded %v, want %v", d.GeneratorWait, s.GeneratorWait)
	}
	if !bytes.Equal(encode(t, d), b) {
		t.Error("re-encoding the decoded snapshot gave other bytes")
	}
	plain := s
	plain.GeneratorWait = 0
	pb := encode(t, plain)
	if len(b)-len(pb) != 10 { // field 21, a double: a 2-byte tag (0xa9 0x01) and 8 bytes
		t.Errorf("the wait added %d bytes to the encoding, want 10", len(b)-len(pb))
	}
	if o := decode(t, pb); o.GeneratorWait != 0 {
		t.Errorf("a snapshot without the wait decoded with %v", o.GeneratorWait)
	}
	for _, old := range oldGoldens {
		ob, err := os.ReadFile(filepath.Join("testdata", old))
		if err != nil {
			t.Fatal(err)
		}
		o := decode(t, ob)
		if o.GeneratorWait != 0 {
			t.Errorf("%s decoded with a wait of %v cores", old, o.GeneratorWait)
		}
		if !bytes.Equal(encode(t, o), ob) {
			t.Errorf("%s re-encodes to other bytes: the field changed snapshots without it", old)
		}
	}
}

// The golden fixture with field 21; the fixtures before it stay as they
// were.
func TestCodecGoldenWait(t *testing.T) {
	s := testSnapshot(rand.New(rand.NewPCG(70, 80)), 9)
	s.GeneratorWait = 0.3125
	want, d := golden(t, "snapshot-v1-wait.pb", s)
	if d.GeneratorWait != 0.3125 {
		t.Errorf("golden generator_wait %v, want 0.3125", d.GeneratorWait)
	}
	// The field is number 21, a double: tag 0xa9 0x01 and 8 bytes.
	if !bytes.Contains(want, []byte{0xa9, 0x01, 0, 0, 0, 0, 0, 0, 0xd4, 0x3f}) {
		t.Error("the golden snapshot does not hold field 21 as a double 0.3125")
	}
}

func TestCodecRefusesBadWait(t *testing.T) {
	for _, v := range []float64{-0.5, math.NaN(), math.Inf(1), math.Inf(-1)} {
		p := &snapshotpb.Snapshot{Version: metrics.SnapshotVersion, Seq: 1, GeneratorWait: v}
		_, err := metrics.DecodeSnapshot(marshal(t, p))
		if err == nil || !strings.Contains(err.Error(), "generator_wait") {
			t.Errorf("wait %v: error %v, want one naming generator_wait", v, err)
		}
	}
}

// Merge and Add keep the largest wait: agents' waits are each on its own
// host, and a span's wait is its worst interval's, like GeneratorCPU's.
func TestWaitMergeAndAdd(t *testing.T) {
	at := func(i int, agent string, w float64) metrics.Snapshot {
		return metrics.Snapshot{Seq: i, Start: t0.Add(time.Duration(i) * time.Second),
			End: t0.Add(time.Duration(i+1) * time.Second), Agent: agent, GeneratorWait: w}
	}
	for _, c := range []struct {
		name string
		got  metrics.Snapshot
		want float64
	}{
		{"merge", metrics.Merge(at(0, "a", 0.2), at(0, "b", 0.375), at(0, "c", 0)), 0.375},
		{"merge none", metrics.Merge(at(0, "a", 0), at(0, "b", 0)), 0},
		{"add", metrics.Add(at(0, "", 0.125), at(1, "", 0.5), at(2, "", 0.25)), 0.5},
		{"add of merged", metrics.Add(metrics.Merge(at(0, "a", 0.1), at(0, "b", 0.2)), metrics.Merge(at(1, "a", 0.05))), 0.2},
	} {
		if c.got.GeneratorWait != c.want {
			t.Errorf("%s: wait %v, want %v", c.name, c.got.GeneratorWait, c.want)
		}
	}
}
