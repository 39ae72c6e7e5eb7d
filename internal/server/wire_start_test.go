package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
)

// A whole plan started on the server (what `surge run --server URL
// --agents N` sends) runs with everything it carries — data rows, file
// bodies, env values — and the server keeps none of the secrets: not the
// env values, not the rows. Followed to its end, its summary counts what
// the target saw.
func TestWholePlanStartedRemotely(t *testing.T) {
	var hits atomic.Int64
	var mu sync.Mutex
	users := map[string]int{}
	badKey := atomic.Int64{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Key") != "k-secret-123" {
			badKey.Add(1)
		}
		mu.Lock()
		users[r.URL.Query().Get("u")]++
		mu.Unlock()
	}))
	defer target.Close()

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("name\nann\nbob\ncid\ndee\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(file, []byte(`
target: `+target.URL+`
load: {rate: 50, duration: 1s}
data:
  users: {csv: users.csv, mode: unique, on_exhausted: recycle}
flows:
  - steps:
      - get: "/x?u={{users.name}}"
        headers: {X-Key: "{{env.API_KEY}}"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	plan, err := scenario.LoadFile(file, scenario.Options{Getenv: func(k string) string {
		if k == "API_KEY" {
			return "k-secret-123"
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}

	e := startServer(t, server.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rr, err := server.StartRemote(ctx, e.ts.URL, testSecret, server.RemoteStart{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	intervals := 0
	if err := rr.Follow(ctx, func(server.Interval) { intervals++ }); err != nil {
		t.Fatal(err)
	}
	sum, err := rr.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Totals.Requests != hits.Load() || hits.Load() < 40 {
		t.Errorf("summary counts %d requests, the target saw %d (want about 50)", sum.Totals.Requests, hits.Load())
	}
	if intervals == 0 {
		t.Error("Follow saw no interval")
	}
	if n := badKey.Load(); n > 0 {
		t.Errorf("%d requests came without the env value the plan carried", n)
	}
	mu.Lock()
	for _, u := range []string{"ann", "bob", "cid", "dee"} {
		if users[u] == 0 {
			t.Errorf("row %q of the data file was never used: %v", u, users)
		}
	}
	mu.Unlock()
	status, b := e.do("GET", "/api/v1/runs/"+rr.ID(), nil)
	if status != http.StatusOK {
		t.Fatalf("GET run: %d %s", status, b)
	}
	for _, secret := range []string{"k-secret-123", `"ann"`, `"dee"`} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the stored run holds %s: %s", secret, b)
		}
	}
}

// A whole plan is checked as a scenario file is, and nothing may be given
// beside it: each problem is a 400 under the field at fault.
func TestWholePlanRefused(t *testing.T) {
	e := startServer(t, server.Options{})
	valid := `{"name":"q","target":"http://127.0.0.1:9","load":{"model":"open","rate":10,"duration":"2s"},"flows":[{"name":"f","weight":1,"steps":[{"method":"GET","url":"/x"}]}]}`
	for _, c := range []struct{ name, body, field, want string }{
		{"bad rate", `{"plan":` + strings.Replace(valid, `"rate":10`, `"rate":-1`, 1) + `}`, "plan", "rate must be positive"},
		{"url beside it", `{"url":"http://127.0.0.1:9/","plan":` + valid + `}`, "url", "plan is a whole plan"},
		{"rate beside it", `{"rate":5,"plan":` + valid + `}`, "rate", "plan is a whole plan"},
		{"env missing", `{"plan":` + strings.Replace(valid, `"/x"`, `"/x?{{env.K}}"`, 1) + `}`, "plan", "`K`"},
		{"not a plan", `{"plan":[1,2]}`, "plan", "plan: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, b := e.do("POST", "/api/v1/runs", c.body)
			if status != http.StatusBadRequest || !strings.Contains(string(b), `"field":"`+c.field+`"`) || !strings.Contains(string(b), c.want) {
				t.Fatalf("status %d %s; want 400 naming field %q and saying %q", status, b, c.field, c.want)
			}
		})
	}
}
