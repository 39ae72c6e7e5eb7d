package capacity_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/report"
)

// fakeClock advances only when slept on: a search over a fake session runs
// in no real time and decides the same way every run.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// model is a target as a fluid queue in front of Workers servers of
// Service each (capacity Workers/Service per second), optionally with a
// wait timeout that answers 500 (a DB pool), behind a generator that can
// offer at most GenRate per second.
type model struct {
	Workers     int
	Service     time.Duration
	WaitTimeout time.Duration // 0: wait for ever
	GenRate     float64       // 0: the generator is never the limit
	VUCap       int           // 0: no VU cap; else at most VUCap requests in flight
	// Hidden is work each request's worker does after its answer: the
	// client sees Service, the worker is held Service+Hidden.
	Hidden time.Duration
	Cores  int // the generator's CPU budget
	// PerIter is the requests each iteration sends (default 1): the
	// workers serve PerIter × the iterations sent, and an iteration
	// finishes with its last request.
	PerIter int
	// GenLag is how late iterations start past GenRate (default 80ms);
	// GenDrops drops the iterations the generator could not start
	// instead of leaving them unsent.
	GenLag   time.Duration
	GenDrops bool
	// CPUMonitor makes the session Monitored: one process whose CPU, in
	// percent of its limit, is the workers' utilisation (a CPU-bound
	// server of Workers cores).
	CPUMonitor bool
	// Straddle leaves one iteration out of every interval's count, as
	// when an iteration's last request falls in one interval and its end
	// in the next, and records a flow whose counts are exact (a flow
	// counts an iteration's requests when it ends).
	Straddle bool
	// Fixture makes the session Monitored by a monitor whose values are
	// those of testdata/monitors/<Fixture>.json: its "full" state in the
	// intervals the workers are saturated, its "idle" one otherwise.
	Fixture *monFixture
}

// monFixture is a monitor fixture (testdata/monitors/README.md).
type monFixture struct {
	Idle, Full monState
}

type monState struct {
	Values map[string]float64 `json:"values"`
	Series map[string]float64 `json:"series"`
}

// fakeSession is a Session whose intervals the model computes from the
// rates it was given, interval by interval, as the clock passes.
type fakeSession struct {
	m        model
	clock    *fakeClock
	interval time.Duration
	start    time.Time

	mu      sync.Mutex
	adjusts []adjust
	snaps   []metrics.Snapshot
	points  []report.MonitorPoint // CPUMonitor's samples, one per interval
	last    map[string]float64    // Fixture's series at the latest interval
	backlog float64               // requests waiting at the end of the last interval
}

// monitored is a fakeSession with monitors.
type monitored struct{ *fakeSession }

func (m monitored) Monitors() []report.MonitorData {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := report.MonitorData{Name: "api", URL: "http://127.0.0.1:9465/metrics", Points: append([]report.MonitorPoint(nil), m.points...)}
	for k, v := range m.last {
		name, labels := parseKey(k)
		d.Series = append(d.Series, scrape.SeriesSummary{Name: name, Labels: labels, Min: v, Max: v, Last: v, Mean: v, N: 1})
	}
	return []report.MonitorData{d}
}

// parseKey splits a series key, name{a="b",…}, into its name and labels.
func parseKey(k string) (string, map[string]string) {
	name, rest, ok := strings.Cut(k, "{")
	if !ok {
		return name, nil
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		if l, v, ok := strings.Cut(kv, "="); ok {
			labels[l] = strings.Trim(v, `"`)
		}
	}
	return name, labels
}

type adjust struct {
	at   time.Time
	rate float64
}

func newFake(m model, clock *fakeClock, interval time.Duration) *fakeSession {
	return &fakeSession{m: m, clock: clock, interval: interval, start: clock.Now()}
}

func (f *fakeSession) Adjust(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adjusts = append(f.adjusts, adjust{f.clock.Now(), rate})
}

func (f *fakeSession) rates() []float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []float64
	for _, a := range f.adjusts {
		out = append(out, a.rate)
	}
	return out
}

// rateAt is the offered rate averaged over [a, b).
func (f *fakeSession) rateAt(a, b time.Time) float64 {
	sum := 0.0
	for i, adj := range f.adjusts {
		end := b
		if i+1 < len(f.adjusts) && f.adjusts[i+1].at.Before(b) {
			end = f.adjusts[i+1].at
		}
		from := adj.at
		if from.Before(a) {
			from = a
		}
		if end.After(from) {
			sum += adj.rate * end.Sub(from).Seconds()
		}
	}
	return sum / b.Sub(a).Seconds()
}

// Live publishes every interval that ended one interval ago or earlier
// (merging takes time), as the controller does.
func (f *fakeSession) Live() ([]metrics.Snapshot, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	for {
		s := f.start.Add(time.Duration(len(f.snaps)) * f.interval)
		e := s.Add(f.interval)
		if e.Add(f.interval / 2).After(now) {
			break
		}
		f.snaps = append(f.snaps, f.interval1(len(f.snaps), s, e))
	}
	return append([]metrics.Snapshot(nil), f.snaps...), f.start
}

