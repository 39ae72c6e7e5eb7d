package metrics

import (
	"sort"
	"time"
)

// maxMessages bounds the distinct error messages kept per snapshot; the rest
// are counted under OtherMessages so a target that returns endless distinct
// errors cannot grow memory.
const maxMessages = 64

// OtherMessages is the key under which messages beyond maxMessages are counted.
const OtherMessages = "(other messages)"

// Snapshot is what was measured during one interval (or, after Add, during a
// span of intervals). Counts are exact; latencies are sketches.
type Snapshot struct {
	Seq        int       // interval number since the run started, from 0
	Start, End time.Time // the interval's bounds
	Endpoints  []Endpoint
	Checks     []Check
	Iterations int64 // iterations that finished
	Dropped    int64 // open model: due iterations that never started (no VU within the timeout, generator behind, run stopped)
	// Due is, in the open model, how many iterations the plan made due
	// during the interval: the offered load, whatever the generator or the
	// target managed. Iterations + Dropped over a whole run equals Due over
	// it (less those still in flight at an interval's end).
	Due int64
	// CookiesDropped counts cookies a target set that the VUs' cookie jars
	// refused because a per-host limit was reached.
	CookiesDropped int64
	VUs            int // VUs active at the end of the interval
	MaxVUs         int // most VUs active at once during the interval
	// Lag is, in the open model, how late each iteration started after its
	// due time (generator or VU-pool delay). Empty in the closed model.
	Lag *Sketch
	// GeneratorCPU is the CPU the load generator used, in cores (1.0 = one
	// core busy); Merge adds agents' figures.
	GeneratorCPU float64
	// Messages counts error messages by "class: message", at most maxMessages
	// distinct keys plus OtherMessages.
	Messages map[string]int64
}

// Endpoint holds one request name's counts and latency sketch.
type Endpoint struct {
	Name          string
	Method        string
	Requests      int64
	Classes       [NumClasses]int64 // Classes[OK] counts successes
	BytesSent     int64
	BytesReceived int64
	Latency       *Sketch // every request that was sent, whatever its outcome
}

// Errors is the number of failed requests.
func (e *Endpoint) Errors() int64 { return e.Requests - e.Classes[OK] }

// Check counts passes and fails of one named check.
type Check struct {
	Name   string
	Passes int64
	Fails  int64
}

// Totals sums every endpoint of s into one Endpoint named "total".
func (s *Snapshot) Totals() Endpoint {
	t := Endpoint{Name: "total", Latency: NewSketch()}
	for i := range s.Endpoints {
		addEndpoint(&t, &s.Endpoints[i])
	}
	return t
}

// Duration is End minus Start.
func (s *Snapshot) Duration() time.Duration { return s.End.Sub(s.Start) }

func addEndpoint(dst, src *Endpoint) {
	dst.Requests += src.Requests
	for c := range dst.Classes {
		dst.Classes[c] += src.Classes[c]
	}
	dst.BytesSent += src.BytesSent
	dst.BytesReceived += src.BytesReceived
	if dst.Latency == nil {
		dst.Latency = NewSketch()
	}
	dst.Latency.MergeFrom(src.Latency)
}

// Merge combines snapshots of the same interval taken by different agents:
// counts and sketches add, and so do the VU gauges. It never modifies its
// arguments. Merge is associative and commutative up to the order of slices.
func Merge(parts ...Snapshot) Snapshot {
	return combine(parts, true)
}

// Add combines consecutive intervals into one span: counts and sketches add,
// while VUs is the last interval's and MaxVUs the peak of all of them.
func Add(spans ...Snapshot) Snapshot {
	return combine(spans, false)
}

func combine(parts []Snapshot, sameInterval bool) Snapshot {
	var out Snapshot
	epIndex := map[[2]string]int{}
	checkIndex := map[string]int{}
	latest := time.Time{}
	for i, p := range parts {
		if i == 0 || p.Start.Before(out.Start) {
			out.Start = p.Start
		}
		if p.End.After(out.End) {
			out.End = p.End
		}
		if i == 0 {
			out.Seq = p.Seq
		}
		out.Seq = min(out.Seq, p.Seq)
		for j := range p.Endpoints {
			src := &p.Endpoints[j]
			key := [2]string{src.Name, src.Method}
			k, ok := epIndex[key]
			if !ok {
				k = len(out.Endpoints)
				epIndex[key] = k
				out.Endpoints = append(out.Endpoints, Endpoint{Name: src.Name, Method: src.Method, Latency: NewSketch()})
			}
			addEndpoint(&out.Endpoints[k], src)
		}
		for _, c := range p.Checks {
			k, ok := checkIndex[c.Name]
			if !ok {
				k = len(out.Checks)
				checkIndex[c.Name] = k
				out.Checks = append(out.Checks, Check{Name: c.Name})
			}
			out.Checks[k].Passes += c.Passes
			out.Checks[k].Fails += c.Fails
		}
		out.Iterations += p.Iterations
		if sameInterval {
			out.GeneratorCPU += p.GeneratorCPU
		} else {
			out.GeneratorCPU = max(out.GeneratorCPU, p.GeneratorCPU)
		}
		out.Dropped += p.Dropped
		out.Due += p.Due
		out.CookiesDropped += p.CookiesDropped
		if sameInterval {
			out.VUs += p.VUs
			out.MaxVUs += p.MaxVUs
		} else {
			out.MaxVUs = max(out.MaxVUs, p.MaxVUs)
			if !p.End.Before(latest) {
				latest = p.End
				out.VUs = p.VUs
			}
		}
		if p.Lag != nil && p.Lag.Count() > 0 {
			if out.Lag == nil {
				out.Lag = NewSketch()
			}
			out.Lag.MergeFrom(p.Lag)
		}
		for m, n := range p.Messages {
			addMessage(&out.Messages, m, n)
		}
	}
	return out
}

func addMessage(m *map[string]int64, msg string, n int64) {
	if *m == nil {
		*m = make(map[string]int64)
	}
	if _, ok := (*m)[msg]; !ok && msg != OtherMessages {
		// OtherMessages is not one of the maxMessages: a snapshot at the
		// cap (maxMessages names and OtherMessages) must keep every name
		// when it is merged or decoded again, in any order.
		kept := len(*m)
		if _, ok := (*m)[OtherMessages]; ok {
			kept--
		}
		if kept >= maxMessages {
			msg = OtherMessages
		}
	}
	(*m)[msg] += n
}

// TopMessages returns the error messages of s, most frequent first.
func (s *Snapshot) TopMessages() []MessageCount {
	out := make([]MessageCount, 0, len(s.Messages))
	for m, n := range s.Messages {
		out = append(out, MessageCount{Message: m, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Message < out[j].Message
	})
	return out
}

// MessageCount is one error message and how often it occurred.
type MessageCount struct {
	Message string
	Count   int64
}
