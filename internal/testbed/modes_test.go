package testbed_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func get(t *testing.T, url string) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

func TestDBWaitTimeoutAnswers500(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{DBConns: 1, DBWaitTimeout: 50 * time.Millisecond})
	release := hold(t, tb.URL()+"/db?ms=10000", 1)
	defer release()
	waitFor(t, tb.URL(), "the one connection busy", func(m map[string]float64) bool {
		return m["testbed_db_connections_busy"] == 1
	})
	code, body, took := get(t, tb.URL()+"/db?ms=1")
	if code != 500 || !strings.Contains(body, "DB connection timeout") {
		t.Fatalf("/db with the pool dry: %d %q; want 500 DB connection timeout", code, body)
	}
	if took < 50*time.Millisecond || took > 2*time.Second {
		t.Errorf("timed out after %v; want about the 50ms wait timeout", took)
	}
	m := scrapeMetrics(t, tb.URL())
	if m["testbed_db_wait_timeouts_total"] != 1 || m["testbed_db_waiters"] != 0 {
		t.Errorf("timeouts %v, waiters %v; want 1 and 0", m["testbed_db_wait_timeouts_total"], m["testbed_db_waiters"])
	}
	release()
	if code, _, _ := get(t, tb.URL()+"/db?ms=1"); code != 200 {
		t.Errorf("/db with a free connection: %d", code)
	}
}

func TestDBWithoutWaitTimeoutWaits(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{DBConns: 1})
	release := hold(t, tb.URL()+"/db?ms=150", 1)
	defer release()
	waitFor(t, tb.URL(), "the one connection busy", func(m map[string]float64) bool {
		return m["testbed_db_connections_busy"] == 1
	})
	if code, _, _ := get(t, tb.URL()+"/db?ms=1"); code != 200 {
		t.Errorf("/db behind a busy connection, no wait timeout: %d; want 200 after waiting", code)
	}
}

// The answer comes after WorkTime, but the worker stays busy for the
// background work: a second request on a pool of one waits for it.
func TestBackgroundCPUHoldsTheWorkerAfterTheAnswer(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 1, WorkTime: time.Millisecond, BackgroundCPU: 300 * time.Millisecond})
	code, _, first := get(t, tb.URL()+"/work")
	if code != 200 || first > 250*time.Millisecond {
		t.Fatalf("first /work: %d in %v; want 200 well before the 300ms background work ends", code, first)
	}
	_, _, second := get(t, tb.URL()+"/work")
	if second < 150*time.Millisecond {
		t.Errorf("second /work took %v; want it to wait for the first one's background work (~300ms)", second)
	}
}

func TestHealthSharesTheWorkersQueue(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Workers: 1})
	if code, body, _ := get(t, tb.URL()+"/health"); code != 200 || body != "ok\n" {
		t.Fatalf("/health idle: %d %q", code, body)
	}
	release := hold(t, tb.URL()+"/work?ms=300", 1)
	defer release()
	waitFor(t, tb.URL(), "the worker busy", func(m map[string]float64) bool {
		return m["testbed_workers_busy"] == 1
	})
	code, _, took := get(t, tb.URL()+"/health")
	if code != 200 || took < 100*time.Millisecond {
		t.Errorf("/health behind a busy worker: %d in %v; want 200 after waiting for the worker", code, took)
	}
}

// The background-work mode's capacity is what its options imply,
// Workers/(WorkTime+BackgroundCPU): four clients keep one worker of 5 ms
// + 15 ms saturated for 2 s and get 50/s, as a worker of 20 ms does. (The
// worker's hold is timed from when it was taken: timer overshoot of the
// 5 ms and writing the answer used to be added to the 15 ms, which cut the
// mode to ~40/s on a busy machine. That loss is 4 % on an idle machine and
// within this test's band on a loaded one, so the test does not catch it:
// what it checks is that the background work holds the worker, for which
// the capacity would be four times as high.)
func TestBackgroundWorkCapacityIsWorkersOverTheWholeHold(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    testbed.Options
	}{
		{"5ms answer + 15ms background", testbed.Options{Workers: 1, WorkTime: 5 * time.Millisecond, BackgroundCPU: 15 * time.Millisecond}},
		{"2 workers, 2ms answer + 38ms background", testbed.Options{Workers: 2, WorkTime: 2 * time.Millisecond, BackgroundCPU: 38 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := testutil.StartTarget(t, tc.o)
			want := float64(tc.o.Workers) / (tc.o.WorkTime + tc.o.BackgroundCPU).Seconds()
			got := saturate(t, tb.URL()+"/work", 2*tc.o.Workers+2, 2*time.Second)
			// Below: scheduling of a busy machine costs some (44.7/s of 50
			// seen with a dozen test binaries on 2 cores); above: never more
			// than the options allow.
			if got < 0.8*want || got > 1.02*want {
				t.Errorf("%.1f/s; want %.0f/s (−20 %%, +2 %%)", got, want)
			}
			if testing.Verbose() {
				t.Logf("%.2f/s of %.0f/s", got, want)
			}
		})
	}
}

// saturate keeps n clients busy on url for d and returns the answers per
// second.
func saturate(t *testing.T, url string, n int, d time.Duration) float64 {
	t.Helper()
	var done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := http.Get(url)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}
