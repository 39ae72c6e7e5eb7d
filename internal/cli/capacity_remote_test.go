package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/cli"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

const remoteSecret = "capacity-remote-secret-0123"

// startQuickServer is a surge server in this process whose runs have
// 250 ms intervals, so that a search of 3 s steps settles 1 s and judges
// 8 intervals, and its warm-up is 750 ms.
func startQuickServer(t *testing.T) (string, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Store: st, Secret: remoteSecret, Interval: 250 * time.Millisecond, NoUI: true})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		ts.Close()
		st.Close()
	})
	return ts.URL, st
}

// `surge capacity --server URL` runs the search on the server, prints the
// same step lines and result as a local search, writes its --out files from
// the server's result, and exits 0 when a rate was found.
func TestCapacityOnAServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search of ~8s")
	}
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	url, _ := startQuickServer(t)
	dir := t.TempDir()
	jsonOut, htmlOut := filepath.Join(dir, "cap.json"), filepath.Join(dir, "cap.html")
	stdout, stderr, code := capacityMain(t, "-u", tb.URL()+"/work", "--slo", "p99<500ms", "--slo", "errors<1%", "--start", "80", "--max", "80",
		"--step", "3s", "--server", url, "--secret", remoteSecret, "--out", "json="+jsonOut, "--out", "html="+htmlOut)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"capacity search of " + tb.URL() + "/work", "on the server's process of " + url, "/#/runs/",
		"\n  grow        80.0/s → ", "\n  confirm     80.0/s → "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "max rate:   80.0/s") || !strings.Contains(stdout, "bottleneck: unknown") {
		t.Errorf("stdout:\n%s", stdout)
	}
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res["schema"] != capacity.Schema || res["max_rate"] != 80.0 || res["confirmed"] != true || len(res["steps"].([]any)) < 2 {
		t.Errorf("--out json: %s", b)
	}
	if _, ok := res["status"]; ok {
		t.Errorf("--out json carries the server's status field: %s", b)
	}
	if page, err := os.ReadFile(htmlOut); err != nil || !bytes.Contains(page, []byte("surge.capacity/v1")) {
		t.Errorf("--out html: %v, %d bytes", err, len(page))
	}
	// The server's history has the search; its result is the file's.
	var list struct {
		Runs []struct{ ID, Kind, Status string }
	}
	getJSON(t, url+"/api/v1/runs", &list)
	if len(list.Runs) != 1 || list.Runs[0].Kind != "capacity" || list.Runs[0].Status != "finished" {
		t.Fatalf("the server's runs: %+v", list.Runs)
	}
	var served capacity.Result
	getJSON(t, url+"/api/v1/runs/"+list.Runs[0].ID+"/summary", &served)
	if served.MaxRate != 80 || len(served.Steps) != len(res["steps"].([]any)) {
		t.Errorf("the server's result: max %v, %d steps", served.MaxRate, len(served.Steps))
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+remoteSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// Against `surge server` itself (1 s intervals): a search that misses at
// its start rate exits 3, as a local one does.
func TestCapacityOnAServerStartRateMisses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search step of a few seconds")
	}
	tb := testutil.StartTarget(t, testbed.Options{Workers: 1, WorkTime: 100 * time.Millisecond})
	s := startSurgeServer(t, nil, "--data", t.TempDir(), "--secret", remoteSecret)
	out := filepath.Join(t.TempDir(), "cap.json")
	stdout, stderr, code := capacityMain(t, "-u", tb.URL()+"/work", "--slo", "p99<300ms", "--start", "40", "--step", "3s",
		"--server", s.url, "--secret", remoteSecret, "--out", "json="+out, "-q")
	if code != cli.ExitThresholds {
		t.Fatalf("exit %d; want 3\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "the start rate misses the objectives") || strings.Contains(stderr, "grow ") {
		t.Errorf("stdout:\n%s\nstderr (quiet):\n%s", stdout, stderr)
	}
	var res capacity.Result
	b, err := os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil || !res.StartMissed || len(res.Steps) != 1 {
		t.Errorf("--out json (%v): %s", err, b)
	}
}

