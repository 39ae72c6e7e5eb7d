//go:build agents

// Distributed runs against real processes: one `surge server` and 2 or 3
// `surge agent` processes on 127.0.0.1, built from this tree in TestMain,
// running against a testbed in the test. Run with
//
//	go test -tags agents -count=1 ./internal/agent/remote/
//
// Every process is killed when its test ends; every run is bounded.
package remote_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The version the test binary is built with, and another one.
const (
	binVersion   = "v0.0.0-agents-test"
	otherVersion = "v0.0.0-other"
)

var (
	binDir string // holds the surge binaries TestMain built
	bin    string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "surge-agents-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir, bin = dir, filepath.Join(dir, "surge")
	if err := build(bin, binVersion); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(out, version string) error {
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X github.com/surgeload/surge/internal/cli.Version="+version, "github.com/surgeload/surge/cmd/surge")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building surge %s: %v\n%s", version, err, b)
	}
	return nil
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	exited         chan struct{} // closed when the process has exited
	err            error         // Wait's; read after exited
}

// start starts a surge process, killed when the test ends.
func start(t *testing.T, binary string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s %s\nstdout:\n%s\nstderr:\n%s", filepath.Base(binary), strings.Join(args, " "), p.stdout, p.stderr)
		}
	})
	return p
}

// waitFor polls cond every 20 ms until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for !cond() {
		if time.Since(began) > d {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(began)
}

const (
	secret     = "test-secret-of-the-dashboard"
	agentToken = "test-agent-token-0123456789"
)

type serverProc struct {
	*proc
	url string
}

func startServer(t *testing.T) *serverProc {
	t.Helper()
	return startServerOn(t, "127.0.0.1:0", t.TempDir())
}

func startServerOn(t *testing.T, listen, data string) *serverProc {
	t.Helper()
	p := start(t, bin, "server", "--listen", listen, "--data", data, "--secret", secret, "--agent-token", agentToken)
	re := regexp.MustCompile(`dashboard and API on (http://127\.0\.0\.1:\d+)/`)
	var url string
	waitFor(t, 20*time.Second, "the server did not say where it listens", func() bool {
		m := re.FindStringSubmatch(p.stdout.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	return &serverProc{proc: p, url: url}
}

func (s *serverProc) startAgent(t *testing.T, name string) *proc {
	t.Helper()
	return start(t, bin, "agent", "--server", s.url, "--token", agentToken, "--name", name)
}

func (s *serverProc) api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type agentInfo struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Run   string `json:"run"`
	Share string `json:"share"`
}

func (s *serverProc) agents(t *testing.T) map[string]agentInfo {
	t.Helper()
	var list struct {
		Agents []agentInfo `json:"agents"`
	}
	if code := s.api(t, "GET", "/api/v1/agents", nil, &list); code != http.StatusOK {
		t.Fatalf("GET /api/v1/agents: %d", code)
	}
	out := map[string]agentInfo{}
	for _, a := range list.Agents {
		out[a.Name] = a
	}
	return out
}

func (s *serverProc) waitIdle(t *testing.T, names ...string) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("agents %v are not all idle: %v", names, s.agents(t)), func() bool {
		as := s.agents(t)
		for _, n := range names {
			if as[n].State != "idle" || as[n].Run != "" {
				return false
			}
		}
		return true
	})
}

// startRun posts a whole plan to run on n agents and returns its id.
func (s *serverProc) startRun(t *testing.T, p scenario.Plan, n int, extra map[string]any) string {
	t.Helper()
	w, err := scenario.ToWire(p)
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"plan": w.Plan, "env": w.Env, "agents": n}
	for k, v := range extra {
		body[k] = v
	}
	var created struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	if code := s.api(t, "POST", "/api/v1/runs", body, &created); code != http.StatusCreated {
		t.Fatalf("POST /api/v1/runs: %d %s", code, created.Error)
	}
	return created.ID
}

// waitEnd waits for run id to end and returns its status.
func (s *serverProc) waitEnd(t *testing.T, id string, d time.Duration) string {
	t.Helper()
	var st string
	waitFor(t, d, "run "+id+" did not end", func() bool {
		var run struct {
			Status string `json:"status"`
			Run    struct {
				Status string `json:"status"`
			} `json:"run"`
		}
		s.api(t, "GET", "/api/v1/runs/"+id, nil, &run)
		st = run.Status
		if st == "" {
			st = run.Run.Status
		}
		return st != "" && st != "running"
	})
	return st
}

type summary struct {
	Totals struct {
		Requests int64   `json:"requests"`
		Errors   int64   `json:"errors"`
		Dropped  int64   `json:"dropped_iterations"`
		RPS      float64 `json:"rps"`
	} `json:"totals"`
	Agents []struct {
		Name     string `json:"name"`
		Requests int64  `json:"requests"`
		Lost     bool   `json:"lost"`
	} `json:"agents"`
}

