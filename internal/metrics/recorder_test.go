package metrics_test

import (
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

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
