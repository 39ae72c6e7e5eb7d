package run_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
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
