package metrics_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/metrics/snapshotpb"
)

// withMonitors is testSnapshot as a merged interval of a run with two
// agents and two monitors, one of whose scrapes failed.
func withMonitors(s metrics.Snapshot) metrics.Snapshot {
	lag := metrics.NewSketch()
	lag.Add(3 * time.Millisecond)
	lag.Add(40 * time.Millisecond)
	s.Agents = []metrics.AgentPart{
		{Name: "agent-a", Cores: 4, Requests: 700, Errors: 12, Iterations: 450, Dropped: 1, Due: 455, Lag: lag, GeneratorCPU: 1.25, Intervals: 1},
		{Name: "agent-b", Cores: 2, Requests: 650, Errors: 9, Iterations: 450, Dropped: 2, Due: 455, GeneratorCPU: 1.9, Intervals: 1},
	}
	s.Monitors = []metrics.MonitorSample{
		{Monitor: "api", T: s.Start.Add(950 * time.Millisecond), Took: 9 * time.Millisecond, Dropped: 3, Values: []metrics.MonitorValue{
			{Name: "host_cpu_busy_percent", Unit: "%", Derived: true, V: 87.5},
			{Name: "process_rss_bytes", Labels: map[string]string{"pid": "41", "name": "gunicorn"}, Unit: "B", Derived: true, V: 52428800},
			{Name: "process_rss_bytes", Labels: map[string]string{"pid": "42", "name": "gunicorn"}, Unit: "B", Derived: true, V: 61865984},
			{Name: "node_load1", V: 1.75},
			{Name: "node_cpu_seconds_total", Labels: map[string]string{"cpu": "0", "mode": "idle"}, Unit: "cores", V: 0.125},
		}},
		{Monitor: "db", T: s.Start.Add(951 * time.Millisecond), Took: time.Second, Err: "scraping http://127.0.0.1:9/metrics: timed out after 1s"},
	}
	return s
}

