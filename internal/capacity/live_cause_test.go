package capacity_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/monitor"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
)

// The targets of these tests run in a child process: the test binary
// itself, re-executed with helperEnv set to the kind of target, which
// runs TestLiveCauseHelperProcess only. A target of its own process is
// what a CPU limit is measured on (its affinity, its CPU time), and it
// keeps the generator's CPU apart from the target's.
const helperEnv = "SURGE_CAPACITY_LIVE_CAUSE_TARGET"

// cpuWork is the CPU time each request of the CPU-bound target burns:
// fixed work, so that on one core the target serves at most 1/cpuWork
// requests/s, however many of them it runs at once.
const cpuWork = 12 * time.Millisecond

// TestLiveCauseHelperProcess is the child's body, not a test: it serves a
// target on 127.0.0.1:0, prints "URL <url> <figures>" and serves until its
// stdin closes (the test ended, or died).
func TestLiveCauseHelperProcess(t *testing.T) {
	kind := os.Getenv(helperEnv)
	if kind == "" {
		t.Skip("the child process of the live cause tests")
	}
	var url, figures string
	switch kind {
	case "cpu":
		perMS := calibrate()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		n := int(float64(cpuWork) / float64(time.Millisecond) * perMS)
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			burn(n)
			_, _ = io.WriteString(w, "done\n")
		})}
		go func() { _ = srv.Serve(ln) }()
		url = "http://" + ln.Addr().String() + "/burn"
		figures = fmt.Sprintf("%.0f-rounds/ms gomaxprocs=%d", perMS, runtime.GOMAXPROCS(0))
	case "hello":
		tb, err := testbed.Start("127.0.0.1:0", testbed.Options{})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		url = tb.URL() + "/hello"
		figures = fmt.Sprintf("gomaxprocs=%d", runtime.GOMAXPROCS(0))
	default:
		fmt.Println("ERR unknown target", kind)
		os.Exit(1)
	}
	fmt.Println("URL", url, figures)
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// burn does n rounds of integer work.
func burn(n int) {
	x := uint64(1)
	for range n {
		for range 1000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	burnSink = x
}

var burnSink uint64

// calibrate measures burn's rounds per millisecond of this process's CPU
// time (not the wall clock: a shared core slows the wall, not the work).
func calibrate() float64 {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	best := 0.0
	for range 3 {
		c0, rounds := cpu(), 0
		for cpu()-c0 < 60*time.Millisecond {
			burn(200)
			rounds += 200
		}
		best = math.Max(best, float64(rounds)/(float64(cpu()-c0)/float64(time.Millisecond)))
	}
	return best
}

// startChild starts the helper process serving kind, pinned to cpu (when
// cpu ≥ 0), and returns its pid, its target's URL and the figures it
// printed. It is stopped when the test ends.
func startChild(t *testing.T, kind string, cpu int) (pid int, url, figures string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLiveCauseHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+kind)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if cpu < 0 {
		err = cmd.Start()
	} else {
		err = startPinned(cmd, cpu)
	}
	if err != nil {
		t.Fatalf("starting the target process: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "URL ") || strings.HasPrefix(l, "ERR ") {
				lines <- l
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-lines:
		f := strings.Fields(l)
		if f[0] != "URL" || len(f) < 2 {
			t.Fatalf("target process: %s", l)
		}
		return cmd.Process.Pid, f[1], strings.Join(f[2:], " ")
	case <-time.After(20 * time.Second):
		t.Fatal("the target process printed no URL in 20s")
	}
	return 0, "", ""
}

// startPinned starts cmd with its CPU affinity set to the one cpu: it is
// forked from an OS thread of its own whose affinity is set first (a
// child inherits the forking thread's), and that thread is discarded
// after, so no other goroutine of the test runs pinned.
func startPinned(cmd *exec.Cmd, cpu int) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		var mask [16]uint64
		mask[cpu/64] = 1 << (cpu % 64)
		if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask))); e != 0 {
			errc <- fmt.Errorf("sched_setaffinity: %w", e)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// allowedCPUs is this process's CPU affinity, from /proc/self/status.
func allowedCPUs(t *testing.T, pid string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no Cpus_allowed_list in /proc/%s/status", pid)
	return ""
}

// startMonitor serves `surge monitor --pid pid` on 127.0.0.1:0 and returns
// its /metrics URL.
func startMonitor(t *testing.T, pid int) string {
	t.Helper()
	s, err := monitor.New(monitor.Options{PIDs: []int{pid}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := monitor.HTTPServer(s.Handler("", nil))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/metrics"
}

// oneCoreLimit says whether a `surge monitor` exposition gives pid a CPU
// limit of one core.
func oneCoreLimit(text string, pid int) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "surge_process_cpu_limit_cores{") && strings.Contains(l, fmt.Sprintf(`pid="%d"`, pid)) && strings.HasSuffix(l, "} 1") {
			return true
		}
	}
	return false
}

