package testbed_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// scrapeMetrics parses the testbed's /metrics with expfmt and returns each
// sample's value by "name" or "name{label=value}" (one label at most).
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			k := name
			for _, l := range m.GetLabel() {
				k += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[k] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[k] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// hold starts n requests to url that stay in the server until release is
// called (or 10 s pass).
func hold(t *testing.T, url string, n int) (release func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

func waitFor(t *testing.T, url string, what string, ok func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	var m map[string]float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m = scrapeMetrics(t, url); ok(m) {
			return m
		}
	}
	t.Fatalf("%s never showed on /metrics; last scrape:\n%v", what, m)
	return nil
}

func TestMetricsShowTheWorkerPool(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 2})
	m := scrapeMetrics(t, tb.URL())
	for k, want := range map[string]float64{
		"testbed_workers": 2, "testbed_workers_busy": 0, "testbed_workers_queued": 0,
		"testbed_requests_in_flight": 0, "testbed_requests_total{class=work}": 0,
		"testbed_db_connections": testbed.DefaultDBConns, "testbed_db_waiters": 0,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("idle: %s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	// 5 requests that each hold a worker for 10 s: 2 busy, 3 queued.
	release := hold(t, tb.URL()+"/work?ms=10000", 5)
	m = waitFor(t, tb.URL(), "2 busy, 3 queued", func(m map[string]float64) bool {
		return m["testbed_workers_busy"] == 2 && m["testbed_workers_queued"] == 3
	})
	if m["testbed_requests_in_flight"] != 5 || m["testbed_requests_total{class=work}"] != 5 {
		t.Errorf("in flight %v, work requests %v; want 5 and 5", m["testbed_requests_in_flight"], m["testbed_requests_total{class=work}"])
	}
	release()
	waitFor(t, tb.URL(), "the pool emptied", func(m map[string]float64) bool {
		return m["testbed_workers_busy"] == 0 && m["testbed_workers_queued"] == 0 && m["testbed_requests_in_flight"] == 0
	})
	if tb.Count() != 5 {
		t.Errorf("Count = %d: /metrics must not count itself", tb.Count())
	}
}

func TestDBPoolRunsDryWith8Users(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{DBConns: 3})
	release := hold(t, tb.URL()+"/db?ms=10000", 8)
	defer release()
	m := waitFor(t, tb.URL(), "3 connections busy, 5 waiters", func(m map[string]float64) bool {
		return m["testbed_db_connections_busy"] == 3 && m["testbed_db_waiters"] == 5
	})
	if m["testbed_db_connections"] != 3 || m["testbed_requests_total{class=db}"] != 8 {
		t.Errorf("db connections %v, db requests %v; want 3 and 8", m["testbed_db_connections"], m["testbed_requests_total{class=db}"])
	}
	// An answered query releases its connection.
	release()
	resp, err := http.Get(tb.URL() + "/db?ms=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/db: %d", resp.StatusCode)
	}
	waitFor(t, tb.URL(), "the DB pool emptied", func(m map[string]float64) bool {
		return m["testbed_db_waiters"] == 0 && m["testbed_db_connections_busy"] == 0
	})
}
