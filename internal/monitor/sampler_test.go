package monitor_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/surgeload/surge/internal/monitor"
	"github.com/surgeload/surge/internal/promtext"
	"github.com/surgeload/surge/internal/testutil"
)

// expose samples s once and parses the text as a scraper would.
func expose(t *testing.T, s *monitor.Sampler) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := s.Families()
	if err != nil {
		t.Fatal(err)
	}
	text, err := promtext.Encode(fams)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	out, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt cannot parse the exposition: %v\n%s", err, text)
	}
	return out
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// find returns the value of name's series whose labels include want.
func find(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		ls := labels(m)
		for i := 0; i+1 < len(want); i += 2 {
			if ls[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		}
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

func newSampler(t *testing.T, o monitor.Options) *monitor.Sampler {
	t.Helper()
	s, err := monitor.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHostAndSelf(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	fams := expose(t, newSampler(t, monitor.Options{PIDs: []int{os.Getpid()}}))
	for _, name := range []string{
		"node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "node_load1",
		"node_network_receive_bytes_total", "node_network_transmit_bytes_total", "node_netstat_Tcp_CurrEstab",
		"node_netstat_TcpExt_ListenOverflows", "node_netstat_TcpExt_ListenDrops", "node_netstat_Tcp_RetransSegs",
		"node_filefd_allocated", "node_filefd_maximum",
		"process_cpu_seconds_total", "process_resident_memory_bytes", "process_threads", "process_open_fds",
		"surge_process_cpu_limit_cores",
	} {
		if fams[name] == nil || len(fams[name].GetMetric()) == 0 {
			t.Errorf("no %s", name)
		}
	}
	// The host's CPUs as /proc/stat lists them: runtime.NumCPU counts the
	// ones this process may run on (taskset, a container's cpuset).
	if n, cpus := len(fams["node_cpu_seconds_total"].GetMetric()), testutil.HostCPUs(t); n != 8*cpus {
		t.Errorf("%d node_cpu_seconds_total series, want 8 modes × %d CPUs", n, cpus)
	}
	if v, _ := find(fams, "node_cpu_seconds_total", "cpu", "0", "mode", "idle"); v <= 0 {
		t.Errorf("cpu 0 idle = %v", v)
	}
	total, _ := find(fams, "node_memory_MemTotal_bytes")
	avail, _ := find(fams, "node_memory_MemAvailable_bytes")
	if total < 64<<20 || avail <= 0 || avail > total {
		t.Errorf("memory: total %v, available %v", total, avail)
	}
	if rss, _ := find(fams, "process_resident_memory_bytes", "pid", self); rss < 1<<20 || rss > 8<<30 {
		t.Errorf("own RSS = %v bytes", rss)
	}
	if th, _ := find(fams, "process_threads", "pid", self); th < 2 {
		t.Errorf("own threads = %v; a Go program has several", th)
	}
	if fds, _ := find(fams, "process_open_fds", "pid", self); fds < 3 {
		t.Errorf("own open fds = %v", fds)
	}
	if lim, _ := find(fams, "surge_process_cpu_limit_cores", "pid", self); lim < 0.01 || lim > float64(runtime.NumCPU()) {
		t.Errorf("own CPU limit = %v cores, want at most %d", lim, runtime.NumCPU())
	}
	if n, _ := find(fams, "surge_monitor_watched", "selector", "pid:"+self); n != 1 {
		t.Errorf("watched pid:%s = %v", self, n)
	}
	if m := fams["process_cpu_seconds_total"].GetMetric()[0]; labels(m)["name"] == "" || labels(m)["pid"] != self {
		t.Errorf("process labels = %v", labels(m))
	}
}

// startChild starts a program under a bounded context, ended by t.Cleanup.
func startChild(t *testing.T, path string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, path, args...)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return cmd
}

// TestProcessByName: --process finds every process of that name, by its
// 15-byte comm or its executable, and follows them as they come and go.
func TestProcessByName(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	long := "surgetestworker-longname" // longer than comm's 15 bytes
	bin := filepath.Join(t.TempDir(), long)
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	a, c := startChild(t, bin, "30"), startChild(t, bin, "30")
	s := newSampler(t, monitor.Options{Processes: []string{long, "no-such-process-here"}})
	deadline := time.Now().Add(5 * time.Second)
	var fams map[string]*dto.MetricFamily
	for time.Now().Before(deadline) { // exec may not have happened yet
		if fams = expose(t, s); func() bool { n, _ := find(fams, "surge_monitor_watched", "selector", "process:"+long); return n == 2 }() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, cmd := range []*exec.Cmd{a, c} {
		pid := strconv.Itoa(cmd.Process.Pid)
		if _, ok := find(fams, "process_cpu_seconds_total", "pid", pid, "name", long); !ok {
			t.Errorf("child %s not watched: %v", pid, fams["surge_monitor_watched"])
		}
	}
	if n, ok := find(fams, "surge_monitor_watched", "selector", "process:no-such-process-here"); !ok || n != 0 {
		t.Errorf("an unmatched name: watched = %v, %v; want 0", n, ok)
	}
	_ = a.Process.Kill()
	_, _ = a.Process.Wait()
	fams = expose(t, s)
	if n, _ := find(fams, "surge_monitor_watched", "selector", "process:"+long); n != 1 {
		t.Errorf("after one child exited, watched = %v, want 1", n)
	}
}

func TestExitedPID(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	fams := expose(t, newSampler(t, monitor.Options{PIDs: []int{cmd.Process.Pid}}))
	if n, _ := find(fams, "surge_monitor_watched", "selector", "pid:"+pid); n != 0 {
		t.Errorf("exited pid watched = %v", n)
	}
	if _, ok := find(fams, "process_cpu_seconds_total", "pid", pid); ok {
		t.Error("an exited process has series")
	}
	if fams["node_cpu_seconds_total"] == nil {
		t.Error("host metrics missing")
	}
}

func TestCgroup(t *testing.T) {
	api, _ := filepath.Abs("testdata/cgroup/api")
	unl, _ := filepath.Abs("testdata/cgroup/unlimited")
	fams := expose(t, newSampler(t, monitor.Options{Cgroups: []string{api, unl}}))
	for _, c := range []struct {
		name, cgroup string
		want         float64
	}{
		{"surge_cgroup_cpu_usage_seconds_total", api, 2.5},
		{"surge_cgroup_cpu_user_seconds_total", api, 2},
		{"surge_cgroup_cpu_system_seconds_total", api, 0.5},
		{"surge_cgroup_cpu_periods_total", api, 40},
		{"surge_cgroup_cpu_throttled_periods_total", api, 10},
		{"surge_cgroup_cpu_throttled_seconds_total", api, 0.75},
		{"surge_cgroup_cpu_limit_cores", api, 1.5},
		{"surge_cgroup_memory_current_bytes", api, 100 << 20},
		{"surge_cgroup_memory_max_bytes", api, 256 << 20},
		{"surge_cgroup_cpu_usage_seconds_total", unl, 0.001},
		{"surge_cgroup_memory_current_bytes", unl, 4096},
	} {
		if v, ok := find(fams, c.name, "cgroup", c.cgroup); !ok || v != c.want {
			t.Errorf("%s{cgroup=%s} = %v, %v; want %v", c.name, filepath.Base(c.cgroup), v, ok, c.want)
		}
	}
	for _, name := range []string{"surge_cgroup_cpu_limit_cores", "surge_cgroup_memory_max_bytes"} {
		if v, ok := find(fams, name, "cgroup", unl); ok {
			t.Errorf("%s of an unlimited cgroup = %v, want none", name, v)
		}
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		o    monitor.Options
		want string
	}{
		{"cgroup that is not one", monitor.Options{Cgroups: []string{"/nonexistent/cg"}}, `--cgroup "/nonexistent/cg": not a cgroup v2 directory`},
		{"cgroup v1 style dir", monitor.Options{Cgroups: []string{"testdata/quota/v1"}}, `--cgroup "testdata/quota/v1"`},
		{"pid 0", monitor.Options{PIDs: []int{0}}, "--pid 0: not a process id"},
		{"process path", monitor.Options{Processes: []string{"/usr/bin/python3"}}, `--process "/usr/bin/python3": give a process name`},
		{"process empty", monitor.Options{Processes: []string{""}}, `--process ""`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := monitor.New(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestHandlerToken(t *testing.T) {
	const token = "0123456789abcdef-token"
	srv := httptest.NewServer(newSampler(t, monitor.Options{}).Handler(token, nil))
	defer srv.Close()
	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"none", "", 401},
		{"wrong", "Bearer 0123456789abcdef-tokeN", 401},
		{"prefix", "Bearer 0123456789abcdef", 401},
		{"basic", "Basic " + token, 401},
		{"right", "Bearer " + token, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, body)
			}
			if c.want == 200 && (resp.Header.Get("Content-Type") != promtext.ContentType || !bytes.Contains(body, []byte("node_load1 "))) {
				t.Errorf("content type %q, body %.200s", resp.Header.Get("Content-Type"), body)
			}
			if c.want == 401 && bytes.Contains(body, []byte("node_")) {
				t.Error("metrics leaked without the token")
			}
		})
	}
}

// BenchmarkFamilies: the cost of one scrape of surge monitor watching the
// host and every process of a name (which reads every /proc/PID).
func BenchmarkFamilies(b *testing.B) {
	s, err := monitor.New(monitor.Options{Processes: []string{"sh"}, PIDs: []int{os.Getpid()}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		fams, err := s.Families()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := promtext.Encode(fams); err != nil {
			b.Fatal(err)
		}
	}
}