// An interrupt stops the search on the server: the result covers the steps
// so far, and the exit code is 130.
func TestCapacityOnAServerInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search step of a few seconds")
	}
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	url, st := startQuickServer(t)
	sig := make(chan os.Signal, 1)
	var out bytes.Buffer
	errOut := &lockedWriter{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		deadline := time.After(30 * time.Second)
		for !strings.Contains(errOut.String(), "grow ") {
			select {
			case <-deadline:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		sig <- os.Interrupt
	}()
	err := cli.Main(ctx, cli.Env{Args: []string{"capacity", "-u", tb.URL() + "/work", "--slo", "p99<1s", "--step", "3s", "--server", url, "--secret", remoteSecret},
		Stdout: &out, Stderr: errOut, Getenv: func(string) string { return "" }, Signals: sig})
	if code := cli.ExitCode(err); code != cli.ExitInterrupted {
		t.Fatalf("exit %d (%v); want 130\nstdout:\n%s\nstderr:\n%s", code, err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "grow        10.0/s") || !strings.Contains(errOut.String(), "stopping the search on the server") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	runs, err := st.List(context.Background(), 0)
	if err != nil || len(runs) != 1 || runs[0].Status != store.Stopped || runs[0].Kind != store.KindCapacity {
		t.Errorf("the server's runs: %+v (%v)", runs, err)
	}
}

func TestCapacityServerFlagsRefused(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	url, _ := startQuickServer(t)
	u := tb.URL() + "/hello"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"agents without a server", []string{"--agents", "2"}, cli.ExitUsage, "--agents is for a search on a surge server: give --server URL too"},
		{"a secret without a server", []string{"--secret", "x"}, cli.ExitUsage, "--secret is for a search on a surge server"},
		{"zero agents", []string{"--server", url, "--agents", "0"}, cli.ExitUsage, "--agents 0: want 1 to 1000 agents"},
		{"labels without agents", []string{"--server", url, "--agent-label", "zone=eu"}, cli.ExitUsage, "give --agents N too"},
		{"a bad label", []string{"--server", url, "--agents", "1", "--agent-label", "zone"}, cli.ExitUsage, `--agent-label "zone": want KEY=VALUE`},
		{"a bad loss policy", []string{"--server", url, "--agents", "1", "--on-agent-loss", "never"}, cli.ExitUsage, "--on-agent-loss"},
		{"a bad server URL", []string{"--server", "127.0.0.1:8089"}, cli.ExitUsage, "want the server's URL"},
		{"a wrong secret", []string{"--server", url, "--secret", "wrong"}, cli.ExitFailure, "401"},
		{"no agents connected", []string{"--server", url, "--secret", remoteSecret, "--agents", "1"}, cli.ExitFailure, "too few agents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := capacityMain(t, append([]string{"-u", u, "--slo", "p99<1s"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, stderr, tc.code, tc.want)
			}
		})
	}
	if n := tb.Count(); n != 0 {
		t.Errorf("refused searches sent %d requests", n)
	}
}

// `surge capacity --server URL --agents 2` against `surge server` and two
// `surge agent`s: the search's load comes from the agents, in exact
// shares, and the CLI reports it as a local search.
func TestCapacityOnTwoAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a search of ~10s on two agents")
	}
	tb := testutil.StartTarget(t, testbed.Options{Workers: 64, WorkTime: 20 * time.Millisecond})
	const token = "capacity-agent-token-0123456"
	s := startSurgeServer(t, nil, "--data", t.TempDir(), "--secret", remoteSecret, "--agent-token", token)
	for _, name := range []string{"lg-1", "lg-2"} {
		startAgent(t, "--server", s.url, "--token", token, "--name", name, "--label", "zone=eu")
		waitAgentListed(t, s.url, remoteSecret, name, http.DefaultClient)
	}
	out := filepath.Join(t.TempDir(), "cap.json")
	stdout, stderr, code := capacityMain(t, "-u", tb.URL()+"/work", "--slo", "p99<500ms", "--start", "20", "--max", "20", "--step", "3s",
		"--server", s.url, "--secret", remoteSecret, "--agents", "2", "--agent-label", "zone=eu", "--out", "json="+out)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "on 2 agents of "+s.url) || !strings.Contains(stdout, "max rate:   20.0/s") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	var list struct {
		Runs []struct{ ID, Kind, Status string }
	}
	getJSON(t, s.url+"/api/v1/runs", &list)
	if len(list.Runs) != 1 || list.Runs[0].Kind != "capacity" || list.Runs[0].Status != "finished" {
		t.Fatalf("the server's runs: %+v", list.Runs)
	}
	var load struct {
		Totals struct{ Requests int64 } `json:"totals"`
		Agents []struct {
			Name     string `json:"name"`
			Requests int64  `json:"requests"`
		} `json:"agents"`
	}
	getJSON(t, s.url+"/api/v1/runs/"+list.Runs[0].ID+"/summary?of=load", &load)
	if n := tb.CountPath("/work"); len(load.Agents) != 2 || load.Agents[0].Requests == 0 || load.Agents[1].Requests == 0 ||
		load.Agents[0].Requests+load.Agents[1].Requests != n || load.Totals.Requests != n {
		t.Errorf("agents %+v, %d requests in all; the target saw %d", load.Agents, load.Totals.Requests, n)
	}
}
