package capacity_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
)

func fixture(t *testing.T, name string) *monFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "monitors", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx monFixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &fx
}

// A pool of 4 workers of 20 ms (200/s) whose monitor shows memory, the
// network or nothing decisive at its limit while the workers are
// saturated: the bottleneck is named only when the evidence decides.
func TestSearchNamesMemoryAndNetworkOnlyWhenTheMonitorDecides(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		link    float64 // Options.LinkBytesPerSec
		kind    string
		says    []string
		never   []string // what the evidence must not say
	}{
		{"host_memory_full", 0, capacity.KindMemory, []string{"monitor api: host memory at 98.", "(37.5% at the baseline", "MemAvailable fell to 128.0 MiB"}, nil},
		{"cgroup_memory_full", 0, capacity.KindMemory, []string{"cgroup /system.slice/api.service memory", "at 99.2% of its limit", "(41.0% at the baseline"}, nil},
		{"process_memory_full", 0, capacity.KindMemory, []string{"process api (pid 812) memory at 96.9% of its limit", "(30.0% at the baseline"}, nil},
		{"network_link_full", 0, capacity.KindNetwork, []string{"network transmit at 112.5 MiB/s, 94% of the link's node_network_speed_bytes (119.2 MiB/s)", "while throughput was flat"}, nil},
		{"network_no_speed", 125e6, capacity.KindNetwork, []string{"94% of the configured link"}, []string{"check that speed"}},
		// More than the link given carries (118 MB/s): its speed is doubted;
		// at 118 % of it, not yet.
		{"network_no_speed", 90e6, capacity.KindNetwork, []string{"131% of the configured link", "more than the configured link carries: check that speed (--link)"}, nil},
		{"network_no_speed", 100e6, capacity.KindNetwork, []string{"118% of the configured link"}, []string{"check that speed"}},
		{"network_drops", 0, capacity.KindNetwork, []string{"device eth0 dropped 340 packets/s on receive", "none at the baseline"}, nil},
		// Not decisive: memory in use rose but stayed far from its limit;
		// memory was as full at the baseline as at the bound; the link's
		// speed is unknown.
		{"host_memory_half", 0, capacity.KindConcurrency, []string{"no monitored CPU sat at its limit"}, []string{"give --link"}},
		{"host_memory_always_full", 0, capacity.KindConcurrency, []string{"a pool of ~4"}, nil},
		// A pool-like plateau with network figures and no link speed given
		// shows what the network carried and asks for --link (a shaped
		// link is not in node_network_speed_bytes); with --link given and
		// not reached, it does not.
		{"network_no_speed", 0, capacity.KindConcurrency, []string{"a pool of ~4", "monitor api's network transmit carried 112.5 MiB/s at", "give --link"}, nil},
		{"network_link_full", 200e6, capacity.KindConcurrency, []string{"a pool of ~4"}, []string{"give --link"}},
		// At the limits: memory at 95.0 % is full, 94.9 % is not; a link
		// at 90 % is full, just under is not; a loopback device's speed or
		// drops say nothing of the network.
		{"cgroup_memory_at_95", 0, capacity.KindMemory, []string{"cgroup /api memory", "at 95.0% of its limit"}, nil},
		{"cgroup_memory_at_94.9", 0, capacity.KindConcurrency, []string{"a pool of ~4"}, nil},
		{"network_link_at_112500000", 0, capacity.KindNetwork, []string{"90% of the link's node_network_speed_bytes"}, nil},
		{"network_link_at_112400000", 0, capacity.KindConcurrency, []string{"a pool of ~4"}, nil},
		{"network_link_lo_speed", 0, capacity.KindConcurrency, []string{"a pool of ~4"}, nil},
		{"network_drops_on_lo", 0, capacity.KindConcurrency, []string{"a pool of ~4"}, nil},
		{"network_tx_drops", 0, capacity.KindNetwork, []string{"device eth0 dropped 7 packets/s on transmit"}, nil},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			clock := newClock()
			f := monitored{newFake(model{Workers: 4, Service: 20 * time.Millisecond, Fixture: fixture(t, tc.fixture)}, clock, time.Second)}
			res, err := capacity.Search(context.Background(), f, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Clock: clock, LinkBytesPerSec: tc.link})
			if err != nil {
				t.Fatal(err)
			}
			b := res.Bottleneck
			if b.Kind != tc.kind {
				t.Fatalf("bottleneck %s (%s); want %s", b.Kind, b.Evidence, tc.kind)
			}
			for _, want := range tc.says {
				if !strings.Contains(b.Evidence, want) {
					t.Errorf("evidence lacks %q: %s", want, b.Evidence)
				}
			}
			for _, not := range tc.never {
				if strings.Contains(b.Evidence, not) {
					t.Errorf("evidence says %q: %s", not, b.Evidence)
				}
			}
			if b.Concurrency == nil {
				t.Errorf("no Little's-law estimate beside the %s evidence", b.Kind)
			}
			if !within(res.MaxRate, 200, 0.1) {
				t.Errorf("max rate %v; want 200 ± 10%%", res.MaxRate)
			}
			// Every step carries its monitor ranges.
			for _, s := range res.Steps {
				if len(s.Monitors["api"]) == 0 {
					t.Fatalf("step at %v/s without its monitor's ranges", s.Rate)
				}
			}
		})
	}
}
