package metrics_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

func TestPhaseNamesRoundTrip(t *testing.T) {
	want := []string{"blocked", "connect", "tls", "send", "wait", "receive", "queued"}
	if got := metrics.PhaseNames(); !slices.Equal(got, want) {
		t.Fatalf("PhaseNames() = %v, want %v (the summary contract's order)", got, want)
	}
	for i, name := range want {
		p, ok := metrics.ParsePhase(name)
		if !ok || p != metrics.Phase(i) || p.String() != name {
			t.Errorf("ParsePhase(%q) = %v, %v", name, p, ok)
		}
	}
	for _, bad := range []string{"", "Wait", "ttfb", "total"} {
		if _, ok := metrics.ParsePhase(bad); ok {
			t.Errorf("ParsePhase(%q) accepted", bad)
		}
	}
	if s := metrics.NumPhases.String(); s != "unknown" {
		t.Errorf("NumPhases.String() = %q", s)
	}
	for _, tc := range []struct {
		p    metrics.Proto
		name string
	}{{metrics.ProtoUnknown, "unknown"}, {metrics.ProtoHTTP10, "HTTP/1.0"}, {metrics.ProtoHTTP11, "HTTP/1.1"}, {metrics.ProtoHTTP2, "HTTP/2.0"}} {
		if tc.p.String() != tc.name {
			t.Errorf("%d.String() = %q, want %q", tc.p, tc.p.String(), tc.name)
		}
		if p, ok := metrics.ParseProto(tc.name); !ok || p != tc.p {
			t.Errorf("ParseProto(%q) = %v, %v", tc.name, p, ok)
		}
	}
}

func TestPhasesTotal(t *testing.T) {
	p := metrics.Phases{1, 2, 3, 4, 5, 6, 7}
	if got := p.Total(); got != 28 {
		t.Fatalf("Total() = %v, want 28ns", got)
	}
}

// phaseSample returns n requests' phases: connect and tls only on every
// tenth (a new connection), wait around 30 ms, the rest small.
func phaseSample(r *rand.Rand, n int) []metrics.Phases {
	out := make([]metrics.Phases, n)
	for i := range out {
		p := &out[i]
		if i%10 == 0 {
			p[metrics.PhaseConnect] = time.Duration(100+r.IntN(900)) * time.Microsecond
			p[metrics.PhaseTLS] = time.Duration(1+r.IntN(5)) * time.Millisecond
		}
		p[metrics.PhaseSend] = time.Duration(1+r.IntN(50)) * time.Microsecond
		p[metrics.PhaseWait] = 30*time.Millisecond + time.Duration(r.NormFloat64()*float64(time.Millisecond))
		p[metrics.PhaseReceive] = time.Duration(r.IntN(2000)) * time.Microsecond
	}
	return out
}

