package metrics_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// A fixed interleaving of records and snapshots: every outcome lands in
// the interval during which it was recorded, exactly once, and nothing
// leaks from one interval into the next. (A recorder that dropped the last
// interval, counted a request twice, swapped classes or shifted the split
// by one fails here, deterministically.)
func TestRecorderIntervalsAreExact(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	eps := []metrics.EndpointKey{{Name: "list", Method: "GET"}, {Name: "create", Method: "POST"}}
	rec := metrics.NewRecorder(t0, eps, []string{"status is 200", "has id"})

	// Interval 0: 3 list requests (one 5xx), 1 create timeout; shards
	// differ by hint, so the merge over shards is exercised.
	rec.Record(0, 0, metrics.Outcome{Latency: 10 * time.Millisecond, BytesSent: 100, BytesReceived: 1000})
	rec.Record(1, 0, metrics.Outcome{Latency: 20 * time.Millisecond, BytesSent: 100, BytesReceived: 1000})
	rec.Record(7, 0, metrics.Outcome{Class: metrics.Status5xx, Latency: 30 * time.Millisecond, BytesSent: 100, BytesReceived: 50, Message: "500 Internal Server Error"})
	rec.Record(3, 1, metrics.Outcome{Class: metrics.Timeout, Latency: 2 * time.Second, BytesSent: 40, Message: "request timed out"})
	rec.RecordCheck(0, 0, true)
	rec.RecordCheck(5, 0, false)
	rec.RecordLag(2, 3*time.Millisecond)
	rec.IterationDone()
	rec.IterationDone()
	rec.SetVUs(3)
	rec.SetVUs(5)
	rec.SetVUs(2)
	s0 := rec.Snapshot(at(1))

	// Interval 1: nothing at all.
	s1 := rec.Snapshot(at(2))

	// Interval 2: one create, refused; a check; drops; the gauge goes to 4.
	rec.Record(9, 1, metrics.Outcome{Class: metrics.ConnRefused, Latency: time.Millisecond, Message: "dial: connection refused"})
	rec.RecordCheck(9, 1, true)
	rec.RecordLag(9, 40*time.Millisecond)
	rec.RecordLag(10, 60*time.Millisecond)
	rec.Dropped(4)
	rec.Dropped(1)
	rec.IterationDone()
	rec.SetVUs(4)
	s2 := rec.Snapshot(at(3.5))

	// Interval 3 (the last, partial one): one list request.
	rec.Record(4, 0, metrics.Outcome{Latency: 5 * time.Millisecond, BytesSent: 1, BytesReceived: 2})
	rec.SetVUs(0)
	s3 := rec.Snapshot(at(3.75))

	for i, s := range []metrics.Snapshot{s0, s1, s2, s3} {
		if s.Seq != i {
			t.Errorf("snapshot %d has Seq %d", i, s.Seq)
		}
		if len(s.Endpoints) != 2 || s.Endpoints[0].Name != "list" || s.Endpoints[1].Method != "POST" {
			t.Errorf("snapshot %d endpoints %+v", i, s.Endpoints)
		}
		if len(s.Checks) != 2 || s.Checks[0].Name != "status is 200" || s.Checks[1].Name != "has id" {
			t.Errorf("snapshot %d checks %+v", i, s.Checks)
		}
	}
	// Intervals tile time: each starts where the previous ended.
	bounds := [][2]time.Time{{t0, at(1)}, {at(1), at(2)}, {at(2), at(3.5)}, {at(3.5), at(3.75)}}
	for i, s := range []metrics.Snapshot{s0, s1, s2, s3} {
		if !s.Start.Equal(bounds[i][0]) || !s.End.Equal(bounds[i][1]) {
			t.Errorf("snapshot %d spans %v … %v, want %v … %v", i, s.Start, s.End, bounds[i][0], bounds[i][1])
		}
	}
	if d := s2.Duration(); d != 1500*time.Millisecond {
		t.Errorf("interval 2 lasted %v, want 1.5s", d)
	}

	type want struct {
		requests, ok, c5xx, timeout, refused int64
		sent, received                       int64
		latN                                 uint64
		latMin, latMax                       time.Duration
		passes, fails                        [2]int64
		iterations, dropped                  int64
		vus, maxVUs                          int
		lagN                                 uint64
		lagMax                               time.Duration
		messages                             map[string]int64
	}
	check := func(i int, s metrics.Snapshot, w want) {
		t.Helper()
		tot := s.Totals()
		if tot.Requests != w.requests || tot.Classes[metrics.OK] != w.ok || tot.Classes[metrics.Status5xx] != w.c5xx ||
			tot.Classes[metrics.Timeout] != w.timeout || tot.Classes[metrics.ConnRefused] != w.refused {
			t.Errorf("interval %d: requests %d classes %v, want %d (ok %d 5xx %d timeout %d refused %d)", i, tot.Requests, tot.Classes, w.requests, w.ok, w.c5xx, w.timeout, w.refused)
		}
		if tot.Errors() != w.requests-w.ok {
			t.Errorf("interval %d: errors %d, want %d", i, tot.Errors(), w.requests-w.ok)
		}
		if tot.BytesSent != w.sent || tot.BytesReceived != w.received {
			t.Errorf("interval %d: bytes %d/%d, want %d/%d", i, tot.BytesSent, tot.BytesReceived, w.sent, w.received)
		}
		if tot.Latency.Count() != w.latN || tot.Latency.Min() != w.latMin || tot.Latency.Max() != w.latMax {
			t.Errorf("interval %d: latency n=%d min %v max %v, want n=%d min %v max %v", i, tot.Latency.Count(), tot.Latency.Min(), tot.Latency.Max(), w.latN, w.latMin, w.latMax)
		}
		for c := range 2 {
			if s.Checks[c].Passes != w.passes[c] || s.Checks[c].Fails != w.fails[c] {
				t.Errorf("interval %d: check %d %+v, want %d passed %d failed", i, c, s.Checks[c], w.passes[c], w.fails[c])
			}
		}
		if s.Iterations != w.iterations || s.Dropped != w.dropped {
			t.Errorf("interval %d: iterations %d dropped %d, want %d and %d", i, s.Iterations, s.Dropped, w.iterations, w.dropped)
		}
		if s.VUs != w.vus || s.MaxVUs != w.maxVUs {
			t.Errorf("interval %d: VUs %d max %d, want %d and %d", i, s.VUs, s.MaxVUs, w.vus, w.maxVUs)
		}
		var lagN uint64
		var lagMax time.Duration
		if s.Lag != nil {
			lagN, lagMax = s.Lag.Count(), s.Lag.Max()
		}
		if lagN != w.lagN || lagMax != w.lagMax {
			t.Errorf("interval %d: lag n=%d max %v, want n=%d max %v", i, lagN, lagMax, w.lagN, w.lagMax)
		}
		if len(s.Messages) != len(w.messages) {
			t.Errorf("interval %d: messages %v, want %v", i, s.Messages, w.messages)
		}
		for m, n := range w.messages {
			if s.Messages[m] != n {
				t.Errorf("interval %d: message %q counted %d, want %d (all: %v)", i, m, s.Messages[m], n, s.Messages)
			}
		}
	}
	check(0, s0, want{requests: 4, ok: 2, c5xx: 1, timeout: 1, sent: 340, received: 2050, latN: 4, latMin: 10 * time.Millisecond, latMax: 2 * time.Second,
		passes: [2]int64{1, 0}, fails: [2]int64{1, 0}, iterations: 2, vus: 2, maxVUs: 5, lagN: 1, lagMax: 3 * time.Millisecond,
		messages: map[string]int64{"status_5xx: 500 Internal Server Error": 1, "timeout: request timed out": 1}})
	// An empty interval has nothing in it, and the gauge carries over.
	check(1, s1, want{vus: 2, maxVUs: 2})
	check(2, s2, want{requests: 1, refused: 1, latN: 1, latMin: time.Millisecond, latMax: time.Millisecond,
		passes: [2]int64{0, 1}, iterations: 1, dropped: 5, vus: 4, maxVUs: 4, lagN: 2, lagMax: 60 * time.Millisecond,
		messages: map[string]int64{"connection_refused: dial: connection refused": 1}})
	// The last interval's gauge fell to 0, but it peaked at 4 during it.
	check(3, s3, want{requests: 1, ok: 1, sent: 1, received: 2, latN: 1, latMin: 5 * time.Millisecond, latMax: 5 * time.Millisecond, vus: 0, maxVUs: 4})

	// Per endpoint, interval 0: list 3 (one 5xx), create 1 timeout.
	if l, c := s0.Endpoints[0], s0.Endpoints[1]; l.Requests != 3 || l.Errors() != 1 || c.Requests != 1 || c.Classes[metrics.Timeout] != 1 || l.BytesSent != 300 || c.BytesSent != 40 {
		t.Errorf("interval 0 per endpoint: list %+v create %+v", l, c)
	}
	// The mean of the interval is exact: (10+20+30+2000)/4 ms.
	if m := s0.Totals().Latency.Mean(); m != 515*time.Millisecond {
		t.Errorf("interval 0 mean %v, want 515ms", m)
	}

	// Adding the intervals gives the run: the sum of counts, the last
	// gauge, the peak of peaks.
	run := metrics.Add(s0, s1, s2, s3)
	tot := run.Totals()
	if tot.Requests != 6 || tot.Errors() != 3 || run.Iterations != 3 || run.Dropped != 5 || run.VUs != 0 || run.MaxVUs != 5 ||
		run.Lag.Count() != 3 || tot.Latency.Count() != 6 || !run.Start.Equal(t0) || !run.End.Equal(at(3.75)) || run.Seq != 0 {
		t.Errorf("run total: %+v / %+v", run, tot)
	}
	if run.Checks[0].Passes != 1 || run.Checks[0].Fails != 1 || run.Checks[1].Passes != 1 || run.Checks[1].Fails != 0 {
		t.Errorf("run checks %+v", run.Checks)
	}
	if len(run.Messages) != 3 {
		t.Errorf("run messages %v", run.Messages)
	}
}

