package testutil

import (
	"testing"
	"time"
	"unsafe"
)

// Stepped returns t as it would have been read had the host's wall clock
// been d off what it is now: its wall reading moved by d, its monotonic
// reading unchanged — what a time taken before an NTP or VM clock step of
// −d looks like to code running after it. No test may step the shared
// machine's clock, so this is how one provokes a step.
//
// It writes the wall field of a time.Time directly (the layout of Go's
// time package: a hasMonotonic bit, 33 bits of seconds since 1885 and 30
// of nanoseconds) and checks the result by Go's own arithmetic, failing t
// if the layout ever changes. tm must carry a monotonic reading.
func Stepped(tb testing.TB, tm time.Time, d time.Duration) time.Time {
	tb.Helper()
	const (
		hasMonotonic = 1 << 63
		nsecShift    = 30
		nsecMask     = 1<<nsecShift - 1
	)
	type layout struct {
		wall uint64
		ext  int64
		loc  *time.Location
	}
	if unsafe.Sizeof(tm) != unsafe.Sizeof(layout{}) {
		tb.Fatalf("testutil.Stepped: time.Time is %d bytes, not the %d it knows", unsafe.Sizeof(tm), unsafe.Sizeof(layout{}))
	}
	out := tm
	l := (*layout)(unsafe.Pointer(&out))
	if l.wall&hasMonotonic == 0 {
		tb.Fatalf("testutil.Stepped: %v has no monotonic reading", tm)
	}
	ns := int64(l.wall<<1>>(nsecShift+1))*int64(time.Second) + int64(l.wall&nsecMask) + int64(d)
	l.wall = hasMonotonic | uint64(ns/int64(time.Second))<<nsecShift | uint64(ns%int64(time.Second))
	if got := out.Round(0).Sub(tm.Round(0)); got != d || out.Sub(tm) != 0 {
		tb.Fatalf("testutil.Stepped: the wall clock moved %v (want %v) and the monotonic one %v (want 0): Go's time layout changed", got, d, out.Sub(tm))
	}
	return out
}
