//go:build solo

// These tests need the machine to themselves: a target or a generator held
// to one core is timed (or a shaped link's rate is), and go test ./... runs
// packages side by side on the same cores. They run with -tags solo, one
// package at a time: .ci/run's solo step, docs/testing.md.

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

// cpuWork is the CPU time each request of the CPU-bound target burns, by
// its own CPU clock (burnCPU), so that on one core the target serves at
// most 1/cpuWork requests/s, however many of them it runs at once.
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
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			burnCPU(cpuWork)
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

// burnCPU burns d of the calling goroutine's own CPU time: it holds an OS
// thread of its own meanwhile, whose CPU clock then counts this request's
// work and no other's. CPU time, not a count of rounds calibrated at the
// start: on a machine whose other work shares the caches and memory
// bandwidth (another package's tests), a round costs more CPU than it did
// at the start, and a fixed count served 65–73/s where one core of
// cpuWork serves 83/s.
func burnCPU(d time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for end := threadCPU() + d; threadCPU() < end; {
		burn(20)
	}
}

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	_, _, _ = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

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
	return startChildNice(t, kind, cpu, 0)
}

// startChildNice is startChild with the child at the nice value nice (when
// this process may set it: root or CAP_SYS_NICE; else at the test's own,
// which the test logs). A pinned target at nice -20 gets its core against
// another process's threads there (a CFS weight of 88761 against 1024:
// 99 % of it), which the scheduler then moves to the other core; at nice 0
// a busy neighbour halves it (40/s where one core serves 83/s).
func startChildNice(t *testing.T, kind string, cpu, nice int) (pid int, url, figures string) {
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
	var niceErr error
	if cpu < 0 && nice == 0 {
		err = cmd.Start()
	} else {
		niceErr, err = startAt(cmd, cpu, nice)
	}
	if err != nil {
		t.Fatalf("starting the target process: %v", err)
	}
	if niceErr != nil {
		t.Logf("the target process runs at the test's priority, not nice %d: %v", nice, niceErr)
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
	_, err := startAt(cmd, cpu, 0)
	return err
}

// startAt is startPinned (cpu ≥ 0) with the forking thread's nice value
// set to nice first (nice ≠ 0), which the child inherits the same way; a
// nice value this process may not set is returned as niceErr, and cmd is
// started at the test's own.
func startAt(cmd *exec.Cmd, cpu, nice int) (niceErr, err error) {
	type result struct{ niceErr, err error }
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		var r result
		if cpu >= 0 {
			var mask [16]uint64
			mask[cpu/64] = 1 << (cpu % 64)
			if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask))); e != 0 {
				r.err = fmt.Errorf("sched_setaffinity: %w", e)
				res <- r
				return
			}
		}
		if nice != 0 {
			// Linux keeps a nice value per thread: who 0 is this one.
			if e := syscall.Setpriority(syscall.PRIO_PROCESS, 0, nice); e != nil {
				r.niceErr = fmt.Errorf("setpriority: %w", e)
			}
		}
		r.err = cmd.Start()
		res <- r
	}()
	r := <-res
	return r.niceErr, r.err
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