// Merge is for one interval of several agents: gauges add; Add is for
// consecutive intervals: the last gauge, the highest peak, the earliest
// start and latest end. Neither modifies its arguments.
func TestMergeAndAddSemantics(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	mk := func(seq int, start, end time.Duration, vus, maxVUs int, reqs int, lat time.Duration, cpu float64) metrics.Snapshot {
		rec := metrics.NewRecorder(t0.Add(start), []metrics.EndpointKey{{Name: "e", Method: "GET"}}, []string{"c"})
		for i := range reqs {
			rec.Record(i, 0, metrics.Outcome{Latency: lat})
			rec.RecordCheck(i, 0, i%2 == 0)
		}
		rec.SetVUs(maxVUs)
		rec.SetVUs(vus)
		rec.Dropped(int64(seq))
		s := rec.Snapshot(t0.Add(end))
		s.Seq = seq
		s.GeneratorCPU = cpu
		return s
	}
	a := mk(3, 0, time.Second, 2, 6, 4, 10*time.Millisecond, 0.5)
	b := mk(3, 0, time.Second, 1, 3, 2, 30*time.Millisecond, 0.25)
	m := metrics.Merge(a, b)
	if m.VUs != 3 || m.MaxVUs != 9 || m.Seq != 3 || m.GeneratorCPU != 0.75 || m.Dropped != 6 {
		t.Errorf("merge: VUs %d max %d seq %d cpu %v dropped %d, want 3, 9, 3, 0.75, 6", m.VUs, m.MaxVUs, m.Seq, m.GeneratorCPU, m.Dropped)
	}
	if len(m.Endpoints) != 1 || m.Endpoints[0].Requests != 6 || m.Endpoints[0].Latency.Max() != 30*time.Millisecond {
		t.Errorf("merge endpoints %+v", m.Endpoints)
	}
	if len(m.Checks) != 1 || m.Checks[0].Passes != 3 || m.Checks[0].Fails != 3 {
		t.Errorf("merge checks %+v", m.Checks)
	}
	if a.Endpoints[0].Requests != 4 || a.Endpoints[0].Latency.Count() != 4 {
		t.Errorf("Merge modified its argument: %+v", a.Endpoints[0])
	}
	c := mk(4, time.Second, 2*time.Second, 5, 5, 1, time.Millisecond, 0.6)
	d := mk(2, -time.Second, 0, 7, 8, 0, 0, 0.1)
	span := metrics.Add(m, c, d)
	if span.VUs != 5 || span.MaxVUs != 9 || span.Seq != 2 || span.GeneratorCPU != 0.75 {
		t.Errorf("add: VUs %d (last interval's) max %d seq %d cpu %v, want 5, 9, 2, 0.75", span.VUs, span.MaxVUs, span.Seq, span.GeneratorCPU)
	}
	if !span.Start.Equal(t0.Add(-time.Second)) || !span.End.Equal(t0.Add(2*time.Second)) {
		t.Errorf("add spans %v … %v", span.Start, span.End)
	}
	if span.Totals().Requests != 7 || span.Dropped != 6+4+2 {
		t.Errorf("add: requests %d dropped %d", span.Totals().Requests, span.Dropped)
	}
	// Endpoints are matched by name and method: another method is another endpoint.
	other := metrics.NewRecorder(t0, []metrics.EndpointKey{{Name: "e", Method: "POST"}}, nil)
	other.Record(0, 0, metrics.Outcome{})
	mm := metrics.Merge(a, other.Snapshot(t0.Add(time.Second)))
	if len(mm.Endpoints) != 2 {
		t.Errorf("GET e and POST e merged into %d endpoints", len(mm.Endpoints))
	}
}

