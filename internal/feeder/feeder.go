package feeder

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// Mode is how rows are handed out.
type Mode string

// Modes.
const (
	Sequential Mode = "sequential" // in order, shared by every VU, starting over at the end
	Random     Mode = "random"     // uniformly at random, with replacement
	Unique     Mode = "unique"     // in order, each row at most once (until OnExhausted says otherwise)
)

// Exhausted is what a unique feeder does when every row was handed out.
type Exhausted string

// What happens when a unique feeder runs out.
const (
	Stop    Exhausted = "stop"    // Next reports false: the VU that asked stops
	Recycle Exhausted = "recycle" // start over from the first row
)

// Feeder hands out row numbers of a table with n rows.
type Feeder struct {
	n    int64
	mode Mode
	on   Exhausted
	next atomic.Int64 // the next row of the shared cursor
}

// New returns a feeder over n rows. It panics on an unknown mode: modes are
// validated where the plan is loaded.
func New(n int, mode Mode, on Exhausted) *Feeder {
	switch mode {
	case Sequential, Random, Unique:
	default:
		panic(fmt.Sprintf("feeder: unknown mode %q", mode))
	}
	return &Feeder{n: int64(n), mode: mode, on: on}
}

// Next returns the next row, or false when there is none to give: the
// table is empty, or a unique table ran out and the feeder stops.
func (f *Feeder) Next(rng *rand.Rand) (int, bool) {
	if f.n == 0 {
		return 0, false
	}
	switch f.mode {
	case Random:
		return int(rng.Int64N(f.n)), true
	case Unique:
		i := f.next.Add(1) - 1
		if i >= f.n && f.on != Recycle {
			f.next.Store(f.n) // keep the cursor from growing without bound
			return 0, false
		}
		return int(i % f.n), true
	default:
		return int((f.next.Add(1) - 1) % f.n), true
	}
}