// niceOf is process pid's nice value, from /proc/pid/stat (its main
// thread's).
func niceOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command's ")": state is the 3rd, nice the 19th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 17 {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return f[16]
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
	began := time.Now()
	o.Progress = func(s capacity.Step, left time.Duration) {
		t.Logf("%s  ~%v left (%.1fs)", capacity.StepLine(s), left.Round(time.Second), time.Since(began).Seconds())
	}
	res, err := capacity.Search(ctx, sess, o)
	sess.Stop(nil)
	if _, werr := sess.Wait(); werr != nil {
		t.Errorf("run: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("max rate %.1f, knee %.1f, plateau %.1f/s, lower bound %v, %s, %s: %s (%v)", res.MaxRate, res.KneeRate, res.PlateauIPS, res.LowerBound, stepBudget(res), res.Bottleneck.Kind, res.Bottleneck.Evidence, time.Since(began).Round(time.Second))
	return res
}

// A target that burns cpuWork of CPU per request, in a process pinned to
// one core and watched by `surge monitor --pid`: one core serves at most
// 1 core / cpuWork = 83/s. The search must find that rate and say cpu,
// naming the process at its one-core limit.
func TestSoloCPUBoundTargetOnOneCore(t *testing.T) {
	skipShort(t)
	if runtime.NumCPU() < 2 {
		t.Skipf("the target is pinned to one core of its own beside the generator; this machine has %d", runtime.NumCPU())
	}
	bound := 1 / cpuWork.Seconds() // cores / CPU per request
	var pid int
	twice(t, func() *capacity.Result {
		cpu := runtime.NumCPU() - 1
		var url, figures string
		pid, url, figures = startChildNice(t, "cpu", cpu, -20)
		if got := allowedCPUs(t, strconv.Itoa(pid)); got != strconv.Itoa(cpu) {
			t.Fatalf("target process %d may run on CPUs %q; want only %d", pid, got, cpu)
		}
		t.Logf("target pid %d pinned to CPU %d at nice %s (%s): bound %.1f/s", pid, cpu, niceOf(t, pid), figures, bound)
		mon := startMonitor(t, pid)
		if !oneCoreLimit(getText(t, mon), pid) {
			t.Fatalf("the monitor's exposition has no surge_process_cpu_limit_cores of 1 for pid %d", pid)
		}
		mons := []scenario.Monitor{{Name: "target", URL: mon}}
		// From 70 % of the bound (58/s, the process at 70 % of its core:
		// not at its limit at the baseline) to 1.26× it: seven steps.
		start, growth := nearCapacity(bound)
		return liveSearchURL(t, url, mons, 0, capacity.Options{SLO: slo(t, "p99<500ms", "errors<1%"), Start: start, Growth: growth, Max: 2000})
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
func TestSoloOneCoreGeneratorIsTheLimit(t *testing.T) {
	skipShort(t)
	// From 80000/s, twice what one core of a 2-core development VM
	// paced in most holds (17000–40000/s measured, the less the busier the
	// machine; once 56742/s): the start step is past the generator's limit
	// on a quieter machine too, so the search ends in two holds of it
	// (~10 s). Started at 40000/s (or 60000/s), a quiet core once paced it
	// nearly, the step failed on iterations that piled up with no start
	// lag to show whose they were, and the search went on to bisect
	// between steps that the previous one's backlog spoiled. At 80000/s a
	// busy machine's reads can fall so far behind that the VUs reach their
	// cap (20000) and the only reason given is the VU cap ("raise
	// --max-vus", without the generator's CPU): so the search is held once
	// more when its checks fail, as the other live searches are; a search
	// that never blames the generator fails both. Growth 1.5 to a Max of
	// 120000/s: a step far past what one core paces opens thousands of VUs
	// and connections, which slow every step after it.
	_, url, figures := startChild(t, "hello", -1)
	t.Logf("target %s (%s)", url, figures)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	twice(t, func() *capacity.Result {
		return liveSearchURL(t, url, nil, 0, capacity.Options{SLO: slo(t, "p99<1s", "errors<1%"), Start: 80000, Max: 120000, Growth: 1.5, Precision: 0.2})
	}, func(res *capacity.Result) (problems []string) {
		if res.Bottleneck.Kind != capacity.KindGenerator || !res.LowerBound {
			problems = append(problems, fmt.Sprintf("bottleneck %s, lower bound %v (%s); want generator, a lower bound", res.Bottleneck.Kind, res.LowerBound, res.Bottleneck.Evidence))
		}
		if !strings.Contains(res.Bottleneck.Evidence, "generator") {
			problems = append(problems, fmt.Sprintf("evidence %q does not say the generator", res.Bottleneck.Evidence))
		}
		return problems
	})
}
