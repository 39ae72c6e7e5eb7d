package metrics

import "time"

// Now is the present instant on the clock of a run that began at start:
// start plus the monotonic time elapsed since it.
//
// A run's instants (interval bounds, its end, its events) are stored and
// sent as wall-clock times, and summaries are rebuilt from them. Taken
// this way, two instants differ on the wall clock by exactly the time that
// passed between them, even when the host's wall clock is stepped or
// slewed during the run (NTP, a VM's clock sync): a summary rebuilt from
// the stored instants then equals the live one, whose durations Go
// computes from monotonic readings. time.Now() mixes the two: its wall
// reading moves with the step, its monotonic one does not.
//
// A start without a monotonic reading (decoded, or built with time.Unix)
// gives the wall clock's now.
func Now(start time.Time) time.Time { return start.Add(time.Since(start)) }
