package engine

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// On Linux the Go runtime sleeps in epoll_wait, whose timeout is in whole
// milliseconds: a timer due in 200 µs fires after about a millisecond when
// the process is otherwise idle. An open-model run at a few thousand
// iterations/s would then start its iterations in bursts, each up to a
// millisecond late. A timerfd has nanosecond resolution, and since the
// runtime polls it like a socket, its expiry wakes the waiting goroutine
// at once.

// preciseSleeper waits on a timerfd. Only one goroutine may use it.
type preciseSleeper struct {
	f     *os.File
	rc    syscall.RawConn
	spec  itimerspec
	armed bool
	wait  func(fd uintptr) bool // s.expired as a method value, made once
}

type itimerspec struct {
	interval syscall.Timespec
	value    syscall.Timespec
}

const clockMonotonic = 1 // CLOCK_MONOTONIC, which time.Until follows too

// newSleeper returns a precise sleeper, or a timer-based one when timerfd
// is not available.
func newSleeper() sleeper {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return newTimerSleeper()
	}
	f := os.NewFile(fd, "timerfd") // non-blocking, so the runtime's poller watches it
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return newTimerSleeper()
	}
	s := &preciseSleeper{f: f, rc: rc}
	s.wait = s.expired
	return s
}

// sleepUntil returns at t, or at once if t has passed.
func (s *preciseSleeper) sleepUntil(t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	s.spec.value = syscall.NsecToTimespec(int64(d))
	s.armed = false
	// The raw read arms the poller first, then calls expired, which sets
	// the timer: its expiry cannot slip in between and be missed.
	if err := s.rc.Read(s.wait); err != nil {
		time.Sleep(time.Until(t)) // closed or broken: fall back
	}
}

// expired arms the timer on its first call and reports false, so the
// goroutine parks until the timerfd is readable; then it reads the
// expiration count.
func (s *preciseSleeper) expired(fd uintptr) bool {
	if !s.armed {
		s.armed = true
		_, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&s.spec)), 0, 0, 0)
		return errno != 0 // cannot arm: do not wait
	}
	var buf [8]byte
	_, err := syscall.Read(int(fd), buf[:])
	return err != syscall.EAGAIN
}

func (s *preciseSleeper) close() { _ = s.f.Close() }
