package agent

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseRunDelay(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"798784 146518 1\n", 146518, true},
		{"798784 146518 1", 146518, true},
		{"0 0 0\n", 0, true},
		{"18446744073709551615 18446744073709551615 3\n", math.MaxUint64, true},
		{"", 0, false},
		{"\n", 0, false},
		{"798784 146518\n", 0, false},
		{"798784 146518 1 7\n", 0, false},
		{"798784  146518 1\n", 0, false},
		{"798784 -146518 1\n", 0, false},
		{"798784 14x518 1\n", 0, false},
		{"798784 146518 1\n5 6 7\n", 0, false},
		{"798784\t146518\t1\n", 0, false},
		{"18446744073709551616 1 1\n", 0, false}, // overflows
		{"\x00\xff garbage", 0, false},
	} {
		got, ok := parseRunDelay([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseRunDelay(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestWaitGained(t *testing.T) {
	for _, c := range []struct {
		name      string
		last, now map[int]uint64
		complete  bool
		want      uint64
	}{
		{"first reading failed", nil, map[int]uint64{1: 900}, true, 0},
		{"increases add", map[int]uint64{1: 100, 2: 50}, map[int]uint64{1: 400, 2: 60}, true, 310},
		{"unchanged", map[int]uint64{1: 100}, map[int]uint64{1: 100}, true, 0},
		{"vanished thread lost", map[int]uint64{1: 100, 2: 5000}, map[int]uint64{1: 300}, true, 200},
		{"new thread all of it", map[int]uint64{1: 100}, map[int]uint64{1: 150, 7: 800}, true, 850},
		{"new thread after an incomplete reading", map[int]uint64{1: 100}, map[int]uint64{1: 150, 7: 800}, false, 50},
		{"reused id decreased", map[int]uint64{1: 100, 3: 9000}, map[int]uint64{1: 100, 3: 40}, true, 0},
		{"now unreadable", map[int]uint64{1: 100}, nil, true, 0},
	} {
		if got := waitGained(c.last, c.now, c.complete); got != c.want {
			t.Errorf("%s: gained %d, want %d", c.name, got, c.want)
		}
	}
}

// writeTasks makes a task directory: each thread's schedstat text.
func writeTasks(t *testing.T, dir string, tasks map[string]string) {
	t.Helper()
	for name, text := range tasks {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "schedstat"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A meter over fixture task directories: garbage files and names are
// skipped, a vanished thread's wait is lost, a new one's counts, and a
// reading after an incomplete one does not count new threads.
func TestWaitMeterFixture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTasks(t, dir, map[string]string{
		"101":    "5000000 1000000 10\n",
		"102":    "5000000 2000000 10\n",
		"103":    "garbage\n",
		"self":   "1 2 3\n", // not a thread id
		"104":    strings.Repeat("9", maxSchedstatBytes+10),
		"0":      "1 2 3\n",
		"notdir": "",
	})
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	m := newWaitMeter(dir, t0)
	if len(m.delay) != 2 || m.complete {
		t.Fatalf("first reading %v, complete %v; want threads 101, 102, incomplete (103, 104 unreadable)", m.delay, m.complete)
	}
	// 101 waits 0.3 s more, 102 vanishes, 105 starts: it is not counted,
	// as the last reading was incomplete.
	if err := os.RemoveAll(filepath.Join(dir, "102")); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"103", "104"} {
		if err := os.RemoveAll(filepath.Join(dir, g)); err != nil {
			t.Fatal(err)
		}
	}
	writeTasks(t, dir, map[string]string{"101": "6000000 301000000 12\n", "105": "1 700000000 1\n"})
	if got := m.Cores(t0.Add(time.Second)); math.Abs(got-0.3) > 1e-9 {
		t.Errorf("second reading %v cores, want 0.3", got)
	}
	if !m.complete {
		t.Error("a reading of only good threads is incomplete")
	}
	// Now complete: a new thread's whole delay counts.
	writeTasks(t, dir, map[string]string{"101": "6000000 401000000 12\n", "105": "1 900000000 1\n", "106": "1 100000000 1\n"})
	if got := m.Cores(t0.Add(3 * time.Second)); math.Abs(got-0.2) > 1e-9 { // (0.1+0.2+0.1) s in 2 s
		t.Errorf("third reading %v cores, want 0.2", got)
	}
	// The same instant again: no interval, no figure.
	if got := m.Cores(t0.Add(3 * time.Second)); got != 0 {
		t.Errorf("an empty interval read %v cores", got)
	}
	// The directory gone: 0, and after it comes back nothing from before.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if got := m.Cores(t0.Add(4 * time.Second)); got != 0 {
		t.Errorf("unreadable directory read %v cores", got)
	}
	writeTasks(t, dir, map[string]string{"101": "6000000 901000000 12\n"})
	if got := m.Cores(t0.Add(5 * time.Second)); got != 0 {
		t.Errorf("the reading after an unreadable one read %v cores", got)
	}
}

// More threads than the cap: the reading stops at the cap and is
// incomplete.
func TestWaitMeterThreadCap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tasks := map[string]string{}
	for i := range maxWaitThreads + 3 {
		tasks[strconv.Itoa(i+1)] = "1 1 1\n"
	}
	writeTasks(t, dir, tasks)
	m := newWaitMeter(dir, time.Now())
	if len(m.delay) != maxWaitThreads || m.complete {
		t.Errorf("read %d threads, complete %v; want %d, incomplete", len(m.delay), m.complete, maxWaitThreads)
	}
}

// The real /proc: every thread of this process has a schedstat line the
// parser reads, and the readings are sane.
func TestWaitMeterReadsProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		if got := NewWaitMeter().Cores(time.Now().Add(time.Second)); got != 0 {
			t.Fatalf("%s: %v cores of wait; want 0 off Linux", runtime.GOOS, got)
		}
		t.Skip("schedstat is Linux's")
	}
	m := NewWaitMeter()
	if len(m.delay) == 0 || !m.complete {
		t.Fatalf("read %d threads of /proc/self/task, complete %v", len(m.delay), m.complete)
	}
	tasks, err := os.ReadDir(taskDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		b, err := os.ReadFile(filepath.Join(taskDir, e.Name(), "schedstat"))
		if err != nil {
			continue // it ended
		}
		if _, ok := parseRunDelay(b); !ok {
			t.Errorf("thread %s: schedstat %q does not parse", e.Name(), b)
		}
	}
	time.Sleep(20 * time.Millisecond)
	got := m.Cores(time.Now())
	if got < 0 || math.IsNaN(got) || got > float64(len(m.delay)) {
		t.Errorf("%v cores of wait from %d threads", got, len(m.delay))
	}
}

// Threads that spin, more than the CPUs the process may use, wait for a
// CPU: at any moment all but those CPUs' worth are runnable and not
// running, so the wait is at least (threads − CPUs) cores, whatever else
// runs on the host. Half of that is asserted, for the kernel's accounting.
func TestWaitMeterSeesOversubscription(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("schedstat is Linux's")
	}
	cpus := runtime.NumCPU()
	spinners := cpus + 2
	prev := runtime.GOMAXPROCS(spinners + 1)
	defer runtime.GOMAXPROCS(prev)
	m := NewWaitMeter()
	start := time.Now()
	const spin = 250 * time.Millisecond
	var wg sync.WaitGroup
	for range spinners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for x := 0; time.Since(start) < spin; x++ {
				_ = x * x
			}
		}()
	}
	wg.Wait()
	got := m.Cores(time.Now())
	want := float64(spinners-cpus) * float64(spin) / float64(time.Since(start)) / 2
	t.Logf("%d spinning threads on %d CPUs: %.2f cores of wait", spinners, cpus, got)
	if got < want {
		t.Errorf("%.2f cores of wait; want at least %.2f", got, want)
	}
}
