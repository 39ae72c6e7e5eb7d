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
	// GeneratorSched is the generator's scheduling latency during the
	// interval: how long its goroutines waited, runnable, for a CPU
	// (the Go runtime's /sched/latencies:seconds, agent.SchedMeter). A
	// response read late because the generator's own CPU was busy shows
	// here, not in Lag. Like GeneratorCPU it is the whole process's, not
	// only the load's. The runtime times one in eight of each goroutine's
	// transitions, so its count is a sample; its values are the runtime
	// histogram's bucket midpoints, so its min and max are not exact.
	// Merge and Add merge it; nil: not measured (a writer older than it).
	GeneratorSched *Sketch
	// GeneratorWait is how long the generator's threads waited for a CPU
	// the OS gave to something else during the interval, in cores (0.5 =
	// on average half a thread runnable and not running; Linux's
	// per-thread schedstat run_delay, agent.WaitMeter). The Go runtime's
	// GeneratorSched does not see this wait, nor does GeneratorCPU (a
	// generator held off its cores uses less CPU, not more). Merge and Add
	// both keep the largest: it is one agent's own wait (its threads on
	// its host), so agents' waits do not add up to any one's; 0: none, or
	// not measured (not Linux, or a writer older than it).
	GeneratorWait float64
	// Messages counts error messages by "class: message", at most maxMessages
	// distinct keys plus OtherMessages.
	Messages map[string]int64
	// Monitors are the target monitors' scrapes that completed during the
	// interval (docs/monitor.md). Each belongs to the interval its T falls
	// in, which is usually this one; a scrape that ended after this
	// snapshot was taken travels with the next. Merge keeps every part's;
	// Add leaves them out, as a span's samples are its intervals'.
	Monitors []MonitorSample
	// Agent names the agent that took this snapshot and AgentCores the
	// cores it may use (0: unknown). The controller sets them on each
	// agent's snapshot as it receives it; they are not encoded: Merge
	// turns them into Agents.
	Agent      string
	AgentCores int
	// Agents are, in a merged snapshot, each agent's own figures of the
	// interval (or, after Add, of the span), in the order they first
	// came, so that any window of a run can say what each agent did.
	Agents []AgentPart
	// Flows are the flows' end-to-end iteration durations (flows.go), one
	// per flow name; Polls the poll steps' (until:), one per poll step
	// name. Merge and Add merge them by name (MergeFlows), exactly for
	// the counts.
	Flows []Flow
	Polls []Flow
}

// MonitorSample is one scrape of one target monitor, as a snapshot carries
// it: the values of its series at T, or why it failed.
type MonitorSample struct {
	Monitor string
	T       time.Time     // when the scrape was sent, by the load generator's clock
	Took    time.Duration // from sending to the end of the body
	Err     string        // why it failed; a failed sample has no values
	Dropped int           // series the monitor's cap left out of this scrape
	Values  []MonitorValue
}

// MonitorValue is one series of a MonitorSample: a rate, a gauge or a
// quantile, as the scraper made it.
type MonitorValue struct {
	Name    string
	Labels  map[string]string
	Unit    string
	Derived bool
	V       float64
}

// AgentPart is one agent's own figures of an interval or span.
type AgentPart struct {
	Name         string
	Cores        int // cores it may use; 0: unknown
	Requests     int64
	Errors       int64
	Iterations   int64
	Dropped      int64
	Due          int64
	Lag          *Sketch // nil: none recorded
	GeneratorCPU float64 // cores it used: the most of one interval, after Add
	Intervals    int     // its snapshots in this part
	// SchedCount is how many scheduling latencies it measured (its
	// GeneratorSched's count) and SchedLate how many of them were over
	// LateAfter: counts, exact over any span of parts, where a sketch per
	// agent and interval would cost kilobytes of every interval kept.
	SchedCount, SchedLate int64
}

// LateAfter is the delay past which the generator was late: the limit
// the run summary judges start lag and scheduling latency by
// (result.StartLagLimit), and past which an agent's scheduling latencies
// count in AgentPart.SchedLate.
const LateAfter = 10 * time.Millisecond

