package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/cli"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// syncBuffer is a bytes.Buffer that a running command and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listening = regexp.MustCompile(`dashboard and API on (http://\S+)/ `)

// runningServer is `surge server` running inside the test.
type runningServer struct {
	url  string
	out  *syncBuffer
	stop func() error
}

// startSurgeServer runs `surge server` on a free loopback port with the
// given extra arguments and waits until it listens.
func startSurgeServer(t *testing.T, env map[string]string, args ...string) *runningServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(ctx, cli.Env{
			Args:   append([]string{"server", "--listen", "127.0.0.1:0"}, args...),
			Stdout: out, Stderr: out, Getenv: func(k string) string { return env[k] },
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			stopped := false
			rs := &runningServer{url: m[1], out: out, stop: func() error {
				if stopped {
					return nil
				}
				stopped = true
				cancel()
				return <-done
			}}
			t.Cleanup(func() { _ = rs.stop() })
			return rs
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("surge server ended: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("surge server did not start:\n%s", out.String())
		}
	}
}

func get(t *testing.T, url, secret string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestServerRefusesBadSetups(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"public address without a secret", []string{"server", "--listen", "0.0.0.0:0"}, "--secret"},
		{"all interfaces without a secret", []string{"server", "--listen", ":8089"}, "--secret"},
		{"short secret on a public address", []string{"server", "--listen", "0.0.0.0:0", "--secret", "hunter2hunter2"}, "at least 16"},
		{"bad address", []string{"server", "--listen", "nowhere"}, "--listen"},
		{"missing scenarios folder", []string{"server", "--scenarios", "/does/not/exist"}, "--scenarios"},
		{"--secret without --server", []string{"run", "-u", "http://127.0.0.1:1/", "--rate", "1", "--secret", "s"}, "--server"},
		{"bad --server", []string{"run", "-u", "http://127.0.0.1:1/", "--rate", "1", "--server", "localhost:8089"}, "--server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := tc.args
			if args[0] == "server" {
				args = append(args, "--data", t.TempDir())
			}
			err := cli.Main(context.Background(), cli.Env{Args: args, Stdout: &out, Stderr: &out})
			if cli.ExitCode(err) != cli.ExitUsage {
				t.Fatalf("exit code %d (%v), want 2", cli.ExitCode(err), err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("message does not mention %s:\n%s", tc.want, out.String())
			}
		})
	}
}

