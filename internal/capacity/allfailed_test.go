package capacity_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/metrics"
)

// failing is a session whose every request fails as class with msg once
// the rate offered is above from (from 0: always) — a wrong URL, or a
// target that stops answering under load.
type failing struct {
	*fakeSession
	from  float64
	class metrics.Class
	msg   string

	mu      sync.Mutex
	adjusts []struct {
		at   time.Time
		rate float64
	}
}

func (f *failing) Adjust(rate float64) {
	f.mu.Lock()
	f.adjusts = append(f.adjusts, struct {
		at   time.Time
		rate float64
	}{f.fakeSession.clock.Now(), rate})
	f.mu.Unlock()
	f.fakeSession.Adjust(rate)
}

func (f *failing) Live() ([]metrics.Snapshot, time.Time) {
	snaps, now := f.fakeSession.Live()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]metrics.Snapshot, len(snaps))
	for i, s := range snaps {
		rate := 0.0
		for _, a := range f.adjusts {
			if !a.at.After(s.Start) {
				rate = a.rate
			}
		}
		if rate > f.from {
			eps := make([]metrics.Endpoint, len(s.Endpoints))
			for j, e := range s.Endpoints {
				e.Classes = [metrics.NumClasses]int64{}
				e.Classes[f.class] = e.Requests
				eps[j] = e
				s.Messages = map[string]int64{f.class.String() + ": " + f.msg: e.Requests}
			}
			s.Endpoints = eps
		}
		out[i] = s
	}
	return out, now
}

// A search whose every request fails is not a capacity, whatever its
// objectives judge: a wrong URL answering 404 at once misses at the start
// rate, saying to check the URL, not "try a lower --start"; a target that
// stops answering past a rate is named by how it fails there.
func TestEveryRequestFailedIsNotACapacity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from     float64
		class    metrics.Class
		msg      string
		kind     string
		says     []string
		max      float64
		startMis bool
	}{
		{"a wrong URL", 0, metrics.Status4xx, "404 Not Found", capacity.KindErrors,
			[]string{`every request failed at 10.0/s`, `mostly "status_4xx: 404 Not Found"`, "this is not a capacity"}, 0, true},
		{"refused past 100/s", 100, metrics.ConnRefused, "connection refused", capacity.KindConnections,
			[]string{"every request failed", `mostly "connection_refused: connection refused"`, "the target stopped answering past"}, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			f := &failing{fakeSession: newFake(model{Workers: 4, Service: 20 * time.Millisecond}, clock, time.Second), from: tc.from, class: tc.class, msg: tc.msg}
			// A latency objective only: the failures are fast, and still
			// no step of them may pass.
			res, err := capacity.Search(context.Background(), f, capacity.Options{SLO: slo(t, "p99<250ms"), Clock: clock, Max: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if res.StartMissed != tc.startMis || !within(res.MaxRate, tc.max, 0.06) || (tc.max == 0 && res.MaxRate != 0) {
				t.Errorf("start missed %v, max rate %v; want %v, %v\n%s", res.StartMissed, res.MaxRate, tc.startMis, tc.max, steps(res))
			}
			for _, s := range res.Steps {
				if s.OK && s.ErrorRate == 100 {
					t.Errorf("step at %v/s passed with every request failed", s.Rate)
				}
			}
			if res.Bottleneck.Kind != tc.kind {
				t.Errorf("bottleneck %s (%s); want %s", res.Bottleneck.Kind, res.Bottleneck.Evidence, tc.kind)
			}
			for _, want := range tc.says {
				if !strings.Contains(res.Bottleneck.Evidence, want) {
					t.Errorf("evidence lacks %q: %s", want, res.Bottleneck.Evidence)
				}
			}
			var text bytes.Buffer
			if err := capacity.WriteText(&text, res); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(text.String(), "check the URL and that the target is up"); got != tc.startMis {
				t.Errorf("text says to check the URL: %v; want %v\n%s", got, tc.startMis, text.String())
			}
		})
	}
}
