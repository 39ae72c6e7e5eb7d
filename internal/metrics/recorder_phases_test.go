package metrics_test

import (
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// timed is an outcome whose client measured its phases, its latency their
// sum, as the workload records an HTTP request.
func timed(proto metrics.Proto, p metrics.Phases, queued bool) metrics.Outcome {
	return metrics.Outcome{Latency: p.Total(), Phases: p, Timed: true, Queued: queued, Proto: proto}
}

// The recorder keeps each endpoint's phases and protocols per interval:
// what was recorded in an interval is in its snapshot once, the next
// interval starts empty, untimed outcomes (WebSocket, gRPC) add no phase,
// queued is recorded only for open-model requests, and the phases of an
// endpoint add up to its latency exactly.
func TestRecorderPhases(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	eps := []metrics.EndpointKey{{Name: "login", Method: "POST"}, {Name: "chat", Method: "WS"}}
	rec := metrics.NewRecorder(t0, eps, nil)
	ms := time.Millisecond
	rec.Record(0, 0, timed(metrics.ProtoHTTP11, metrics.Phases{0, 2 * ms, 5 * ms, ms / 10, 30 * ms, ms, 3 * ms}, true))
	rec.Record(5, 0, timed(metrics.ProtoHTTP11, metrics.Phases{metrics.PhaseSend: ms / 20, metrics.PhaseWait: 31 * ms,
		metrics.PhaseReceive: ms / 2, metrics.PhaseQueued: ms}, true))
	rec.Record(9, 0, timed(metrics.ProtoHTTP2, metrics.Phases{metrics.PhaseBlocked: 7 * ms, metrics.PhaseWait: 29 * ms}, false))
	// A request whose TLS handshake failed: no protocol known.
	rec.Record(3, 0, metrics.Outcome{Class: metrics.TLS, Latency: 4 * ms, Message: "bad certificate", Timed: true,
		Phases: metrics.Phases{metrics.PhaseConnect: ms, metrics.PhaseTLS: 3 * ms}})
	// A protocol out of range counts as unknown rather than panicking.
	rec.Record(4, 0, timed(metrics.Proto(200), metrics.Phases{metrics.PhaseWait: ms}, false))
	rec.Record(1, 1, metrics.Outcome{Latency: 8 * ms}) // WebSocket: no phases
	s0 := rec.Snapshot(t0.Add(time.Second))

	login, chat := &s0.Endpoints[0], &s0.Endpoints[1]
	if !chat.Phases.Empty() || chat.Protos != [metrics.NumProtos]int64{} {
		t.Errorf("an untimed endpoint has phases or protocols: %v", chat.Protos)
	}
	want := [metrics.NumProtos]int64{metrics.ProtoUnknown: 2, metrics.ProtoHTTP11: 2, metrics.ProtoHTTP2: 1}
	if login.Protos != want {
		t.Errorf("protocols %v, want %v", login.Protos, want)
	}
	for p := range metrics.PhaseQueued {
		if st, ok := login.Phases.Stats(p); !ok || st.Count != 5 {
			t.Errorf("%v: %+v, %v; want all 5 requests", p, st, ok)
		}
	}
	if st, ok := login.Phases.Stats(metrics.PhaseQueued); !ok || st.Count != 2 || st.Max != 3*ms {
		t.Errorf("queued: %+v, %v; want the 2 open-model requests, max 3ms", st, ok)
	}
	if st, _ := login.Phases.Stats(metrics.PhaseWait); st.Max != 31*ms {
		t.Errorf("wait max %v, want 31ms", st.Max)
	}
	var sum time.Duration
	for p := range metrics.NumPhases {
		sum += login.Phases.Sketch(p).Sum()
	}
	if lat := login.Latency.Sum(); sum != lat {
		t.Errorf("the phases add up to %v, the latencies to %v", sum, lat)
	}

	// The next interval starts empty, and the kept sketches record again.
	s1 := rec.Snapshot(t0.Add(2 * time.Second))
	if e := &s1.Endpoints[0]; !e.Phases.Empty() || e.Protos != [metrics.NumProtos]int64{} {
		t.Errorf("an empty interval has phases or protocols %v", e.Protos)
	}
	rec.Record(0, 0, timed(metrics.ProtoHTTP2, metrics.Phases{metrics.PhaseWait: 2 * ms}, false))
	s2 := rec.Snapshot(t0.Add(3 * time.Second))
	e := &s2.Endpoints[0]
	if st, ok := e.Phases.Stats(metrics.PhaseWait); !ok || st.Count != 1 || st.Max != 2*ms || e.Protos[metrics.ProtoHTTP2] != 1 {
		t.Errorf("third interval: wait %+v, protocols %v", st, e.Protos)
	}
	if _, ok := e.Phases.Stats(metrics.PhaseQueued); ok {
		t.Error("queued leaked from the first interval")
	}
	// The first snapshot is its own: recording on did not change it.
	if st, _ := login.Phases.Stats(metrics.PhaseWait); st.Count != 5 {
		t.Errorf("the first snapshot changed: wait %+v", st)
	}
	// Over the run, the snapshots add up.
	all := metrics.Add(s0, s1, s2)
	if st, _ := all.Endpoints[0].Phases.Stats(metrics.PhaseWait); st.Count != 6 || all.Endpoints[0].Protos[metrics.ProtoHTTP2] != 2 {
		t.Errorf("the run: wait %+v, protocols %v", st, all.Endpoints[0].Protos)
	}
}

// Many VUs record phases at once while snapshots are taken: every
// request's phases land in exactly one snapshot (go test -race checks the
// locking).
func TestRecorderPhasesConcurrent(t *testing.T) {
	t0 := time.Now()
	rec := metrics.NewRecorder(t0, []metrics.EndpointKey{{Name: "a", Method: "GET"}}, nil)
	const vus, each = 8, 2000
	var wg sync.WaitGroup
	for v := range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := metrics.Phases{metrics.PhaseWait: time.Duration(1+i%50) * time.Millisecond, metrics.PhaseSend: time.Microsecond}
				rec.Record(v, 0, timed(metrics.ProtoHTTP11, p, i%2 == 0))
			}
		}()
	}
	var snaps []metrics.Snapshot
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for i := 1; ; i++ {
		select {
		case <-done:
			snaps = append(snaps, rec.Snapshot(t0.Add(time.Duration(i)*time.Second)))
			all := metrics.Add(snaps...)
			e := &all.Endpoints[0]
			wait, _ := e.Phases.Stats(metrics.PhaseWait)
			queued, _ := e.Phases.Stats(metrics.PhaseQueued)
			if wait.Count != vus*each || queued.Count != vus*each/2 || e.Protos[metrics.ProtoHTTP11] != vus*each || e.Requests != vus*each {
				t.Errorf("wait %d, queued %d, HTTP/1.1 %d, requests %d; want %d, %d", wait.Count, queued.Count,
					e.Protos[metrics.ProtoHTTP11], e.Requests, vus*each, vus*each/2)
			}
			return
		default:
			snaps = append(snaps, rec.Snapshot(t0.Add(time.Duration(i)*time.Second)))
			time.Sleep(time.Millisecond)
		}
	}
}

// BenchmarkRecordPhases is one HTTP request's outcome with its phases (a
// reused connection: blocked, connect and tls 0), as a VU records it.
func BenchmarkRecordPhases(b *testing.B) {
	rec := metrics.NewRecorder(time.Now(), []metrics.EndpointKey{{Name: "home", Method: "GET"}}, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d := time.Duration(1+i&4095) * time.Microsecond
		p := metrics.Phases{metrics.PhaseSend: 3 * time.Microsecond, metrics.PhaseWait: d, metrics.PhaseReceive: 40 * time.Microsecond}
		rec.Record(7, 0, metrics.Outcome{Latency: p.Total(), BytesSent: 80, BytesReceived: 160, Phases: p, Timed: true, Proto: metrics.ProtoHTTP11})
		i++
	}
}
