package metrics

import (
	"runtime"
	"sync"
	"time"
)

// Flow durations: how long an iteration of each flow took, end to end.
//
// A FlowRecorder counts, per name, the iterations, how many failed, the
// requests they sent, and a Sketch of their durations. The workload
// records one iteration of a flow as the time from its first request's
// start (in the open model: its due time, as for latency) to its last
// response, less the think time between them: what a user of a
// queue-backed API waits for "order placed → order done", polls and
// their pauses included. The same type records poll steps (until:), one
// entry per poll: Iterations are polls, Errors polls that timed out,
// Requests their attempts, and Duration the time from the first attempt
// until the condition held (timed-out polls have no such time and are
// left out of it). Iterations (and polls) that the end of a run cut short
// are counted apart, as Cut: their durations are unknown, and they are the
// longest, so a summary must say how many there were.
//
// Like Recorder, Record is cheap and allocation-free (sharded, one mutex
// per shard), and Snapshot ends the interval. Flows of two intervals or
// two agents merge exactly with MergeFlows. A FlowRecorder is safe for
// concurrent use; a Flow returned by Snapshot belongs to the caller.
type FlowRecorder struct {
	names  []string
	shards []flowShard
	mask   int
	mu     sync.Mutex // serialises Snapshot
}

type flowShard struct {
	mu  sync.Mutex
	acc []flowAcc
	_   [40]byte // keep neighbouring shards' mutexes off one cache line
}

type flowAcc struct {
	iterations, errors, requests, cut int64
	duration                          *Sketch
}

// Flow is what a FlowRecorder saw of one flow (or poll step) in an
// interval.
type Flow struct {
	Name       string
	Iterations int64   // iterations (polls) recorded
	Errors     int64   // those that failed: an error in the iteration, a poll timeout
	Requests   int64   // requests they sent (a poll's attempts), the cut ones' too
	Duration   *Sketch // end-to-end durations; never nil in a Flow from Snapshot
	// Cut counts iterations the end of the run stopped before they
	// finished; they are not in Iterations, Errors or Duration.
	Cut int64
}

// NewFlowRecorder returns a recorder for the named flows; Record indexes
// them by position in names.
func NewFlowRecorder(names []string) *FlowRecorder {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) {
		n <<= 1
	}
	r := &FlowRecorder{names: append([]string(nil), names...), shards: make([]flowShard, n), mask: n - 1}
	for i := range r.shards {
		r.shards[i].acc = make([]flowAcc, len(names))
		for j := range r.shards[i].acc {
			r.shards[i].acc[j].duration = NewSketch()
		}
	}
	return r
}

// Names lists the flows in the order Record indexes them.
func (r *FlowRecorder) Names() []string { return r.names }

// Record counts one iteration of flow (an index into the names given to
// NewFlowRecorder) that took d and sent requests requests; failed says
// whether it counts as an error. With timed set false the iteration is
// counted but its duration is not (a poll that timed out). hint spreads
// callers over shards; a VU passes its id.
func (r *FlowRecorder) Record(hint, flow int, d time.Duration, requests int64, failed, timed bool) {
	s := &r.shards[hint&r.mask]
	s.mu.Lock()
	a := &s.acc[flow]
	a.iterations++
	a.requests += requests
	if failed {
		a.errors++
	}
	if timed {
		a.duration.Add(d)
	}
	s.mu.Unlock()
}

// RecordCut counts one iteration of flow that the end of the run stopped
// after it had sent requests requests.
func (r *FlowRecorder) RecordCut(hint, flow int, requests int64) {
	s := &r.shards[hint&r.mask]
	s.mu.Lock()
	s.acc[flow].cut++
	s.acc[flow].requests += requests
	s.mu.Unlock()
}

// Snapshot returns what was recorded since the last call, one Flow per
// name in order, and starts a new interval.
func (r *FlowRecorder) Snapshot() []Flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Flow, len(r.names))
	for i, n := range r.names {
		out[i] = Flow{Name: n, Duration: NewSketch()}
	}
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		for j := range s.acc {
			a := &s.acc[j]
			f := &out[j]
			f.Iterations += a.iterations
			f.Errors += a.errors
			f.Requests += a.requests
			f.Cut += a.cut
			f.Duration.MergeFrom(a.duration)
			a.duration.Reset()
			a.iterations, a.errors, a.requests, a.cut = 0, 0, 0, 0
		}
		s.mu.Unlock()
	}
	return out
}

// MergeFlows adds src into dst, flow by flow by name, and returns dst: a
// name dst lacks is appended, in src's order. Merging is exact for the
// counts and within RelativeAccuracy for the durations' quantiles, and
// does not depend on the order of merges. src's sketches are copied, not
// shared.
func MergeFlows(dst, src []Flow) []Flow {
	for _, f := range src {
		i := 0
		for i < len(dst) && dst[i].Name != f.Name {
			i++
		}
		if i == len(dst) {
			dst = append(dst, Flow{Name: f.Name, Duration: NewSketch()})
		}
		d := &dst[i]
		d.Iterations += f.Iterations
		d.Errors += f.Errors
		d.Requests += f.Requests
		d.Cut += f.Cut
		if d.Duration == nil {
			d.Duration = NewSketch()
		}
		d.Duration.MergeFrom(f.Duration)
	}
	return dst
}