// getText is the body of a GET of url.
func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// liveSearchURL is liveSearch of a target at url, of another process,
// with the plan's monitors.
func liveSearchURL(t *testing.T, url string, mons []scenario.Monitor, maxVUs int, o capacity.Options) *capacity.Result {
	t.Helper()
	rate := o.Start
	plan, err := scenario.Quick(scenario.QuickRequest{URL: url, Method: "GET"}, scenario.Overrides{Rate: &rate})
	if err != nil {
		t.Fatal(err)
	}
	if maxVUs == 0 {
		maxVUs = engine.DefaultMaxVUs(o.Max, plan.Timeout)
	}
	plan.Load = scenario.Load{Model: engine.Open, Rate: o.Start, Duration: 2 * time.Minute, MaxVUs: maxVUs}
	plan.Monitors = mons
	if err := plan.Validate(); err != nil {
		t.Fatal(err)
	}
	sess := run.New(plan, run.Options{Interval: liveInterval})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := sess.Start(ctx); err != nil {
		t.Fatal(err)
	}
	o.Interval, o.Settle, o.Window, o.Confirm, o.Warmup, o.Recover = liveInterval, 750*time.Millisecond, 1500*time.Millisecond, 3*time.Second, time.Second, 5*time.Second
	o.Cores, o.MaxVUs = runtime.GOMAXPROCS(0), maxVUs
	o.Progress = func(s capacity.Step, left time.Duration) {
		t.Logf("%s  ~%v left", capacity.StepLine(s), left.Round(time.Second))
	}
	began := time.Now()
	res, err := capacity.Search(ctx, sess, o)
	sess.Stop(nil)
	if _, werr := sess.Wait(); werr != nil {
		t.Errorf("run: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("max rate %.1f, knee %.1f, plateau %.1f/s, lower bound %v, %s: %s (%v)", res.MaxRate, res.KneeRate, res.PlateauIPS, res.LowerBound, res.Bottleneck.Kind, res.Bottleneck.Evidence, time.Since(began).Round(time.Second))
	return res
}

// A target that burns cpuWork of CPU per request, in a process pinned to
// one core and watched by `surge monitor --pid`: one core serves at most
// 1 core / cpuWork = 83/s. The search must find that rate and say cpu,
// naming the process at its one-core limit.
func TestLiveCPUBoundTargetOnOneCore(t *testing.T) {
	if testing.Short() {
		t.Skip("a capacity search against a live target takes ~30s")
	}
	if runtime.NumCPU() < 2 {
		t.Skipf("the target is pinned to one core of its own beside the generator; this machine has %d", runtime.NumCPU())
	}
	bound := 1 / cpuWork.Seconds() // cores / CPU per request
	var pid int
	twice(t, func() *capacity.Result {
		cpu := runtime.NumCPU() - 1
		var url, figures string
		pid, url, figures = startChild(t, "cpu", cpu)
		if got := allowedCPUs(t, strconv.Itoa(pid)); got != strconv.Itoa(cpu) {
			t.Fatalf("target process %d may run on CPUs %q; want only %d", pid, got, cpu)
		}
		t.Logf("target pid %d pinned to CPU %d (%s): bound %.1f/s", pid, cpu, figures, bound)
		mon := startMonitor(t, pid)
		if !oneCoreLimit(getText(t, mon), pid) {
			t.Fatalf("the monitor's exposition has no surge_process_cpu_limit_cores of 1 for pid %d", pid)
		}
		mons := []scenario.Monitor{{Name: "target", URL: mon}}
		return liveSearchURL(t, url, mons, 0, capacity.Options{SLO: slo(t, "p99<500ms", "errors<1%"), Start: 10, Max: 2000})
	}, func(res *capacity.Result) (problems []string) {
		if math.Abs(res.MaxRate-bound) > 0.15*bound {
			problems = append(problems, fmt.Sprintf("max rate %.1f; want the one core's %.1f/s ± 15%%", res.MaxRate, bound))
		}
		b := res.Bottleneck
		if b.Kind != capacity.KindCPU || res.LowerBound {
			problems = append(problems, fmt.Sprintf("bottleneck %s, lower bound %v (%s); want cpu", b.Kind, res.LowerBound, b.Evidence))
		}
		if !strings.Contains(b.Evidence, "monitor target: process_cpu_percent_of_limit{") || !strings.Contains(b.Evidence, fmt.Sprintf(`pid="%d"`, pid)) || !strings.Contains(b.Evidence, "of its CPU limit") {
			problems = append(problems, fmt.Sprintf("evidence %q; want the process's CPU at its one-core limit", b.Evidence))
		}
		return problems
	})
}

// A generator of one core (GOMAXPROCS 1, Options.Cores 1) against a
// target of another process that answers /hello at once: one core cannot
// pace the rates the search offers, so the answer is the generator, a
// lower bound — never the target's capacity.
func TestLiveOneCoreGeneratorIsTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("a capacity search against a live target takes ~30s")
	}
	// Growth 1.5 to a Max of 120000/s: a step far past what one core
	// paces opens thousands of VUs and connections, which slow every step
	// after it and hold the search past its time.
	_, url, figures := startChild(t, "hello", -1)
	t.Logf("target %s (%s)", url, figures)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	res := liveSearchURL(t, url, nil, 0, capacity.Options{SLO: slo(t, "p99<1s", "errors<1%"), Start: 40000, Max: 120000, Growth: 1.5, Precision: 0.2})
	if res.Bottleneck.Kind != capacity.KindGenerator || !res.LowerBound {
		t.Fatalf("bottleneck %s, lower bound %v (%s); want generator, a lower bound", res.Bottleneck.Kind, res.LowerBound, res.Bottleneck.Evidence)
	}
	if !strings.Contains(res.Bottleneck.Evidence, "generator") {
		t.Errorf("evidence %q does not say the generator", res.Bottleneck.Evidence)
	}
}