// Without --secret the first start generates one, prints it once and keeps
// it; the next start uses the kept one without printing it.
func TestServerSecretIsGeneratedOnce(t *testing.T) {
	data := t.TempDir()
	s := startSurgeServer(t, nil, "--data", data)
	b, err := os.ReadFile(filepath.Join(data, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(string(b))
	if len(secret) < 40 || !strings.Contains(s.out.String(), secret) {
		t.Fatalf("secret %q not printed:\n%s", secret, s.out.String())
	}
	if fi, _ := os.Stat(filepath.Join(data, "secret")); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	if got := get(t, s.url+"/api/v1/health", "", nil); got != 200 {
		t.Errorf("health: %d", got)
	}
	if got := get(t, s.url+"/api/v1/runs", "", nil); got != 401 {
		t.Errorf("runs without the secret: %d, want 401", got)
	}
	if got := get(t, s.url+"/api/v1/runs", secret, nil); got != 200 {
		t.Errorf("runs with the secret: %d, want 200", got)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stopping: %v", err)
	}

	s = startSurgeServer(t, nil, "--data", data)
	if strings.Contains(s.out.String(), secret) {
		t.Errorf("second start printed the secret again:\n%s", s.out.String())
	}
	if got := get(t, s.url+"/api/v1/runs", secret, nil); got != 200 {
		t.Errorf("runs with the kept secret after a restart: %d", got)
	}
	// SURGE_SECRET takes precedence over the kept one.
	_ = s.stop()
	s = startSurgeServer(t, map[string]string{"SURGE_SECRET": "from-env"}, "--data", data)
	if get(t, s.url+"/api/v1/runs", "from-env", nil) != 200 || get(t, s.url+"/api/v1/runs", secret, nil) != 401 {
		t.Errorf("SURGE_SECRET not used")
	}
}

// `surge run --server URL --secret S` records the run in the server's history.
func TestRunRecordsInServer(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := startSurgeServer(t, nil, "--data", t.TempDir(), "--secret", "s3cret")
	var out bytes.Buffer
	local := filepath.Join(t.TempDir(), "summary.json")
	err := cli.Main(context.Background(), cli.Env{
		Args:   []string{"run", "-q", "-u", tb.URL() + "/api/items", "--rate", "20", "--duration", "1500ms", "--server", s.url, "--secret", "s3cret", "--out", "json=" + local},
		Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "recording this run at "+s.url+"/#/runs/") {
		t.Errorf("no recording notice:\n%s", out.String())
	}
	var list struct {
		Runs []struct{ ID, Status, Source string }
	}
	get(t, s.url+"/api/v1/runs", "s3cret", &list)
	if len(list.Runs) != 1 || list.Runs[0].Status != "finished" || list.Runs[0].Source != "cli" {
		t.Fatalf("runs: %+v", list.Runs)
	}
	var sum report.Summary
	get(t, s.url+"/api/v1/runs/"+list.Runs[0].ID+"/summary", "s3cret", &sum)
	if sum.Totals.Requests == 0 || sum.Totals.Requests != tb.Count() {
		t.Errorf("recorded %d requests, the target received %d", sum.Totals.Requests, tb.Count())
	}
	var mine report.Summary
	if b, err := os.ReadFile(local); err != nil || json.Unmarshal(b, &mine) != nil {
		t.Fatalf("local summary: %v", err)
	}
	if mine.Run.ID != list.Runs[0].ID || mine.Totals.Requests != sum.Totals.Requests {
		t.Errorf("local summary: run %s with %d requests; server: run %s with %d", mine.Run.ID, mine.Totals.Requests, list.Runs[0].ID, sum.Totals.Requests)
	}

	// A wrong secret fails before any load is sent.
	before := tb.Count()
	out.Reset()
	err = cli.Main(context.Background(), cli.Env{
		Args:   []string{"run", "-q", "-u", tb.URL() + "/api/items", "--rate", "20", "--duration", "1s", "--server", s.url, "--secret", "wrong"},
		Stdout: &out, Stderr: &out,
	})
	if err == nil || !strings.Contains(out.String(), "401") || tb.Count() != before {
		t.Errorf("wrong secret: err %v, %d requests sent:\n%s", err, tb.Count()-before, out.String())
	}
}

// TestServerProcess is not a test: TestCrashedServerRunIsInterrupted runs
// the test binary again with SURGE_TEST_SERVER_PROCESS=1 to get a `surge
// server` it can kill.
func TestServerProcess(t *testing.T) {
	if os.Getenv("SURGE_TEST_SERVER_PROCESS") != "1" {
		t.Skip("helper process for TestCrashedServerRunIsInterrupted")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	err := cli.Main(context.Background(), cli.Env{
		Args:   strings.Fields(os.Getenv("SURGE_TEST_SERVER_ARGS")),
		Stdout: os.Stdout, Stderr: os.Stderr, Signals: sig,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A server killed in the middle of a run loses at most the current
// interval: restarted on the same data, it lists the run as interrupted
// with the points and summary it had.
func TestCrashedServerRunIsInterrupted(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	data := t.TempDir()
	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServerProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SURGE_TEST_SERVER_PROCESS=1",
			"SURGE_TEST_SERVER_ARGS=server --listen 127.0.0.1:0 --secret s3cret --data "+data)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if m := listening.FindStringSubmatch(out.String()); m != nil {
				return cmd, m[1]
			}
		}
		t.Fatalf("server process did not start:\n%s", out.String())
		return nil, ""
	}
	cmd, url := start()
	req, _ := http.NewRequest("POST", url+"/api/v1/runs", strings.NewReader(`{"url":"`+tb.URL()+`/api/items","rate":20,"duration":"1m"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	var tl struct{ Points []report.Point }
	for deadline := time.Now().Add(10 * time.Second); len(tl.Points) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no two intervals recorded")
		}
		get(t, url+"/api/v1/runs/"+created.ID+"/timeline", "s3cret", &tl)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	_ = cmd.Wait()

	_, url = start()
	var run struct{ Status, Ended, Error string }
	get(t, url+"/api/v1/runs/"+created.ID, "s3cret", &run)
	var sum report.Summary
	get(t, url+"/api/v1/runs/"+created.ID+"/summary", "s3cret", &sum)
	if run.Status != "interrupted" || run.Ended == "" || run.Error == "" {
		t.Errorf("after the crash: %+v", run)
	}
	if len(sum.Timeline) < 2 || sum.Totals.Requests < 20 || sum.Run.Status != "interrupted" {
		t.Errorf("interrupted run kept %d points, %d requests, status %q", len(sum.Timeline), sum.Totals.Requests, sum.Run.Status)
	}
}
