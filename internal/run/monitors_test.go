package run_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"

	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// A monitor that answers, one that never answers (its scrapes time out
// after one interval) and a plan with both: the run keeps its length and
// its totals, the stalled monitor's scrapes all fail, the good one's
// succeed, and the scrapers are stopped (none in flight) when Wait returns.
func TestSessionScrapesMonitorsWithoutSlowingTheRun(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("# TYPE node_memory_MemAvailable_bytes gauge\nnode_memory_MemAvailable_bytes 1.5e+09\n"))
	}))
	defer good.Close()
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stalled.Close()
	defer close(release)

	rate, d := 100.0, 1500*time.Millisecond
	plan := quickPlan(t, tb.URL()+"/hello", scenario.Overrides{Rate: &rate, Duration: &d, Monitors: []scenario.Monitor{
		{Name: "good", URL: good.URL + "/metrics"}, {Name: "stalled", URL: stalled.URL + "/metrics"},
	}})
	s := run.New(plan, run.Options{Interval: 250 * time.Millisecond})
	start := time.Now()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took > d+time.Second {
		t.Errorf("the run took %v, planned %v: the monitors slowed it", took, d)
	}
	if got := res.Total.Totals().Requests; got != 150 || got != tb.Count() {
		t.Errorf("requests %d, target saw %d; want 150", got, tb.Count())
	}
	ms := s.Monitors()
	if len(ms) != 2 {
		t.Fatalf("monitors: %+v", ms)
	}
	g, st := ms[0], ms[1]
	intervals := len(res.Timeline)
	if g.Name != "good" || g.Stats.Scrapes < intervals-1 || g.Stats.Failed != 0 || len(g.Series) == 0 {
		t.Errorf("good monitor: %+v over %d intervals", g.Stats, intervals)
	}
	if st.Name != "stalled" || st.Stats.Scrapes < 2 || st.Stats.Failed != st.Stats.Scrapes || len(st.Series) != 0 {
		t.Errorf("stalled monitor: %+v (%s)", st.Stats, st.LastError)
	}
	if len(g.Points) != g.Stats.Scrapes || len(st.Points) != st.Stats.Scrapes {
		t.Errorf("points %d/%d for %d/%d scrapes", len(g.Points), len(st.Points), g.Stats.Scrapes, st.Stats.Scrapes)
	}
	// Stopped with the run: nothing scrapes any more.
	time.Sleep(600 * time.Millisecond)
	if again := s.Monitors(); again[0].Stats.Scrapes != g.Stats.Scrapes || again[1].Stats.Scrapes != st.Stats.Scrapes {
		t.Errorf("scrapes went on after the run: %d → %d, %d → %d", g.Stats.Scrapes, again[0].Stats.Scrapes, st.Stats.Scrapes, again[1].Stats.Scrapes)
	}
	t.Logf("run %v over %d intervals; scrapes good %d, stalled %d (%s)", took, intervals, g.Stats.Scrapes, st.Stats.Scrapes, st.LastError)
}

// snapshots is a sink that keeps the snapshots it consumed.
type snapshots struct {
	mu    sync.Mutex
	snaps []metrics.Snapshot
}

func (k *snapshots) Consume(_ context.Context, s metrics.Snapshot) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.snaps = append(k.snaps, s)
	return nil
}

func (k *snapshots) Close(context.Context) error { return nil }

// A slow exporter (80 ms a scrape, more than the run's 50 ms start lead)
// still has each interval's sample in that interval's snapshot: the
// scrapes follow the run's intervals, a lead before each ends that covers
// how long they take, so the dashboard charts every interval live. (Timed
// from the session's own start, each sample came after its interval had
// been sent and was charted nowhere live.)
func TestSlowMonitorSamplesTravelWithTheirIntervals(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(80 * time.Millisecond)
		w.Write([]byte("# TYPE node_memory_MemAvailable_bytes gauge\nnode_memory_MemAvailable_bytes 1.5e+09\n"))
	}))
	defer slow.Close()
	rate, d := 50.0, 2500*time.Millisecond
	plan := quickPlan(t, tb.URL()+"/hello", scenario.Overrides{Rate: &rate, Duration: &d, Monitors: []scenario.Monitor{
		{Name: "slow", URL: slow.URL + "/metrics"},
	}})
	k := &snapshots{}
	s := run.New(plan, run.Options{Interval: 500 * time.Millisecond, Sinks: []sink.Sink{k}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.snaps) < 5 {
		t.Fatalf("%d snapshots of a 2.5 s run at 500 ms", len(k.snaps))
	}
	for i, snap := range k.snaps[:len(k.snaps)-1] { // the last may close before its scrape is back
		in := 0
		for _, m := range snap.Monitors {
			switch {
			case !m.T.Before(snap.Start) && m.T.Before(snap.End):
				in++
			case i == 0 && m.T.Before(snap.Start):
				// the first scrape, before the start: the base for rates
			default:
				t.Errorf("interval %d [%s, %s) carries a sample sent at %s", i,
					snap.Start.Format("05.000"), snap.End.Format("05.000"), m.T.Format("05.000"))
			}
		}
		if in != 1 {
			t.Errorf("interval %d carries %d samples of its own, want 1: %d in all", i, in, len(snap.Monitors))
		}
	}
}
