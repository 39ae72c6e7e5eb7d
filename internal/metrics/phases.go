package metrics

import "time"

// Timing phases: where a request's time went, as k6 users know them.
//
// A protocol client measures the phases of each request it sends
// (internal/protocol/http fills a Phases per response) and the phases of
// one request add up to its latency: each is the gap between two readings
// of the monotonic clock, and they follow each other without overlap. An
// endpoint's distribution of each phase is a PhaseSketches, which records,
// merges and summarises like the endpoint's latency Sketch. The client's
// own work before the request goes out (framing it) counts in the phase
// under way: send on a reused connection, connect or blocked on a new one.

// Phase is one part of a request's time.
type Phase uint8

// The phases, in the order they happen. Their names are part of the JSON
// summary contract (endpoints[].phases_ms).
const (
	// PhaseBlocked is waiting for a connection: for a free dial slot, for
	// a pooled connection or an HTTP/2 stream. A request retried on a new
	// connection after its reused one was found closed counts the failed
	// attempt here too.
	PhaseBlocked Phase = iota
	// PhaseConnect is opening a new connection: resolving the host name
	// and the TCP handshake. 0 on a reused connection.
	PhaseConnect
	// PhaseTLS is the TLS handshake of a new connection. 0 on a reused
	// connection and on plain http:// targets.
	PhaseTLS
	// PhaseSend is writing the request (head and body).
	PhaseSend
	// PhaseWait is from the request written to the response's first byte:
	// the time to first byte, the target's own time plus the network's.
	PhaseWait
	// PhaseReceive is from the response's first byte to the end of its
	// body.
	PhaseReceive
	// PhaseQueued is, in the open model, from the iteration's due time
	// until its VU began the request: waiting for a free VU, and the
	// generator's lag. The protocol clients never fill it; the caller
	// does, as its latency (measured from the due time) minus the
	// client's phases.
	PhaseQueued
	NumPhases // number of phases, not a phase
)

var phaseNames = [NumPhases]string{
	PhaseBlocked: "blocked",
	PhaseConnect: "connect",
	PhaseTLS:     "tls",
	PhaseSend:    "send",
	PhaseWait:    "wait",
	PhaseReceive: "receive",
	PhaseQueued:  "queued",
}

// String returns the phase's name in summaries and thresholds, e.g. "wait".
func (p Phase) String() string {
	if p < NumPhases {
		return phaseNames[p]
	}
	return "unknown"
}

// ParsePhase returns the phase named name ("connect", "wait", …), as
// String spells it.
func ParsePhase(name string) (Phase, bool) {
	for p, n := range phaseNames {
		if n == name {
			return Phase(p), true
		}
	}
	return 0, false
}

// PhaseNames lists the phases' names in order.
func PhaseNames() []string { return append([]string(nil), phaseNames[:]...) }

// Phases is where one request's time went, by Phase.
type Phases [NumPhases]time.Duration

// Total is the sum of the phases: the request's latency as the client
// measured it (plus PhaseQueued when the caller set it).
func (p *Phases) Total() time.Duration {
	var t time.Duration
	for _, d := range p {
		t += d
	}
	return t
}

// PhaseStats summarises one phase of an endpoint's requests.
type PhaseStats struct {
	Count         uint64 // requests measured
	P50, P95, P99 time.Duration
	Max           time.Duration // exact
}

// PhaseSketches is one endpoint's distribution of each phase: a Sketch
// per phase, so that agents' and intervals' figures merge exactly as the
// endpoint's latency does, and percentiles are read from the merged
// sketches. The zero value is empty and usable; a phase's sketch is made
// when the phase is first recorded, so an endpoint without phases (or the
// queued phase in the closed model) costs nothing. A PhaseSketches is not
// safe for concurrent use.
type PhaseSketches struct {
	s [NumPhases]*Sketch
}

// Add records one request's phases but PhaseQueued, which AddQueued
// records: a closed-model run has no queued phase at all, not one of 0.
func (ps *PhaseSketches) Add(p *Phases) {
	for i := range PhaseQueued {
		ps.add(i, p[i])
	}
}