// Class names are the summary's contract, and only OK is not an error.
func TestClassNames(t *testing.T) {
	want := map[metrics.Class]string{
		metrics.OK: "ok", metrics.Status4xx: "status_4xx", metrics.Status5xx: "status_5xx", metrics.Timeout: "timeout",
		metrics.ConnRefused: "connection_refused", metrics.ConnReset: "connection_reset", metrics.DNS: "dns", metrics.TLS: "tls",
		metrics.CheckFailed: "check_failed", metrics.Other: "other", metrics.NumClasses: "unknown",
	}
	for c, name := range want {
		if c.String() != name {
			t.Errorf("class %d is %q, want %q", c, c.String(), name)
		}
	}
	if metrics.OK.IsError() || !metrics.Other.IsError() || !metrics.Status4xx.IsError() {
		t.Error("IsError")
	}
	classes := metrics.ErrorClasses()
	if len(classes) != int(metrics.NumClasses)-1 || classes[0] != metrics.Status4xx || classes[len(classes)-1] != metrics.Other {
		t.Errorf("ErrorClasses %v", classes)
	}
	for status, c := range map[int]metrics.Class{100: metrics.OK, 200: metrics.OK, 399: metrics.OK, 400: metrics.Status4xx, 499: metrics.Status4xx, 500: metrics.Status5xx, 599: metrics.Status5xx} {
		if got := metrics.StatusClass(status); got != c {
			t.Errorf("StatusClass(%d) = %v, want %v", status, got, c)
		}
	}
}

