package metrics_test

import (
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

func TestRecorderCountsEveryOutcomeOnceAcrossSnapshots(t *testing.T) {
	start := time.Now()
	eps := []metrics.EndpointKey{{Name: "/a", Method: "GET"}, {Name: "/b", Method: "POST"}}
	rec := metrics.NewRecorder(start, eps, []string{"status is 200"})
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	snaps := make(chan metrics.Snapshot, 1024)
	go func() { // snapshot concurrently with recording
		defer close(snaps)
		for {
			select {
			case <-stop:
				snaps <- rec.Snapshot(time.Now())
				return
			default:
				snaps <- rec.Snapshot(time.Now())
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				class := metrics.OK
				if i%10 == 0 {
					class = metrics.Status5xx
				}
				rec.Record(w, i%2, metrics.Outcome{Class: class, Latency: time.Duration(i) * time.Microsecond, BytesSent: 10, BytesReceived: 100, Message: "500 Internal Server Error"})
				rec.RecordCheck(w, 0, class == metrics.OK)
			}
		}()
	}
	wg.Wait()
	close(stop)
	var all []metrics.Snapshot
	for s := range snaps {
		all = append(all, s)
	}
	for i, s := range all {
		if s.Seq != i {
			t.Fatalf("snapshot %d has Seq %d", i, s.Seq)
		}
	}
	total := metrics.Add(all...)
	tot := total.Totals()
	if tot.Requests != workers*each {
		t.Fatalf("requests %d, want %d", tot.Requests, workers*each)
	}
	if tot.Classes[metrics.Status5xx] != workers*each/10 || tot.Errors() != workers*each/10 {
		t.Fatalf("5xx %d errors %d, want %d", tot.Classes[metrics.Status5xx], tot.Errors(), workers*each/10)
	}
	if tot.BytesSent != 10*workers*each || tot.BytesReceived != 100*workers*each {
		t.Fatalf("bytes %d/%d", tot.BytesSent, tot.BytesReceived)
	}
	if tot.Latency.Count() != workers*each {
		t.Fatalf("latency count %d", tot.Latency.Count())
	}
	if c := total.Checks[0]; c.Passes+c.Fails != workers*each || c.Fails != workers*each/10 {
		t.Fatalf("checks %+v", c)
	}
	if got := total.Messages["status_5xx: 500 Internal Server Error"]; got != workers*each/10 {
		t.Fatalf("messages %v", total.Messages)
	}
}

func TestMergeSumsAgentsOfOneInterval(t *testing.T) {
	start := time.Now()
	eps := []metrics.EndpointKey{{Name: "/", Method: "GET"}}
	a := metrics.NewRecorder(start, eps, nil)
	b := metrics.NewRecorder(start, eps, nil)
	a.SetVUs(3)
	b.SetVUs(4)
	a.Record(0, 0, metrics.Outcome{Latency: time.Millisecond})
	b.Record(0, 0, metrics.Outcome{Latency: 3 * time.Millisecond, Class: metrics.Timeout})
	end := start.Add(time.Second)
	m := metrics.Merge(a.Snapshot(end), b.Snapshot(end))
	if m.VUs != 7 || m.MaxVUs != 7 {
		t.Fatalf("merged VUs %d/%d, want 7", m.VUs, m.MaxVUs)
	}
	tot := m.Totals()
	if tot.Requests != 2 || tot.Classes[metrics.Timeout] != 1 || tot.Latency.Max() != 3*time.Millisecond {
		t.Fatalf("merged %+v", tot)
	}
	// Add over time keeps the peak, not the sum.
	a.SetVUs(1)
	s2 := a.Snapshot(end.Add(time.Second))
	span := metrics.Add(m, s2)
	if span.MaxVUs != 7 || span.VUs != 1 {
		t.Fatalf("span VUs %d max %d, want 1 and 7", span.VUs, span.MaxVUs)
	}
}

func TestMessagesAreBounded(t *testing.T) {
	rec := metrics.NewRecorder(time.Now(), []metrics.EndpointKey{{Name: "/"}}, nil)
	for i := range 1000 {
		rec.Record(i, 0, metrics.Outcome{Class: metrics.Other, Message: time.Duration(i).String()})
	}
	s := rec.Snapshot(time.Now())
	var n int64
	for _, c := range s.Messages {
		n += c
	}
	if len(s.Messages) > 65 || n != 1000 {
		t.Fatalf("%d distinct messages counting %d, want ≤ 65 counting 1000", len(s.Messages), n)
	}
}