func sameMonitorsAndAgents(t *testing.T, want, got metrics.Snapshot) {
	t.Helper()
	if len(got.Monitors) != len(want.Monitors) {
		t.Fatalf("%d monitor samples, want %d", len(got.Monitors), len(want.Monitors))
	}
	for i := range want.Monitors {
		w, g := want.Monitors[i], got.Monitors[i]
		if !g.T.Equal(w.T) {
			t.Errorf("sample %d: T %v, want %v", i, g.T, w.T)
		}
		g.T = w.T
		if !reflect.DeepEqual(g, w) {
			t.Errorf("sample %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if len(got.Agents) != len(want.Agents) {
		t.Fatalf("%d agent parts, want %d", len(got.Agents), len(want.Agents))
	}
	for i := range want.Agents {
		w, g := want.Agents[i], got.Agents[i]
		sameSketch(t, "agent "+w.Name+" lag", w.Lag, g.Lag)
		w.Lag, g.Lag = nil, nil
		if g != w {
			t.Errorf("agent %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// The monitors' golden fixture is version 1 with the fields added for
// monitor samples and agent parts (16 and 17): the stored form of an
// interval of a monitored run on two agents. The first fixture
// (snapshot-v1.pb) stays as it was: a snapshot without them encodes to the
// same bytes as before they existed, so every stored run still reads.
func TestCodecGoldenMonitorsAndAgents(t *testing.T) {
	s := withMonitors(testSnapshot(rand.New(rand.NewPCG(10, 20)), 4))
	want, d := golden(t, "snapshot-v1-monitors.pb", s)
	sameMonitorsAndAgents(t, s, d)
	// Equal snapshots give equal bytes, whatever the order of map keys.
	for range 20 {
		if !bytes.Equal(encode(t, d), want) {
			t.Fatal("re-encoding the decoded snapshot gave other bytes")
		}
	}
	// The first fixture has neither.
	old, err := os.ReadFile(filepath.Join("testdata", "snapshot-v1.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if o := decode(t, old); o.Monitors != nil || o.Agents != nil {
		t.Errorf("the v1 fixture decoded with monitors %v, agents %v", o.Monitors, o.Agents)
	}
}

// An older reader's view: a message of only the fields it knows (1–15)
// reads the same counts whatever fields 16 and 17 held.
func TestCodecMonitorFieldsAreSkippable(t *testing.T) {
	s := withMonitors(testSnapshot(rand.New(rand.NewPCG(1, 2)), 0))
	var p snapshotpb.Snapshot
	if err := proto.Unmarshal(encode(t, s), &p); err != nil {
		t.Fatal(err)
	}
	p.Monitors, p.Agents = nil, nil
	b, err := proto.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	plain := s
	plain.Monitors, plain.Agents = nil, nil
	sameSnapshot(t, plain, decode(t, b))
}

func TestCodecRefusesBadMonitorsAndAgents(t *testing.T) {
	base := func() *snapshotpb.Snapshot {
		var p snapshotpb.Snapshot
		if err := proto.Unmarshal(encode(t, withMonitors(metrics.Snapshot{Seq: 1, Start: t0, End: t0.Add(time.Second)})), &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	many := func(n int) []*snapshotpb.MonitorValue {
		vs := make([]*snapshotpb.MonitorValue, n)
		for i := range vs {
			vs[i] = &snapshotpb.MonitorValue{}
		}
		return vs
	}
	for _, c := range []struct {
		name, want string
		edit       func(p *snapshotpb.Snapshot)
	}{
		{"name index", "string index out of the table", func(p *snapshotpb.Snapshot) { p.Monitors[0].Values[0].Name = 99 }},
		{"unit index", "string index out of the table", func(p *snapshotpb.Snapshot) { p.Monitors[0].Values[0].Unit = 99 }},
		{"label index", "label index out of the table", func(p *snapshotpb.Snapshot) { p.Monitors[0].Values[1].Labels[1] = 99 }},
		{"odd labels", "labels not in pairs", func(p *snapshotpb.Snapshot) {
			p.Monitors[0].Values[1].Labels = p.Monitors[0].Values[1].Labels[:3]
		}},
		{"NaN", "is not finite", func(p *snapshotpb.Snapshot) { p.Monitors[0].Values[0].Value = math.NaN() }},
		{"Inf", "is not finite", func(p *snapshotpb.Snapshot) { p.Monitors[0].Values[0].Value = math.Inf(1) }},
		{"failed with values", "failed (x) but has values", func(p *snapshotpb.Snapshot) { p.Monitors[0].Error = "x" }},
		{"negative took", "out of range", func(p *snapshotpb.Snapshot) { p.Monitors[0].TookNs = -1 }},
		{"negative dropped", "out of range", func(p *snapshotpb.Snapshot) { p.Monitors[0].Dropped = -1 }},
		{"too many samples", "more than 256 monitor samples", func(p *snapshotpb.Snapshot) {
			for len(p.Monitors) <= metrics.MaxSnapshotMonitorSamples {
				p.Monitors = append(p.Monitors, &snapshotpb.MonitorSample{Monitor: "m"})
			}
		}},
		{"too many values in a sample", "a monitor sample with more than 16384 values", func(p *snapshotpb.Snapshot) {
			p.Monitors[0].Values = many(metrics.MaxMonitorSampleValues + 1)
		}},
		{"too many values in all", "more than 65536 monitor values", func(p *snapshotpb.Snapshot) {
			for range 5 {
				p.Monitors = append(p.Monitors, &snapshotpb.MonitorSample{Monitor: "m", Strings: []string{""}, Values: many(metrics.MaxMonitorSampleValues)})
			}
		}},
		{"agent negative", "agent \"agent-a\": negative count", func(p *snapshotpb.Snapshot) { p.Agents[0].Requests = -1 }},
		{"agent errors", "errors 701 of 700 requests", func(p *snapshotpb.Snapshot) { p.Agents[0].Errors = 701 }},
		{"agent cpu", "is not a number of cores", func(p *snapshotpb.Snapshot) { p.Agents[1].GeneratorCpu = math.NaN() }},
		{"agent lag", "agent \"agent-a\": lag:", func(p *snapshotpb.Snapshot) { p.Agents[0].Lag.Count = 7 }},
		{"too many agents", "more than 4096 agent parts", func(p *snapshotpb.Snapshot) {
			for len(p.Agents) <= metrics.MaxSnapshotAgents {
				p.Agents = append(p.Agents, &snapshotpb.AgentPart{Name: "x"})
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := base()
			c.edit(p)
			b, err := proto.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = metrics.DecodeSnapshot(b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

// The encoder writes only what the decoder takes: a sample beyond the
// caps loses its extra values, counted as dropped series, and still reads.
func TestCodecEncodesWithinTheMonitorCaps(t *testing.T) {
	vals := make([]metrics.MonitorValue, metrics.MaxMonitorSampleValues+100)
	for i := range vals {
		vals[i] = metrics.MonitorValue{Name: "m", Labels: map[string]string{"i": strings.Repeat("x", i%7)}, V: float64(i)}
	}
	s := metrics.Snapshot{Seq: 0, Start: t0, End: t0.Add(time.Second)}
	for range 5 {
		s.Monitors = append(s.Monitors, metrics.MonitorSample{Monitor: "big", T: t0, Values: vals})
	}
	d := decode(t, encode(t, s))
	kept, dropped := 0, 0
	for _, m := range d.Monitors {
		kept += len(m.Values)
		dropped += m.Dropped
		if len(m.Values) > metrics.MaxMonitorSampleValues {
			t.Errorf("a sample kept %d values", len(m.Values))
		}
	}
	if kept+dropped != 5*len(vals) || kept == 0 || kept > metrics.MaxSnapshotMonitorValues {
		t.Errorf("kept %d and dropped %d of %d values", kept, dropped, 5*len(vals))
	}
	if d.Monitors[0].Values[5].V != 5 || d.Monitors[0].Values[5].Labels["i"] != "xxxxx" {
		t.Errorf("value 5 is %+v", d.Monitors[0].Values[5])
	}
}

// Merge turns each agent's snapshot into its part of the merged one and
// keeps every part's monitor samples; Add adds the parts up by agent over
// a span and leaves the samples out (they are the intervals').
func TestMergeKeepsAgentPartsAndSamples(t *testing.T) {
	mk := func(agent string, seq int, reqs, errs int64, cpu float64, lag time.Duration) metrics.Snapshot {
		e := metrics.Endpoint{Name: "x", Method: "GET", Requests: reqs, Latency: metrics.NewSketch()}
		e.Classes[metrics.OK] = reqs - errs
		e.Classes[metrics.Timeout] = errs
		s := metrics.Snapshot{Seq: seq, Start: t0.Add(time.Duration(seq) * time.Second), End: t0.Add(time.Duration(seq+1) * time.Second),
			Endpoints: []metrics.Endpoint{e}, Iterations: reqs, Due: reqs + 1, Dropped: 1, GeneratorCPU: cpu,
			Agent: agent, AgentCores: 2, Lag: metrics.NewSketch()}
		s.Lag.Add(lag)
		return s
	}
	a0, b0 := mk("a", 0, 10, 1, 0.5, time.Millisecond), mk("b", 0, 20, 0, 1.5, 30*time.Millisecond)
	b0.Monitors = []metrics.MonitorSample{{Monitor: "api", T: t0.Add(500 * time.Millisecond)}}
	m0 := metrics.Merge(a0, b0)
	if m0.Agent != "" || len(m0.Agents) != 2 || len(m0.Monitors) != 1 {
		t.Fatalf("merged: agent %q, parts %+v, samples %v", m0.Agent, m0.Agents, m0.Monitors)
	}
	if p := m0.Agents[1]; p.Name != "b" || p.Requests != 20 || p.Errors != 0 || p.Cores != 2 || p.GeneratorCPU != 1.5 || p.Intervals != 1 || p.Lag.Count() != 1 {
		t.Errorf("b's part %+v", p)
	}
	if a0.Lag.Count() != 1 {
		t.Error("Merge changed its argument's lag")
	}
	m1 := metrics.Merge(mk("a", 1, 30, 3, 1.75, 2*time.Millisecond), mk("b", 1, 5, 5, 0.25, time.Millisecond))
	span := metrics.Add(m0, m1)
	if span.Monitors != nil {
		t.Errorf("Add kept samples %v", span.Monitors)
	}
	want := []metrics.AgentPart{
		{Name: "a", Cores: 2, Requests: 40, Errors: 4, Iterations: 40, Dropped: 2, Due: 42, GeneratorCPU: 1.75, Intervals: 2},
		{Name: "b", Cores: 2, Requests: 25, Errors: 5, Iterations: 25, Dropped: 2, Due: 27, GeneratorCPU: 1.5, Intervals: 2},
	}
	for i, w := range want {
		g := span.Agents[i]
		if g.Lag.Count() != 2 {
			t.Errorf("agent %s: lag of %d", w.Name, g.Lag.Count())
		}
		g.Lag = nil
		if g != w {
			t.Errorf("agent %d over the span:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if m0.Agents[0].Requests != 10 {
		t.Error("Add changed its argument's parts")
	}
	// An agent's two parts of one interval (its last, partial one and a
	// late one) add, CPU too.
	twice := metrics.Merge(mk("a", 2, 1, 0, 0.25, 0), mk("a", 2, 2, 0, 0.5, 0))
	if len(twice.Agents) != 1 || twice.Agents[0].Requests != 3 || twice.Agents[0].GeneratorCPU != 0.75 || twice.Agents[0].Intervals != 2 {
		t.Errorf("one agent's two parts: %+v", twice.Agents)
	}
}

// A run on more than MaxAgentParts agents keeps no parts: its timeline
// does not grow by one per agent and interval.
func TestMergeKeepsNoPartsBeyondTheirCap(t *testing.T) {
	var parts []metrics.Snapshot
	for i := range metrics.MaxAgentParts + 1 {
		parts = append(parts, metrics.Snapshot{Agent: fmt.Sprintf("a%d", i), Iterations: 1})
	}
	if m := metrics.Merge(parts...); m.Agents != nil || m.Iterations != int64(len(parts)) {
		t.Errorf("%d agents: parts %d, iterations %d", len(parts), len(m.Agents), m.Iterations)
	}
	if m := metrics.Merge(parts[1:]...); len(m.Agents) != metrics.MaxAgentParts {
		t.Errorf("%d agents: %d parts", metrics.MaxAgentParts, len(m.Agents))
	}
}

// Long names and labels: the encoder writes about 2 MiB of samples at
// most, whatever their count, so an interval stays well within a
// server's 4 MiB request.
func TestCodecBoundsTheBytesOfSamples(t *testing.T) {
	long := strings.Repeat("x", 1000)
	vals := make([]metrics.MonitorValue, 5000)
	for i := range vals {
		vals[i] = metrics.MonitorValue{Name: "m", Labels: map[string]string{"id": fmt.Sprint(i, long)}, V: 1}
	}
	s := metrics.Snapshot{Start: t0, End: t0.Add(time.Second), Monitors: []metrics.MonitorSample{{Monitor: "big", T: t0, Values: vals}}}
	b := encode(t, s)
	d := decode(t, b)
	if len(b) > 2<<20+64<<10 || len(d.Monitors[0].Values)+d.Monitors[0].Dropped != len(vals) || len(d.Monitors[0].Values) < 1000 {
		t.Errorf("%d bytes encoded, %d values kept, %d dropped", len(b), len(d.Monitors[0].Values), d.Monitors[0].Dropped)
	}
}
