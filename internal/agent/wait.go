package agent

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// Bounds of one WaitMeter reading: no process state can make it read
// without limit.
const (
	// maxWaitThreads is the most threads a reading reads: a Go process
	// rarely runs more than a few dozen, and its runtime refuses more than
	// 10,000 by default. Threads past it are left out (their wait is not
	// seen), and the reading is incomplete.
	maxWaitThreads = 4096
	// maxSchedstatBytes caps one schedstat file's read: its line is three
	// decimal numbers, under 70 bytes.
	maxSchedstatBytes = 4 << 10
)

// taskDir lists this process's threads (Linux).
const taskDir = "/proc/self/task"

// WaitMeter measures how long this process's threads waited for a CPU
// between readings, in cores: the sum over its threads of the time each
// was runnable but not running, because the OS ran another thread or
// process on its CPU (Linux's /proc/self/task/*/schedstat run_delay),
// divided by the reading's interval. Neither CPUMeter nor SchedMeter sees
// this: a generator held off its cores by another process uses less CPU,
// not more, and the Go runtime counts a goroutine as running once its
// thread has it, however late the OS runs that thread. A response read
// late for that reason is the generator's delay, not the target's.
//
// Each thread's run_delay only grows, so a reading adds what each thread
// it read both times gained; a thread that started since the last reading
// adds all its run_delay (all of it is since then), unless the last
// reading was incomplete (a thread it could not read or past
// maxWaitThreads may be old). A thread that ended since the last reading
// takes the wait it had since then with it: that wait is lost, an
// understatement. A thread id the OS reused reads as the old thread's,
// and only its increase counts. On other systems than Linux, or when /proc
// is unreadable, Cores reads 0. A WaitMeter is not safe for concurrent
// use.
type WaitMeter struct {
	dir      string
	last     time.Time
	delay    map[int]uint64 // each thread's run_delay (ns) at the last reading
	complete bool           // the last reading read every thread
	buf      []byte
}

// NewWaitMeter starts measuring from now.
func NewWaitMeter() *WaitMeter {
	if runtime.GOOS != "linux" {
		return &WaitMeter{last: time.Now()}
	}
	return newWaitMeter(taskDir, time.Now())
}

func newWaitMeter(dir string, now time.Time) *WaitMeter {
	m := &WaitMeter{dir: dir, last: now, buf: make([]byte, maxSchedstatBytes)}
	m.delay, m.complete = m.read()
	return m
}

// Cores is the CPU wait since the last reading (or NewWaitMeter), in
// cores: how many of the process's threads, on average, were runnable and
// waiting for a CPU.
func (m *WaitMeter) Cores(now time.Time) float64 {
	if m.dir == "" {
		return 0
	}
	delay, complete := m.read()
	gained := waitGained(m.delay, delay, m.complete)
	wall := now.Sub(m.last)
	m.last, m.delay, m.complete = now, delay, complete
	if wall <= 0 || delay == nil {
		return 0
	}
	return float64(gained) / float64(wall)
}

// waitGained is the run_delay (ns) the threads of now gained since last:
// a thread in both, its increase (none if it decreased: a reused id); a
// thread only in now, all of it when last was complete (it started since
// then), none otherwise; a thread only in last, none (it ended: its wait
// since last is lost). A nil last (the first reading failed) gains
// nothing.
func waitGained(last, now map[int]uint64, lastComplete bool) uint64 {
	if last == nil {
		return 0
	}
	var gained uint64
	for tid, d := range now {
		old, ok := last[tid]
		switch {
		case ok && d > old:
			gained += d - old
		case !ok && lastComplete:
			gained += d
		}
	}
	return gained
}

// read reads every thread's run_delay: nil when the task directory is
// unreadable; complete false when some thread's was unreadable or the
// process has more than maxWaitThreads threads.
func (m *WaitMeter) read() (map[int]uint64, bool) {
	d, err := os.Open(m.dir)
	if err != nil {
		return nil, false
	}
	defer d.Close()
	names, err := d.Readdirnames(maxWaitThreads + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false
	}
	complete := len(names) <= maxWaitThreads
	if !complete {
		names = names[:maxWaitThreads]
	}
	delay := make(map[int]uint64, len(names))
	for _, name := range names {
		tid, err := strconv.Atoi(name)
		if err != nil || tid <= 0 {
			continue // not a thread
		}
		v, ok := m.readThread(filepath.Join(m.dir, name, "schedstat"))
		if !ok {
			complete = false // it ended since the listing, or is not readable
			continue
		}
		delay[tid] = v
	}
	return delay, complete
}

// readThread reads one thread's schedstat, at most maxSchedstatBytes.
func (m *WaitMeter) readThread(path string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	n, err := io.ReadFull(f, m.buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, false
	}
	if n == len(m.buf) {
		return 0, false // longer than any schedstat line: not one
	}
	return parseRunDelay(m.buf[:n])
}

// parseRunDelay is the run_delay of a schedstat line: "run_time_ns
// run_delay_ns timeslices\n", three unsigned decimal numbers. Anything
// else is not a schedstat line (false).
func parseRunDelay(b []byte) (uint64, bool) {
	b = bytes.TrimSuffix(b, []byte("\n"))
	if bytes.ContainsAny(b, "\n\t") {
		return 0, false
	}
	f := bytes.Split(b, []byte(" "))
	if len(f) != 3 {
		return 0, false
	}
	var v [3]uint64
	for i, s := range f {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return 0, false
		}
		v[i] = n
	}
	return v[1], true
}