// TopMessages orders by count, then by text.
func TestTopMessagesOrder(t *testing.T) {
	s := metrics.Snapshot{Messages: map[string]int64{"b": 2, "a": 2, "c": 5, "d": 1}}
	got := s.TopMessages()
	want := []string{"c", "a", "b", "d"}
	for i, m := range got {
		if m.Message != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if got[0].Count != 5 {
		t.Fatalf("count %d", got[0].Count)
	}
}

// Recording from many goroutines while snapshots are taken: every outcome
// is in exactly one snapshot. The workers pause at checkpoints until a
// snapshot has been taken, so the run spans many snapshots whatever the
// scheduler does (a test that happens to finish within one snapshot proves
// nothing about the swap).
func TestRecorderConcurrentRecordsSpanManySnapshots(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	rec := metrics.NewRecorder(start, []metrics.EndpointKey{{Name: "/a", Method: "GET"}, {Name: "/b", Method: "POST"}}, []string{"ok"})
	const workers, each, every = 8, 4000, 500
	var snapCount atomic.Int64
	done := make(chan struct{})
	snaps := make(chan metrics.Snapshot, 1024)
	go func() {
		defer close(snaps)
		for i := 1; ; i++ {
			snaps <- rec.Snapshot(start.Add(time.Duration(i) * time.Millisecond))
			snapCount.Add(1)
			select {
			case <-done:
				snaps <- rec.Snapshot(start.Add(time.Duration(i+1) * time.Millisecond))
				return
			default:
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if i%every == 0 {
					// wait for a snapshot after this checkpoint
					seen := snapCount.Load()
					for deadline := time.Now().Add(5 * time.Second); snapCount.Load() == seen && time.Now().Before(deadline); {
						runtime.Gosched()
					}
				}
				c := metrics.OK
				if i%10 == 0 {
					c = metrics.Status5xx
				}
				rec.Record(w, i%2, metrics.Outcome{Class: c, Latency: time.Duration(i+1) * time.Microsecond, BytesSent: 3})
				rec.RecordCheck(w, 0, c == metrics.OK)
				rec.RecordLag(w, time.Microsecond)
				rec.IterationDone()
			}
		}()
	}
	wg.Wait()
	close(done)
	var all []metrics.Snapshot
	nonEmpty := 0
	for s := range snaps {
		if s.Totals().Requests > 0 {
			nonEmpty++
		}
		all = append(all, s)
	}
	if nonEmpty < each/every {
		t.Fatalf("records landed in only %d snapshots, want ≥ %d: the test did not interleave", nonEmpty, each/every)
	}
	var requests, errs, passes, fails, lags, iters, bytes int64
	for i, s := range all {
		if s.Seq != i {
			t.Fatalf("snapshot %d has Seq %d", i, s.Seq)
		}
		tot := s.Totals()
		if tot.Latency.Count() != uint64(tot.Requests) {
			t.Fatalf("snapshot %d: %d latencies for %d requests", i, tot.Latency.Count(), tot.Requests)
		}
		requests += tot.Requests
		errs += tot.Errors()
		passes += s.Checks[0].Passes
		fails += s.Checks[0].Fails
		lags += int64(s.Lag.Count())
		iters += s.Iterations
		bytes += tot.BytesSent
	}
	const n = workers * each
	if requests != n || errs != n/10 || passes != n-n/10 || fails != n/10 || lags != n || iters != n || bytes != 3*n {
		t.Fatalf("requests %d errors %d checks %d/%d lags %d iterations %d bytes %d; want %d, %d, %d/%d, %d, %d, %d",
			requests, errs, passes, fails, lags, iters, bytes, n, n/10, n-n/10, n/10, n, n, 3*n)
	}
}

// Merging keeps at most 64 distinct messages too: the rest are counted
// under OtherMessages, and no count is lost.
func TestMergedMessagesAreBounded(t *testing.T) {
	a := metrics.Snapshot{Messages: map[string]int64{}}
	b := metrics.Snapshot{Messages: map[string]int64{}}
	for i := range 40 {
		a.Messages[fmt.Sprintf("a%d", i)] = 2
		b.Messages[fmt.Sprintf("b%d", i)] = 3
	}
	m := metrics.Merge(a, b)
	var n int64
	for _, c := range m.Messages {
		n += c
	}
	if len(m.Messages) != 65 || n != 40*2+40*3 {
		t.Fatalf("%d distinct messages counting %d, want 64 + %q counting 200", len(m.Messages), n, metrics.OtherMessages)
	}
	if m.Messages[metrics.OtherMessages] == 0 {
		t.Fatalf("no %q in %v", metrics.OtherMessages, m.Messages)
	}
	// A message already kept is counted under its own name, even past the cap.
	again := metrics.Merge(m, metrics.Snapshot{Messages: map[string]int64{"a0": 1}})
	if again.Messages["a0"] != m.Messages["a0"]+1 && again.Messages[metrics.OtherMessages] != m.Messages[metrics.OtherMessages]+1 {
		t.Fatalf("a0 counted nowhere: %v", again.Messages)
	}
}