// AddQueued records one open-model request's PhaseQueued.
func (ps *PhaseSketches) AddQueued(d time.Duration) { ps.add(PhaseQueued, d) }

func (ps *PhaseSketches) add(p Phase, d time.Duration) {
	s := ps.s[p]
	if s == nil {
		s = NewSketch()
		ps.s[p] = s
	}
	s.Add(d)
}

// Sketch returns phase p's sketch, nil when none was recorded. It is
// ps's own: copy it to keep it past ps's next change.
func (ps *PhaseSketches) Sketch(p Phase) *Sketch {
	if p >= NumPhases {
		return nil
	}
	return ps.s[p]
}

// SetSketch makes s phase p's sketch (nil: none), as a decoder rebuilds
// a PhaseSketches; ps owns s from then on.
func (ps *PhaseSketches) SetSketch(p Phase, s *Sketch) {
	if p < NumPhases {
		ps.s[p] = s
	}
}

// Empty reports whether no phase was recorded.
func (ps *PhaseSketches) Empty() bool {
	for _, s := range ps.s {
		if s != nil && s.Count() > 0 {
			return false
		}
	}
	return true
}

// Stats returns phase p's figures; ok is false when it was never recorded
// (a summary leaves it out).
func (ps *PhaseSketches) Stats(p Phase) (st PhaseStats, ok bool) {
	s := ps.Sketch(p)
	if s == nil || s.Count() == 0 {
		return PhaseStats{}, false
	}
	return PhaseStats{Count: s.Count(), P50: s.Quantile(0.5), P95: s.Quantile(0.95), P99: s.Quantile(0.99), Max: s.Max()}, true
}

// Quantile returns phase p's q-quantile (0 ≤ q ≤ 1), within
// RelativeAccuracy; ok is false when the phase was never recorded. A
// threshold such as "endpoint[login].wait.p95<100ms" reads it.
func (ps *PhaseSketches) Quantile(p Phase, q float64) (time.Duration, bool) {
	s := ps.Sketch(p)
	if s == nil || s.Count() == 0 {
		return 0, false
	}
	return s.Quantile(q), true
}

// MergeFrom adds everything recorded in o into ps. It never shares o's
// sketches.
func (ps *PhaseSketches) MergeFrom(o *PhaseSketches) {
	if o == nil {
		return
	}
	for p, s := range o.s {
		if s == nil || s.Count() == 0 {
			continue
		}
		if ps.s[p] == nil {
			ps.s[p] = NewSketch()
		}
		ps.s[p].MergeFrom(s)
	}
}

// Copy returns a deep copy.
func (ps *PhaseSketches) Copy() PhaseSketches {
	var c PhaseSketches
	for p, s := range ps.s {
		if s != nil {
			c.s[p] = s.Copy()
		}
	}
	return c
}

// Reset empties ps, keeping its sketches' memory for reuse.
func (ps *PhaseSketches) Reset() {
	for _, s := range ps.s {
		if s != nil {
			s.Reset()
		}
	}
}

// Proto is the protocol a request was sent with.
type Proto uint8

// The protocols. Their names are part of the JSON summary contract.
const (
	// ProtoUnknown is a request that failed before the client knew the
	// protocol (an https:// request whose TLS handshake, which chooses
	// it, never finished).
	ProtoUnknown Proto = iota
	ProtoHTTP10
	ProtoHTTP11
	ProtoHTTP2
	NumProtos // number of protocols, not a protocol
)

var protoNames = [NumProtos]string{
	ProtoUnknown: "unknown",
	ProtoHTTP10:  "HTTP/1.0",
	ProtoHTTP11:  "HTTP/1.1",
	ProtoHTTP2:   "HTTP/2.0",
}

// String returns the protocol's name as HTTP writes it, e.g. "HTTP/2.0".
func (p Proto) String() string {
	if p < NumProtos {
		return protoNames[p]
	}
	return "unknown"
}

// ParseProto returns the protocol named name, as String spells it.
func ParseProto(name string) (Proto, bool) {
	for p, n := range protoNames {
		if n == name {
			return Proto(p), true
		}
	}
	return 0, false
}