func (a *AgentPart) add(b *AgentPart, sameInterval bool) {
	a.Requests += b.Requests
	a.Errors += b.Errors
	a.Iterations += b.Iterations
	a.Dropped += b.Dropped
	a.Due += b.Due
	if b.Lag != nil && b.Lag.Count() > 0 {
		if a.Lag == nil {
			a.Lag = NewSketch()
		}
		a.Lag.MergeFrom(b.Lag)
	}
	if sameInterval {
		a.GeneratorCPU += b.GeneratorCPU // an agent's two parts of one interval
	} else {
		a.GeneratorCPU = max(a.GeneratorCPU, b.GeneratorCPU)
	}
	a.Intervals += b.Intervals
	a.Cores = max(a.Cores, b.Cores)
	a.SchedCount += b.SchedCount
	a.SchedLate += b.SchedLate
}

// MaxAgentParts is the most agents whose parts a merged snapshot keeps
// (Agents): a run on more agents keeps none, so that a long run's
// timeline does not grow by an open-model lag sketch per agent and
// interval; its windows then have no agents' rows (the whole run's rows
// are the controller's, from every agent's own snapshots).
const MaxAgentParts = 64

// agentParts counts the distinct agents of parts, up to one past
// MaxAgentParts.
func agentParts(parts []Snapshot) int {
	names := map[string]bool{}
	for i := range parts {
		if parts[i].Agent != "" {
			names[parts[i].Agent] = true
		}
		for j := range parts[i].Agents {
			names[parts[i].Agents[j].Name] = true
		}
		if len(names) > MaxAgentParts {
			break
		}
	}
	return len(names)
}

// agentPart is an agent's own snapshot as a part of the merged one.
func agentPart(p *Snapshot) AgentPart {
	a := AgentPart{Name: p.Agent, Cores: p.AgentCores, Iterations: p.Iterations, Dropped: p.Dropped, Due: p.Due,
		GeneratorCPU: p.GeneratorCPU, Intervals: 1}
	for i := range p.Endpoints {
		a.Requests += p.Endpoints[i].Requests
		a.Errors += p.Endpoints[i].Errors()
	}
	if p.Lag != nil && p.Lag.Count() > 0 {
		a.Lag = NewSketch()
		a.Lag.MergeFrom(p.Lag)
	}
	if p.GeneratorSched != nil {
		a.SchedCount = int64(p.GeneratorSched.Count())
		a.SchedLate = int64(p.GeneratorSched.CountAbove(LateAfter))
	}
	return a
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
	// Phases are the distributions of the timing phases (phases.go) of
	// the requests whose client measured them (HTTP's); empty for an
	// endpoint of other protocols. Like Latency, its sketches are shared
	// when an Endpoint is copied by value (Phases.Copy makes them its own).
	Phases PhaseSketches
	// Protos counts those requests by the protocol they were sent with
	// (HTTP/1.1, HTTP/2.0, …; ProtoUnknown for one that failed before the
	// protocol was known).
	Protos [NumProtos]int64
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
	dst.Phases.MergeFrom(&src.Phases)
	for p, n := range src.Protos {
		dst.Protos[p] += n
	}
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
	agentIndex := map[string]int{}
	addAgent := func(a *AgentPart) {
		k, ok := agentIndex[a.Name]
		if !ok {
			agentIndex[a.Name] = len(out.Agents)
			c := *a
			if a.Lag != nil {
				c.Lag = NewSketch() // never share the argument's sketch
				c.Lag.MergeFrom(a.Lag)
			}
			out.Agents = append(out.Agents, c)
			return
		}
		out.Agents[k].add(a, sameInterval)
	}
	keepParts := agentParts(parts) <= MaxAgentParts
	for i := range parts {
		p := &parts[i]
		if p.Agent != "" && keepParts {
			a := agentPart(p)
			addAgent(&a)
		}
		for j := range p.Agents {
			if keepParts {
				addAgent(&p.Agents[j])
			}
		}
		if sameInterval {
			out.Monitors = append(out.Monitors, p.Monitors...)
		}
	}
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
		out.GeneratorWait = max(out.GeneratorWait, p.GeneratorWait)
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
		if p.GeneratorSched != nil && p.GeneratorSched.Count() > 0 {
			if out.GeneratorSched == nil {
				out.GeneratorSched = NewSketch()
			}
			out.GeneratorSched.MergeFrom(p.GeneratorSched)
		}
		for m, n := range p.Messages {
			addMessage(&out.Messages, m, n)
		}
		// out's flows start nil, so MergeFlows copies every sketch:
		// nothing of the arguments is shared.
		out.Flows = MergeFlows(out.Flows, p.Flows)
		out.Polls = MergeFlows(out.Polls, p.Polls)
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
