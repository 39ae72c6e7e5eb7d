package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
)

// controls collects what a Recorder is handed.
type controls struct {
	mu  sync.Mutex
	got []server.Control
}

func (c *controls) add(x server.Control) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, x)
}

func (c *controls) all() []server.Control {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]server.Control(nil), c.got...)
}

// A recorder that announces control is handed, in the answers to its
// intervals, what PATCH and stop asked of its run: the last adjustment and
// the stop, once each. A recorder that announced none gets 409s (old CLIs).
func TestRecordedRunTakesControl(t *testing.T) {
	e := startServer(t, server.Options{})
	vus, d := 2, time.Minute
	plan, err := scenario.Quick(scenario.QuickRequest{URL: "http://127.0.0.1:1/", Method: "GET"}, scenario.Overrides{VUs: &vus, Duration: &d})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var got controls
	rec, err := server.Record(ctx, e.ts.URL, testSecret, plan, server.RecordOptions{Cores: 1, Control: got.add})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/runs/" + rec.ID()
	start := time.Now()
	seq := 0
	// interval sends one interval and waits until the server has it.
	interval := func() {
		t.Helper()
		rec.Consume(ctx, metrics.Snapshot{Seq: seq, Start: start.Add(time.Duration(seq) * time.Second), End: start.Add(time.Duration(seq+1) * time.Second)})
		want := seq
		seq++
		deadline := time.Now().Add(5 * time.Second)
		for {
			var st struct{ Timeline []struct{} }
			e.json("GET", path+"/summary", nil, http.StatusOK, &st)
			if len(st.Timeline) > want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("interval %d not recorded", want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	interval()
	// The run page offers its controls: the run takes VUs from here.
	var detail struct{ Control string }
	e.json("GET", path, nil, http.StatusOK, &detail)
	if detail.Control != "vus" {
		t.Fatalf("a recorded run that takes control says control %q, want vus", detail.Control)
	}

	for _, tc := range []struct {
		body any
		want int
		msg  string
	}{
		{map[string]any{"rate": 5}, http.StatusBadRequest, "closed model"},
		{map[string]any{"vus": -1}, http.StatusBadRequest, "vus"},
		{map[string]any{"vus": 4}, http.StatusOK, ""},
		{map[string]any{"vus": 6}, http.StatusOK, ""},
	} {
		status, body := e.do("PATCH", path, tc.body)
		if status != tc.want || !strings.Contains(string(body), tc.msg) {
			t.Errorf("PATCH %v: %d %s, want %d", tc.body, status, body, tc.want)
		}
	}
	interval()
	interval() // nothing queued: a 204, no call
	if c := got.all(); len(c) != 1 || c[0].Adjust == nil || *c[0].Adjust != 6 || c[0].Stop != "" {
		t.Fatalf("after two PATCHes: %+v, want one adjustment to 6", c)
	}

	type answer struct {
		status int
		body   string
	}
	stopped := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", e.ts.URL+path+"/stop", nil)
		req.Header.Set("Authorization", "Bearer "+testSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			stopped <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		stopped <- answer{resp.StatusCode, b.String()}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(got.all()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the stop never reached the recorder")
		}
		time.Sleep(20 * time.Millisecond)
		interval()
	}
	if c := got.all(); c[1].Stop != server.StopFromDashboard || c[1].Adjust != nil {
		t.Errorf("stop: %+v", c[1])
	}
	select {
	case a := <-stopped:
		t.Fatalf("POST stop answered %d before the run ended: %s", a.status, a.body)
	default:
	}
	rec.StoppedBy(errStoppedHere)
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	a := <-stopped
	if a.status != http.StatusOK || !strings.Contains(a.body, `"status":"stopped"`) {
		t.Errorf("POST stop: %d %s, want 200 with the stopped run", a.status, a.body)
	}
	if r := e.run(rec.ID()); r.Status != "stopped" {
		t.Errorf("after the stop: %+v", r)
	}
	if status, _ := e.do("PATCH", path, map[string]any{"vus": 1}); status != http.StatusConflict {
		t.Errorf("PATCH of the ended run: %d, want 409", status)
	}
}

var errStoppedHere = errStr(server.StopFromDashboard)

type errStr string

func (e errStr) Error() string { return string(e) }