// loginPlan logs in as one user per iteration, each user a unique row,
// with the password from {{env.PASS}}: a login counts only when the row
// and the env value both reached the agent.
func loginPlan(t *testing.T, url string, rows, rate int, d time.Duration) scenario.Plan {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "user-%05d\n", i)
	}
	yaml := fmt.Sprintf(`name: logins
target: %s
load:
  model: open
  rate: %d
  duration: %s
data:
  users: {csv: users.csv, mode: unique}
flows:
  - name: login
    steps:
      - post: /login
        json: {user: "{{users.name}}", password: "{{env.PASS}}"}
        check: {status: 200}
`, url, rate, d)
	for name, body := range map[string]string{"users.csv": csv.String(), "s.yaml": yaml} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p, err := scenario.LoadFile(filepath.Join(dir, "s.yaml"), scenario.Options{Getenv: func(k string) string {
		if k == "PASS" {
			return testbed.Password
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A run on 2 and on 3 agent processes: the target sees exactly what the
// summary counts, the rate holds, each agent runs its share, and no data
// row is used twice.
func TestRunOnAgentProcesses(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(strconv.Itoa(n)+" agents", func(t *testing.T) {
			const rate, secs = 150, 4
			target := testutil.StartTarget(t, testbed.Options{Latency: 2 * time.Millisecond})
			srv := startServer(t)
			var names []string
			for i := range n {
				names = append(names, fmt.Sprintf("lg-%d", i+1))
				srv.startAgent(t, names[i])
			}
			srv.waitIdle(t, names...)
			rows := 2 * rate * secs
			id := srv.startRun(t, loginPlan(t, target.URL(), rows, rate, secs*time.Second), n, nil)
			waitFor(t, 5*time.Second, "the agents are not busy with the run", func() bool {
				as := srv.agents(t)
				for i, name := range names {
					if as[name].Run != id || as[name].Share != fmt.Sprintf("%d/%d", i+1, n) {
						return false
					}
				}
				return true
			})
			if st := srv.waitEnd(t, id, 30*time.Second); st != "finished" {
				t.Fatalf("run ended %s, want finished", st)
			}
			var sum summary
			srv.api(t, "GET", "/api/v1/runs/"+id+"/summary", nil, &sum)

			want := int64(rate * secs)
			if got := target.Count(); sum.Totals.Requests != got {
				t.Errorf("the summary counts %d requests, the target saw %d", sum.Totals.Requests, got)
			}
			if got := sum.Totals.Requests; got < want*99/100 || got > want*101/100 {
				t.Errorf("%d requests in %d s at %d/s: the rate did not hold within 1 %% (want %d)", got, secs, rate, want)
			}
			if r := sum.Totals.RPS; r < rate*0.99 || r > rate*1.01 {
				t.Errorf("%.2f requests/s, want %d within 1 %%", r, rate)
			}
			if sum.Totals.Errors != 0 || sum.Totals.Dropped != 0 {
				t.Errorf("%d errors, %d dropped iterations: want none", sum.Totals.Errors, sum.Totals.Dropped)
			}
			// Row r goes to agent r mod n (controller.Split deals rows
			// out): a user's row says which agent logged in as it.
			logins := target.Logins()
			per := make([]int64, n)
			var total int64
			for user, count := range logins {
				if count != 1 {
					t.Errorf("%s logged in %d times: a unique row was used more than once", user, count)
				}
				r, err := strconv.Atoi(strings.TrimPrefix(user, "user-"))
				if err != nil {
					t.Fatalf("login as %q", user)
				}
				per[r%n] += count
				total += count
			}
			if total != sum.Totals.Requests {
				t.Errorf("%d successful logins of %d requests: the rows or the env value did not travel", total, sum.Totals.Requests)
			}
			for k, c := range per {
				share := float64(total) / float64(n)
				if dev := float64(c)/share - 1; dev < -0.05 || dev > 0.05 {
					t.Errorf("agent %d of %d sent %d requests, %+.1f %% off its share of %.0f", k+1, n, c, 100*dev, share)
				}
			}
			t.Logf("%d agents: %d requests (target %d, want %d) at %.2f/s, per agent %v", n, sum.Totals.Requests, target.Count(), want, sum.Totals.RPS, per)
			srv.waitIdle(t, names...)
		})
	}
}

// An agent killed (SIGKILL) or hung (SIGSTOP) mid-run is lost within 3
// intervals; a hung one that wakes up is told its run is over and comes
// back idle.
func TestAgentLostMidRun(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP} {
		t.Run(sig.String(), func(t *testing.T) {
			target := testutil.StartTarget(t, testbed.Options{})
			srv := startServer(t)
			a1 := srv.startAgent(t, "lg-1")
			a2 := srv.startAgent(t, "lg-2")
			srv.waitIdle(t, "lg-1", "lg-2")
			id := srv.startRun(t, loginPlan(t, target.URL(), 4000, 100, 8*time.Second), 2, nil)
			waitFor(t, 5*time.Second, "no request reached the target", func() bool { return target.Count() > 100 })
			if err := a2.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			took := waitFor(t, 10*time.Second, "the agent was not marked lost", func() bool { return srv.agents(t)["lg-2"].State == "lost" })
			t.Logf("%v: lost after %v", sig, took)
			limit := 500 * time.Millisecond // a broken stream: at once
			if sig == syscall.SIGSTOP {
				limit = 3*time.Second + time.Second // 3 heartbeats of 1 s, checked every 500 ms
				if took < 2*time.Second {
					t.Errorf("a hung agent was lost after %v: before 3 heartbeats were missed", took)
				}
			}
			if took > limit {
				t.Errorf("lost after %v, want within %v", took, limit)
			}
			if a := srv.agents(t)["lg-1"]; a.Run != id {
				t.Errorf("the surviving agent is %+v, want it still in run %s", a, id)
			}
			if sig == syscall.SIGSTOP {
				if err := a2.cmd.Process.Signal(syscall.SIGCONT); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 10*time.Second, "the woken agent was not told its run is over", func() bool {
					return strings.Contains(a2.stderr.String(), "run "+id+" is over for this agent")
				})
				waitFor(t, 10*time.Second, "the woken agent did not come back idle", func() bool {
					a := srv.agents(t)["lg-2"]
					return a.State == "idle" && a.Run == ""
				})
			}
			st := srv.waitEnd(t, id, 30*time.Second)
			var sum summary
			srv.api(t, "GET", "/api/v1/runs/"+id+"/summary", nil, &sum)
			// The lost agent's requests after its last snapshot are not in
			// the run (they never reached the server); the target saw them.
			t.Logf("%v: run %s; summary %d requests (due 800), target %d; agents %+v", sig, st, sum.Totals.Requests, target.Count(), sum.Agents)
			_ = a1
		})
	}
}

func TestAgentRefused(t *testing.T) {
	srv := startServer(t)
	other := filepath.Join(binDir, "surge-other")
	if err := build(other, otherVersion); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		binary string
		token  string
		want   []string
	}{
		{"wrong token", bin, "not-the-token", []string{"wrong agent token"}},
		{"other version", other, agentToken, []string{"agent version " + otherVersion, "server version " + binVersion}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := start(t, c.binary, "agent", "--server", srv.url, "--token", c.token, "--name", "refused")
			select {
			case <-p.exited:
			case <-time.After(15 * time.Second):
				t.Fatal("the refused agent still runs after 15 s")
			}
			if code := p.cmd.ProcessState.ExitCode(); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			for _, w := range c.want {
				if !strings.Contains(p.stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, p.stderr)
				}
			}
		})
	}
	if n := len(srv.agents(t)); n != 0 {
		t.Errorf("%d agents listed after refusals", n)
	}
}

