package cli_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/cli"
	"github.com/surgeload/surge/internal/monitor/scrape"
)

var monitorListening = regexp.MustCompile(`serving (http://\S+/metrics)`)

// startMonitor runs `surge monitor` on a free loopback port inside the
// test and returns its /metrics URL and a stop function (which also sends
// an interrupt, as Ctrl-C does).
func startMonitor(t *testing.T, env map[string]string, args ...string) (string, func() error) {
	t.Helper()
	out := &syncBuffer{}
	sig := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(context.Background(), cli.Env{
			Args:   append([]string{"monitor", "--listen", "127.0.0.1:0"}, args...),
			Stdout: out, Stderr: out, Signals: sig, Getenv: func(k string) string { return env[k] },
		})
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		sig <- os.Interrupt
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("surge monitor did not stop within 10 s of an interrupt")
		}
	}
	t.Cleanup(func() { _ = stop() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := monitorListening.FindStringSubmatch(out.String()); m != nil {
			return m[1], stop
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("surge monitor exited: %v\n%s", err, out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("surge monitor did not start:\n%s", out)
	return "", nil
}

// TestMonitorBusyChild: surge monitor watching this test process and a
// child spinning on one CPU sees the child's CPU go up by about a core and
// this process's RSS at a sane size, under node_exporter's and
// client_golang's names.
func TestMonitorBusyChild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the child's hard bound
	busy := exec.CommandContext(ctx, "sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = busy.Wait() })
	self, child := strconv.Itoa(os.Getpid()), strconv.Itoa(busy.Process.Pid)

	url, stop := startMonitor(t, nil, "--pid", self, "--pid", child)
	m, err := scrape.New(scrape.Target{Name: "self", URL: url}, scrape.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	first := m.Scrape(context.Background())
	if !first.OK() {
		t.Fatalf("scrape: %s", first.Err)
	}
	for _, name := range []string{"node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_load1",
		"node_netstat_Tcp_CurrEstab", "node_filefd_allocated", "node_filefd_maximum"} {
		if _, ok := first.Find(name); !ok {
			t.Errorf("no %s in the exposition", name)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	s := m.Scrape(context.Background())
	if !s.OK() {
		t.Fatalf("scrape: %s", s.Err)
	}
	childCPU, ok := s.Find(scrape.ProcessCPUCores, "pid", child, "name", "sh")
	if !ok {
		t.Fatalf("no CPU of the child (pid %s): %v", child, monitorSeries(s))
	}
	selfCPU, _ := s.Find(scrape.ProcessCPUCores, "pid", self, "name", monitorProcName(t))
	// One spinning shell takes a core on an idle machine; on this shared
	// 2-core VM it gets less, but far more than this mostly sleeping test.
	if childCPU.V < 0.25 || childCPU.V > 1.1 {
		t.Errorf("busy child used %.2f cores, want about 1", childCPU.V)
	}
	if childCPU.V <= selfCPU.V {
		t.Errorf("busy child %.2f cores <= this test %.2f cores", childCPU.V, selfCPU.V)
	}
	if pct, ok := s.Find(scrape.ProcessCPUPercent, "pid", child, "name", "sh"); !ok || pct.V <= 0 || pct.V > 110 {
		t.Errorf("child CPU %% of its limit = %v, %v", pct.V, ok)
	}
	rss, ok := s.Find(scrape.ProcessRSS, "pid", self, "name", monitorProcName(t))
	if !ok || rss.V < 1<<20 || rss.V > 8<<30 {
		t.Errorf("own RSS = %v, %v; want between 1 MiB and 8 GiB", rss.V, ok)
	}
	if busyCores, ok := s.Find(scrape.HostCPUBusyCores); !ok || busyCores.V < 0.8*childCPU.V {
		t.Errorf("host busy %.2f cores < the child's %.2f", busyCores.V, childCPU.V)
	}
	for _, name := range []string{"node_cpu_seconds_total", "node_network_receive_bytes_total", "node_netstat_TcpExt_ListenOverflows",
		"process_cpu_seconds_total"} {
		found := false
		for _, v := range s.Values {
			found = found || v.Name == name
		}
		if !found {
			t.Errorf("no rate of %s", name)
		}
	}
	t.Logf("busy child %.2f cores (%s), this test %.2f cores, RSS %.1f MiB", childCPU.V, child, selfCPU.V, rss.V/(1<<20))
	if err := stop(); err != nil {
		t.Errorf("stopping surge monitor: %v", err)
	}
}

// monitorProcName is this test binary's comm, the name label surge monitor gives it.
func monitorProcName(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func monitorSeries(s scrape.Sample) []string {
	var out []string
	for _, v := range s.Values {
		out = append(out, v.Key())
	}
	return out
}

func TestMonitorToken(t *testing.T) {
	const token = "monitor-token-0123456789"
	url, _ := startMonitor(t, map[string]string{"SURGE_MONITOR_TOKEN": token})
	for _, c := range []struct {
		name, token string
		ok          bool
	}{{"without", "", false}, {"wrong", token + "x", false}, {"right", token, true}} {
		m, err := scrape.New(scrape.Target{URL: url, Token: c.token}, scrape.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		s := m.Scrape(context.Background())
		m.Close()
		if s.OK() != c.ok || (!c.ok && !strings.Contains(s.Err, "401")) {
			t.Errorf("%s token: ok %v (%s), want ok %v", c.name, s.OK(), s.Err, c.ok)
		}
	}
}

func TestMonitorBadUsage(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"open address without a token", []string{"--listen", "0.0.0.0:0"}, nil, "refusing to listen on 0.0.0.0:0 without a token"},
		{"short token", []string{"--listen", "0.0.0.0:0", "--token", "abc"}, nil, "a token of 3 characters"},
		{"short token from env", []string{"--listen", "[::]:0"}, map[string]string{"SURGE_MONITOR_TOKEN": "abc"}, "a token of 3 characters"},
		{"bad listen", []string{"--listen", "nonsense"}, nil, `--listen "nonsense"`},
		{"bad cgroup", []string{"--cgroup", "/nonexistent/cg"}, nil, `--cgroup "/nonexistent/cg": not a cgroup v2 directory`},
		{"bad pid", []string{"--pid", "x"}, nil, `invalid argument "x" for "--pid"`},
		{"arguments", []string{"extra"}, nil, "unknown command"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := &syncBuffer{}
			err := cli.Main(context.Background(), cli.Env{
				Args:   append([]string{"monitor"}, c.args...),
				Stdout: out, Stderr: out, Getenv: func(k string) string { return c.env[k] },
			})
			if code := cli.ExitCode(err); code != cli.ExitUsage {
				t.Errorf("exit code %d, want 2 (err %v)", code, err)
			}
			if !strings.Contains(out.String(), c.want) {
				t.Errorf("output %q, want it to say %q", out, c.want)
			}
		})
	}
}
