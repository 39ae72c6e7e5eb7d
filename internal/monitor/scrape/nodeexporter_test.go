package scrape_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/monitor"
	"github.com/surgeload/surge/internal/monitor/scrape"
	"github.com/surgeload/surge/internal/testutil"
)

// TestRealNodeExporter: the derived series come out of a real node_exporter
// with sane values; a stopped one times out within the bound and a killed
// one is refused, both counted as failed, and neither blocks.
func TestRealNodeExporter(t *testing.T) {
	cmd, url := testutil.StartNodeExporter(t)
	const timeout = time.Second
	m := newMonitor(t, scrape.Target{Name: "node", URL: url}, scrape.Options{Timeout: timeout})
	ctx := context.Background()
	if s := m.Scrape(ctx); !s.OK() {
		t.Fatalf("first scrape: %s", s.Err)
	}
	// Keep one CPU a little busy so that busy cores cannot read 0.
	spin := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(spin) {
	}
	s := m.Scrape(ctx)
	if !s.OK() {
		t.Fatalf("second scrape: %s", s.Err)
	}
	t.Logf("scrape of node_exporter: %v, %d values", s.Took, len(s.Values))
	ncpu := float64(testutil.HostCPUs(t)) // host-wide: all of its CPUs, whatever this process may use
	check := func(name string, lo, hi float64) {
		t.Helper()
		v, ok := s.Find(name)
		if !ok {
			t.Errorf("no %s from node_exporter", name)
			return
		}
		if v.V < lo || v.V > hi {
			t.Errorf("%s = %v, want within [%v, %v]", name, v.V, lo, hi)
		}
	}
	check(scrape.HostCPUBusyCores, 0.01, ncpu*1.05)
	check(scrape.HostCPUBusyPercent, 0.5, 105)
	check(scrape.HostMemoryAvailable, 1<<20, 1<<50)
	check(scrape.HostMemoryUsedPercent, 0, 100)
	check(scrape.HostTCPEstablished, 0, 1e7)
	check(scrape.HostListenOverflows, 0, 1e7)
	check(scrape.HostNetworkReceive, 0, 1e12)
	devices := 0
	for _, v := range s.Values {
		if v.Name == "node_network_receive_bytes_total" {
			devices++
			if v.Unit != "B/s" || v.V < 0 {
				t.Errorf("%s = %v %s, want a rate in B/s", v.Key(), v.V, v.Unit)
			}
		}
	}
	if devices == 0 {
		t.Error("no per-device receive rates")
	}

	// Stopped: the connection is accepted by the kernel, nothing answers.
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stalled := m.Scrape(ctx)
	if took := time.Since(start); stalled.OK() || took > timeout+time.Second {
		t.Errorf("scrape of a stopped node_exporter: ok %v after %v (err %q); want a failure within %v", stalled.OK(), took, stalled.Err, timeout)
	}
	// Killed in the middle of a scrape: the connection dies with it.
	mid := make(chan scrape.Sample, 1)
	start = time.Now()
	go func() { mid <- m.Scrape(ctx) }()
	time.Sleep(200 * time.Millisecond)
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	if s := <-mid; s.OK() || time.Since(start) > timeout+time.Second {
		t.Errorf("scrape cut by a kill: ok %v after %v (err %q)", s.OK(), time.Since(start), s.Err)
	} else {
		t.Logf("killed mid-scrape: %s", s.Err)
	}
	// Dead: refused at once.
	start = time.Now()
	dead := m.Scrape(ctx)
	if took := time.Since(start); dead.OK() || took > timeout+time.Second {
		t.Errorf("scrape of a killed node_exporter: ok %v after %v (err %q)", dead.OK(), took, dead.Err)
	}
	t.Logf("stopped: %s; killed: %s", stalled.Err, dead.Err)
	if st := m.Stats(); st.Scrapes != 5 || st.Failed != 3 {
		t.Errorf("stats = %+v, want 5 scrapes, 3 failed", st)
	}
}

// TestSurgeMonitorSpeaksNodeExporter: every host metric surge monitor
// serves has the same name, type family and label names in a real
// node_exporter, so one analysis reads both.
func TestSurgeMonitorSpeaksNodeExporter(t *testing.T) {
	_, neURL := testutil.StartNodeExporter(t)
	sm, err := monitor.New(monitor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sm.Handler("", nil))
	defer srv.Close()

	ours, theirs := labelSets(t, srv.URL+"/metrics"), labelSets(t, neURL)
	n := 0
	for name, ls := range ours {
		if !strings.HasPrefix(name, "node_") {
			continue
		}
		n++
		if got, ok := theirs[name]; !ok {
			t.Errorf("%s: node_exporter has no such metric", name)
		} else if got != ls {
			t.Errorf("%s: labels %s, node_exporter's %s", name, ls, got)
		}
	}
	if n < 12 {
		t.Errorf("only %d node_ metrics served by surge monitor", n)
	}
}

// labelSets scrapes url with a Monitor of its own and returns, per metric
// name, its label names ("cpu,mode").
func labelSets(t *testing.T, url string) map[string]string {
	t.Helper()
	m := newMonitor(t, scrape.Target{URL: url, Allow: []string{"node_*"}}, scrape.Options{Timeout: 5 * time.Second, MaxSeries: 100_000})
	m.Scrape(context.Background())
	time.Sleep(100 * time.Millisecond)
	s := m.Scrape(context.Background()) // the second has counters' rates too
	if !s.OK() {
		t.Fatalf("scraping %s: %s", url, s.Err)
	}
	out := map[string]string{}
	for _, v := range s.Values {
		if v.Derived {
			continue
		}
		var ln []string
		for k := range v.Labels {
			ln = append(ln, k)
		}
		sort.Strings(ln)
		out[v.Name] = fmt.Sprint(ln)
	}
	return out
}
