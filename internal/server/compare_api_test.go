package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
)

// recordSynthetic records a run of 12 one-second intervals through a
// Recorder, as `surge run --server` does, with known measurements: each
// interval holds 100 requests whose latencies are (1 + j/100) × base ms,
// j = 0…99, times the interval's wobble 1 + 0.04·((k·i mod 5) − 2) — the
// same five wobbles, in an order set by k — and errPct % of them 5xx.
func recordSynthetic(t *testing.T, e *env, plan scenario.Plan, base float64, k int, errPct int) string {
	t.Helper()
	ctx := context.Background()
	rec, err := server.NewRecorder(ctx, e.ts.URL, testSecret, plan, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i := range 12 {
		wobble := 1 + 0.04*float64((k*i)%5-2)
		ep := metrics.Endpoint{Name: "/checkout", Method: "GET", Requests: 100, Latency: metrics.NewSketch()}
		for j := range 100 {
			ep.Latency.Add(time.Duration(base * wobble * (1 + float64(j)/100) * float64(time.Millisecond)))
		}
		ep.Classes[metrics.Status5xx] = int64(errPct)
		ep.Classes[metrics.OK] = 100 - int64(errPct)
		snap := metrics.Snapshot{Seq: i, Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i+1) * time.Second),
			Endpoints: []metrics.Endpoint{ep}, Iterations: 100, VUs: 10, MaxVUs: 10}
		if err := rec.Consume(ctx, snap); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return rec.ID()
}

// GET /api/v1/compare judges runs recorded with known measurements: B built
// slower, faster, equal (the same intervals in another order) or with more
// errors than A gets the verdict it was built for, overall and metric by
// metric, from the summaries the server rebuilds from stored snapshots.
func TestCompareAPIVerdicts(t *testing.T) {
	e := startServer(t, server.Options{})
	plan := scenario.Plan{Name: "checkout", Target: "http://127.0.0.1:1",
		Load:  scenario.Load{Model: engine.Closed, VUs: 10, Duration: 12 * time.Second},
		Flows: []scenario.Flow{{Name: "default", Weight: 1, Steps: []scenario.Step{{Method: "GET", URL: "/checkout"}}}}}
	a := recordSynthetic(t, e, plan, 20, 1, 0)
	same, worse, better := "same", "worse", "better"
	for _, tc := range []struct {
		name    string
		base    float64 // B's latency scale; A's is 20
		k       int     // B's order of the wobbles; A's is 1
		errPct  int
		verdict string
		metrics map[string]string // every metric's verdict
	}{
		{"B 50 % slower", 30, 1, 0, worse, map[string]string{"p50": worse, "p95": worse, "p99": worse, "rps": same, "error_rate": same}},
		{"B 40 % faster", 12, 1, 0, better, map[string]string{"p50": better, "p95": better, "p99": better, "rps": same, "error_rate": same}},
		{"B equal, its intervals in another order", 20, 3, 0, same, map[string]string{"p50": same, "p95": same, "p99": same, "rps": same, "error_rate": same}},
		{"B with 5 % errors", 20, 1, 5, worse, map[string]string{"p50": same, "p95": same, "p99": same, "rps": same, "error_rate": worse}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := recordSynthetic(t, e, plan, tc.base, tc.k, tc.errPct)
			var c struct {
				Verdict, Reason string
				Metrics         []struct {
					Name, Verdict, Reason string
					A, B                  float64
				}
			}
			e.json("GET", "/api/v1/compare?a="+a+"&b="+b, nil, http.StatusOK, &c)
			if c.Verdict != tc.verdict {
				t.Errorf("verdict %q, want %q: %s", c.Verdict, tc.verdict, c.Reason)
			}
			got := map[string]string{}
			for _, m := range c.Metrics {
				got[m.Name] = m.Verdict
				// The figures are the recorded runs': latencies scale with base.
				if ratio := m.B / m.A; m.Name == "p50" && math.Abs(ratio-tc.base/20) > 0.03*tc.base/20 {
					t.Errorf("p50 A %v B %v: ratio %.3f, want %.3f (A is the run at 20 ms, B the one at %v)", m.A, m.B, ratio, tc.base/20, tc.base)
				}
				if want := tc.metrics[m.Name]; m.Verdict != want {
					t.Errorf("%s: verdict %q, want %q: %s", m.Name, m.Verdict, want, m.Reason)
				}
			}
			if len(got) != len(tc.metrics) || len(c.Metrics) != len(tc.metrics) {
				t.Errorf("metrics judged %v, want %v", got, tc.metrics)
			}
		})
	}
}

// docs/api.md lists the fields of a timeline point: the list is the one
// GET /api/v1/runs/{id}/timeline serves, no field missing or extra
// ("monitors" only when the run has monitors).
func TestTimelineFieldsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	head := "### `GET /api/v1/runs/{id}/timeline`"
	i := bytes.Index(doc, []byte(head))
	if i < 0 {
		t.Fatalf("docs/api.md has no %q section", head)
	}
	sec := doc[i+len(head):]
	end := bytes.Index(sec, []byte("}]}`"))
	if end < 0 {
		t.Fatal(`docs/api.md: the timeline section has no {"points": [{…}]} list`)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([a-z0-9_]+)"`).FindAllSubmatch(sec[:end], -1) {
		documented[string(m[1])] = true
	}
	delete(documented, "points")

	e := startServer(t, server.Options{})
	plan := scenario.Plan{Name: "fields", Target: "http://127.0.0.1:1",
		Load:  scenario.Load{Model: engine.Closed, VUs: 10, Duration: 12 * time.Second},
		Flows: []scenario.Flow{{Name: "default", Weight: 1, Steps: []scenario.Step{{Method: "GET", URL: "/checkout"}}}}}
	id := recordSynthetic(t, e, plan, 20, 1, 0)
	var tl struct{ Points []map[string]json.RawMessage }
	e.json("GET", "/api/v1/runs/"+id+"/timeline", nil, http.StatusOK, &tl)
	if len(tl.Points) != 12 {
		t.Fatalf("%d points, want 12", len(tl.Points))
	}
	served := map[string]bool{"monitors": true} // present with monitors only
	for k := range tl.Points[0] {
		served[k] = true
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("the timeline serves %q, which docs/api.md does not list", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("docs/api.md lists %q, which the timeline does not serve", k)
		}
	}
}