// sharedHostMon is a script (capacity 200/s) with a monitor of a process
// and of the shared host it runs on: each series is base % below the
// capacity and peak % at or past it.
type sharedHostMon struct {
	*script
	hostBase, hostPeak, procBase, procPeak float64
}

func (m *sharedHostMon) Monitors() []report.MonitorData {
	snaps, _ := m.Live()
	d := report.MonitorData{Name: "target"}
	for _, s := range snaps {
		host, proc := m.hostBase, m.procBase
		if s.Due >= 200 {
			host, proc = m.hostPeak, m.procPeak
		}
		d.Points = append(d.Points, report.MonitorPoint{T: s.Start.Add(500 * time.Millisecond), Limits: map[string]float64{
			"host_cpu_busy_percent":                            host,
			`process_cpu_percent_of_limit{name="api",pid="1"}`: proc,
		}})
	}
	return []report.MonitorData{d}
}

// The live CPU test's situation, scripted: on a shared host the host's
// CPU is full at the bound too (even above 100 % by its sampling), but
// the process at its own limit is what the evidence must name; and a host
// already full at the baseline (other work) must not hide a process that
// was not.
func TestCPUAtLimitNamesTheProcessOnASharedHost(t *testing.T) {
	for _, tc := range []struct {
		name                                   string
		hostBase, hostPeak, procBase, procPeak float64
		kind, series                           string
	}{
		{"host fuller than the process", 50, 104, 20, 99, capacity.KindCPU, "process_cpu_percent_of_limit"},
		{"host full at the baseline", 97, 100, 20, 99, capacity.KindCPU, "process_cpu_percent_of_limit"},
		{"only the host at its limit", 50, 99, 20, 60, capacity.KindCPU, "host_cpu_busy_percent"},
		{"process as busy at the baseline", 50, 90, 96, 99, capacity.KindConcurrency, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			s := newScript(clock, capped(200, 20*time.Millisecond))
			m := &sharedHostMon{script: s, hostBase: tc.hostBase, hostPeak: tc.hostPeak, procBase: tc.procBase, procPeak: tc.procPeak}
			o := capacity.Options{SLO: slo(t, "p99<250ms"), Start: 50, Max: 2000, Window: 4 * time.Second, Clock: clock, Settle: time.Second, Warmup: time.Second}
			res, err := capacity.Search(context.Background(), m, o)
			if err != nil {
				t.Fatal(err)
			}
			b := res.Bottleneck
			if b.Kind != tc.kind || tc.series != "" && !strings.Contains(b.Evidence, "monitor target: "+tc.series) {
				t.Errorf("bottleneck %s (%s); want %s naming %q", b.Kind, b.Evidence, tc.kind, tc.series)
			}
		})
	}
}