func exact(vals []time.Duration, q float64) time.Duration {
	s := slices.Clone(vals)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func TestPhaseSketchesStats(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sample := phaseSample(r, 20_000)
	var ps metrics.PhaseSketches
	if !ps.Empty() {
		t.Fatal("zero value not empty")
	}
	for i := range sample {
		ps.Add(&sample[i])
	}
	if ps.Empty() {
		t.Fatal("empty after Add")
	}
	for p := range metrics.PhaseQueued {
		vals := make([]time.Duration, len(sample))
		for i := range sample {
			vals[i] = sample[i][p]
		}
		st, ok := ps.Stats(p)
		if !ok || st.Count != uint64(len(sample)) {
			t.Fatalf("%v: Stats = %+v, %v; want %d requests (zeros count)", p, st, ok, len(sample))
		}
		if want := slices.Max(vals); st.Max != want {
			t.Errorf("%v: max %v, want exact %v", p, st.Max, want)
		}
		for _, q := range []struct {
			q   float64
			got time.Duration
		}{{0.5, st.P50}, {0.95, st.P95}, {0.99, st.P99}} {
			want := exact(vals, q.q)
			if want == 0 {
				if q.got != 0 {
					t.Errorf("%v p%v = %v, want 0", p, q.q*100, q.got)
				}
				continue
			}
			if rel := math.Abs(float64(q.got-want)) / float64(want); rel > metrics.RelativeAccuracy {
				t.Errorf("%v p%v = %v, exact %v (relative error %.4f)", p, q.q*100, q.got, want, rel)
			}
			if got, ok := ps.Quantile(p, q.q); !ok || got != q.got {
				t.Errorf("%v Quantile(%v) = %v, %v; Stats says %v", p, q.q, got, ok, q.got)
			}
		}
	}
	// Connect is 0 on nine requests in ten: its median is 0, its p95 not.
	if st, _ := ps.Stats(metrics.PhaseConnect); st.P50 != 0 || st.P95 == 0 {
		t.Errorf("connect p50 %v p95 %v: want 0 and > 0", st.P50, st.P95)
	}
	// The closed model records no queued phase: it is absent, not 0.
	if st, ok := ps.Stats(metrics.PhaseQueued); ok {
		t.Errorf("queued present without AddQueued: %+v", st)
	}
	if _, ok := ps.Quantile(metrics.PhaseQueued, 0.5); ok {
		t.Error("Quantile of an unrecorded phase reports ok")
	}
	ps.AddQueued(5 * time.Millisecond)
	if st, ok := ps.Stats(metrics.PhaseQueued); !ok || st.Count != 1 || st.Max != 5*time.Millisecond {
		t.Errorf("queued after AddQueued: %+v, %v", st, ok)
	}
	if ps.Sketch(metrics.NumPhases) != nil {
		t.Error("Sketch(NumPhases) not nil")
	}
}

// Property: merging any partition of the requests gives the figures of one
// PhaseSketches of all of them, and merging never aliases the source.
func TestPhaseSketchesMergeEqualsWhole(t *testing.T) {
	for seed := uint64(0); seed < 10; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		sample := phaseSample(r, 500+r.IntN(3000))
		var whole metrics.PhaseSketches
		parts := make([]metrics.PhaseSketches, 1+r.IntN(6))
		for i := range sample {
			whole.Add(&sample[i])
			parts[r.IntN(len(parts))].Add(&sample[i])
		}
		var merged metrics.PhaseSketches
		for i := range parts {
			merged.MergeFrom(&parts[i])
		}
		merged.MergeFrom(nil)
		for p := range metrics.NumPhases {
			w, wok := whole.Stats(p)
			m, mok := merged.Stats(p)
			if w != m || wok != mok {
				t.Fatalf("seed %d %v: merged %+v (%v), whole %+v (%v)", seed, p, m, mok, w, wok)
			}
		}
		before, _ := parts[0].Stats(metrics.PhaseWait)
		merged.Add(&metrics.Phases{metrics.PhaseWait: time.Hour})
		if after, _ := parts[0].Stats(metrics.PhaseWait); after != before {
			t.Fatalf("seed %d: adding to the merge changed a part: %+v -> %+v", seed, before, after)
		}
	}
}

func TestPhaseSketchesCopyResetSet(t *testing.T) {
	var ps metrics.PhaseSketches
	ps.Add(&metrics.Phases{metrics.PhaseWait: 30 * time.Millisecond})
	c := ps.Copy()
	ps.Add(&metrics.Phases{metrics.PhaseWait: time.Second})
	if st, _ := c.Stats(metrics.PhaseWait); st.Count != 1 || st.Max != 30*time.Millisecond {
		t.Fatalf("copy changed with its source: %+v", st)
	}
	ps.Reset()
	if !ps.Empty() {
		t.Fatal("not empty after Reset")
	}
	if _, ok := ps.Stats(metrics.PhaseWait); ok {
		t.Fatal("a reset phase still reports figures")
	}
	s := metrics.NewSketch()
	s.Add(7 * time.Millisecond)
	ps.SetSketch(metrics.PhaseTLS, s)
	if st, ok := ps.Stats(metrics.PhaseTLS); !ok || st.Max != 7*time.Millisecond {
		t.Fatalf("SetSketch: %+v, %v", st, ok)
	}
	ps.SetSketch(metrics.NumPhases, s) // ignored, no panic
}

func BenchmarkPhaseSketchesAdd(b *testing.B) {
	var ps metrics.PhaseSketches
	p := metrics.Phases{0, 0, 0, 3 * time.Microsecond, 2 * time.Millisecond, 40 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		ps.Add(&p)
	}
}