// interval1 computes one interval of the model.
func (f *fakeSession) interval1(seq int, s, e time.Time) metrics.Snapshot {
	m := f.m
	dt := e.Sub(s).Seconds()
	offered := f.rateAt(s, e)
	sent, lag := offered, 200*time.Microsecond
	cpu := 0.1
	if m.GenRate > 0 {
		cpu = float64(m.Cores) * math.Min(1, offered/m.GenRate)
		if offered > m.GenRate {
			sent, lag = m.GenRate, 80*time.Millisecond
			if m.GenLag > 0 {
				lag = m.GenLag
			}
		}
	}
	if m.VUCap > 0 {
		if most := float64(m.VUCap) / m.Service.Seconds(); sent > most {
			sent, lag = most, 80*time.Millisecond
		}
	}
	capacity := float64(m.Workers) / (m.Service + m.Hidden).Seconds()
	per := float64(max(m.PerIter, 1))
	arrivals := sent * dt * per
	b0 := f.backlog
	served := math.Min(capacity*dt, b0+arrivals)
	b1 := b0 + arrivals - served
	var failed float64
	if m.WaitTimeout > 0 {
		if most := capacity * m.WaitTimeout.Seconds(); b1 > most {
			failed, b1 = b1-most, most
		}
	}
	f.backlog = b1
	if fx := m.Fixture; fx != nil {
		st := fx.Idle
		if served >= 0.999*capacity*dt {
			st = fx.Full
		}
		f.points = append(f.points, report.MonitorPoint{T: s.Add(e.Sub(s) / 2), Values: st.Values})
		f.last = st.Series
	}
	if m.CPUMonitor {
		f.points = append(f.points, report.MonitorPoint{T: s.Add(e.Sub(s) / 2),
			Limits: map[string]float64{`process_cpu_percent_of_limit{name="api",pid="812"}`: 100 * served / (capacity * dt)}})
	}
	ep := metrics.Endpoint{Name: "GET /", Method: "GET", Latency: metrics.NewSketch()}
	n := int(math.Round(served))
	for i := range n {
		// Waits grow (or shrink) linearly across the interval, from the
		// backlog at its start to the one at its end, plus a small
		// deterministic spread of the service time.
		frac := (float64(i) + 0.5) / float64(n)
		wait := (b0 + (b1-b0)*frac) / capacity
		spread := 1 + 0.1*float64(i%10)/10
		// Latency counts from the due time: a late start is in it.
		ep.Latency.Add(time.Duration((m.Service.Seconds()*spread+wait)*float64(time.Second)) + lag - 200*time.Microsecond)
	}
	ep.Requests, ep.Classes[metrics.OK] = int64(n), int64(n)
	nf := int(math.Round(failed))
	for range nf {
		ep.Latency.Add(m.WaitTimeout)
	}
	ep.Requests += int64(nf)
	ep.Classes[metrics.Status5xx] = int64(nf)
	snap := metrics.Snapshot{Seq: seq, Start: s, End: e, Endpoints: []metrics.Endpoint{ep},
		Iterations: int64(math.Round(float64(ep.Requests) / per)), Due: int64(math.Round(offered * dt)), GeneratorCPU: cpu, Lag: metrics.NewSketch(),
		MaxVUs: int(b1/per) + int(math.Ceil(sent*per*m.Service.Seconds()))}
	if m.VUCap > 0 {
		snap.MaxVUs = min(snap.MaxVUs, m.VUCap)
	}
	if m.Straddle && snap.Iterations > 0 {
		snap.Flows = []metrics.Flow{{Name: "default", Iterations: snap.Iterations, Requests: snap.Iterations * int64(per), Duration: metrics.NewSketch()}}
		snap.Iterations--
	}
	if m.GenDrops && sent < offered {
		snap.Dropped = int64(math.Round((offered - sent) * dt))
	}
	for range max(1, int(sent*dt)) {
		snap.Lag.Add(lag)
	}
	if nf > 0 {
		snap.Messages = map[string]int64{"status_5xx: 500 DB connection timeout": int64(nf)}
	}
	return snap
}

// fakeProber is a health check that queues with the requests of a
// fakeSession: every 500 ms a probe whose latency is 1 ms plus the median
// wait of the interval it falls in (the service time left out); a probe
// whose wait passes Timeout fails.
type fakeProber struct {
	f       *fakeSession
	Timeout time.Duration
}

func (p fakeProber) Samples(from, to time.Time) []capacity.ProbeSample {
	snaps, _ := p.f.Live()
	var out []capacity.ProbeSample
	for t := from.Truncate(500 * time.Millisecond); t.Before(to); t = t.Add(500 * time.Millisecond) {
		if t.Before(from) {
			continue
		}
		for _, s := range snaps {
			if t.Before(s.Start) || !t.Before(s.End) {
				continue
			}
			tot := s.Totals()
			wait := tot.Latency.Quantile(0.5) - p.f.m.Service
			if wait < 0 {
				wait = 0
			}
			ps := capacity.ProbeSample{T: t, Latency: time.Millisecond + wait}
			if p.Timeout > 0 && ps.Latency > p.Timeout {
				ps.Latency, ps.Err = p.Timeout, "no answer within "+p.Timeout.String()
			}
			out = append(out, ps)
		}
	}
	return out
}