// Too few agents: a 409 that says how many there are.
func TestTooFewAgents(t *testing.T) {
	target := testutil.StartTarget(t, testbed.Options{})
	srv := startServer(t)
	srv.startAgent(t, "lg-1")
	srv.waitIdle(t, "lg-1")
	w, err := scenario.ToWire(loginPlan(t, target.URL(), 10, 10, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	code := srv.api(t, "POST", "/api/v1/runs", map[string]any{"plan": w.Plan, "env": w.Env, "agents": 2}, &e)
	if code != http.StatusConflict || e.Field != "agents" || !strings.Contains(e.Error, "2 agents asked for, but 1 agent is idle (of 1 connected)") {
		t.Errorf("POST with agents 2 of 1: %d %+v", code, e)
	}
	if target.Count() != 0 {
		t.Errorf("a refused run sent %d requests", target.Count())
	}
}

// An agent outlives its server: it reconnects, with backoff, to the next
// one on the same address.
func TestAgentReconnectsToARestartedServer(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t)
	agent := srv.startAgent(t, "lg-1")
	srv.waitIdle(t, "lg-1")
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit within 10 s of SIGTERM with an agent connected")
	}
	waitFor(t, 10*time.Second, "the agent did not notice the server went away", func() bool {
		return strings.Contains(agent.stderr.String(), "not connected to the server; retrying")
	})
	again := startServerOn(t, strings.TrimPrefix(srv.url, "http://"), data)
	again.waitIdle(t, "lg-1")
	select {
	case <-agent.exited:
		t.Fatalf("the agent exited: %v", agent.err)
	default:
	}
}
