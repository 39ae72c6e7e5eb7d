package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/agentpb"
	"github.com/surgeload/surge/internal/agent/agentpb/agentpbconnect"
	"github.com/surgeload/surge/internal/metrics"
)

// Registry defaults and limits (docs/limits.md, "Remote agents").
const (
	// DefaultHeartbeat is how often agents send a heartbeat.
	DefaultHeartbeat = time.Second
	// LostAfter is how many heartbeats (or, in a run, snapshot intervals,
	// whichever is longer) an agent may stay silent before it is lost.
	LostAfter = 3
	// DefaultMaxAgents bounds the agents one server keeps: each holds a
	// stream, three goroutines and a few buffers.
	DefaultMaxAgents = 1000
	// helloTimeout bounds the wait for an agent's Hello and for its clock
	// handshake: a connection that says nothing is not kept.
	helloTimeout = 10 * time.Second
	// lostRetention is how long a lost agent stays listed (as lost) unless
	// it comes back under its name.
	lostRetention = 10 * time.Minute
	// maxAgentMessage bounds one message from an agent: a snapshot, at
	// most metrics.MaxEncodedSnapshot, and a little framing.
	maxAgentMessage = metrics.MaxEncodedSnapshot + 64<<10
	// sendBuffer is the messages queued for one agent's stream: a run's
	// Segment, its adjustments, pongs. A queue that stays full means the
	// agent does not read; its heartbeat will tell.
	sendBuffer = 64
	// jobBuffer holds a run's snapshots between the stream and the
	// controller: minutes of 1 s intervals, so a busy merge does not stall
	// the stream (and with it the heartbeats).
	jobBuffer = 256
	// flushWait bounds how long the end of a stream waits for its last
	// message (a RunOver) to be written.
	flushWait = time.Second
)

// Agent states as List reports them.
const (
	StateConnecting = "connecting" // registered, measuring its clock
	StateIdle       = "idle"       // connected, not running anything (it may be reserved for a run)
	StateBusy       = "busy"       // running a share of a run
	StateLost       = "lost"       // silent for LostAfter intervals, or its stream broke mid-run
)

// RegistryOptions configure a Registry. The zero value works.
type RegistryOptions struct {
	// Version is the server's Surge version; an agent of another version
	// is refused with a message naming both.
	Version   string
	Heartbeat time.Duration // 0: DefaultHeartbeat
	MaxAgents int           // 0: DefaultMaxAgents
	Logger    *slog.Logger  // nil: discard
}

// Info describes one agent, for the API's agent list.
type Info struct {
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	Version   string            `json:"version"`
	Cores     int               `json:"cores"`
	State     string            `json:"state"`
	CPU       float64           `json:"cpu"`             // cores the agent used, as of its last heartbeat
	Run       string            `json:"run,omitempty"`   // the run it works for
	Share     string            `json:"share,omitempty"` // its share of that run: "2/3" is the second of three
	Address   string            `json:"address"`
	Connected time.Time         `json:"connected"`
	LastSeen  time.Time         `json:"last_seen"`
	// ClockOffsetMS is the agent's clock's offset from the server's
	// (server minus agent) as its handshake measured it, and RTTMS the
	// round trip of the ping it came from: the offset's error is at most
	// half of it.
	ClockOffsetMS float64 `json:"clock_offset_ms"`
	RTTMS         float64 `json:"rtt_ms"`
}

// Registry is the server's end of the agents' streams and the list of
// agents. Its methods are safe for concurrent use.
type Registry struct {
	opts RegistryOptions
	log  *slog.Logger

	mu     sync.Mutex
	agents map[string]*conn // by name: connected, and lost ones kept a while
	closed bool
}

// NewRegistry returns an empty registry.
func NewRegistry(o RegistryOptions) *Registry {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.MaxAgents <= 0 {
		o.MaxAgents = DefaultMaxAgents
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{opts: o, log: o.Logger, agents: map[string]*conn{}}
}

// Handler returns the path and the Connect handler of the agents' service.
// It does not authenticate: mount it behind the agent-token check.
func (r *Registry) Handler() (string, http.Handler) {
	path, h := agentpbconnect.NewAgentServiceHandler(service{r}, connect.WithReadMaxBytes(maxAgentMessage))
	return path, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Connect gives the handler no ResponseWriter: the stream's
		// deadlines travel in the context (Connect's end).
		ctx := context.WithValue(req.Context(), controllerKey{}, http.NewResponseController(w))
		h.ServeHTTP(w, req.WithContext(ctx))
	})
}

// controllerKey keys the stream's http.ResponseController in its context.
type controllerKey struct{}

// Close ends every agent's stream; agents reconnect to whatever serves
// next. Agents of a running run are lost to it.
func (r *Registry) Close() {
	r.mu.Lock()
	r.closed = true
	conns := slices.Collect(maps.Values(r.agents))
	r.mu.Unlock()
	for _, c := range conns {
		c.end(errors.New("the server is shutting down"))
	}
}

// List returns every known agent, by name.
func (r *Registry) List() []Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(time.Now())
	out := make([]Info, 0, len(r.agents))
	for _, name := range slices.Sorted(maps.Keys(r.agents)) {
		out = append(out, r.agents[name].info())
	}
	return out
}

// prune forgets agents lost for longer than lostRetention. r.mu is held.
func (r *Registry) prune(now time.Time) {
	for name, c := range r.agents {
		if c.state == StateLost && now.Sub(c.lastSeen) > lostRetention {
			delete(r.agents, name)
		}
	}
}

// Acquire reserves n idle agents whose labels include every one of labels
// for the run (n == 0: every such agent, at least one), and returns them
// in name order. With fewer available it
// reserves none and returns a *TooFewError. The agents stay reserved for
// the run, between and after their Runs, until Release.
func (r *Registry) Acquire(run string, n int, labels map[string]string) ([]*Agent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var idle []*conn
	connected := 0
	for _, c := range r.agents {
		if c.state == StateLost || c.state == StateConnecting {
			continue
		}
		connected++
		if c.state == StateIdle && c.job == nil && matches(c.labels, labels) {
			idle = append(idle, c)
		}
	}
	if n <= 0 {
		n = max(len(idle), 1) // every idle agent that matches, at least one
	}
	if len(idle) < n {
		return nil, &TooFewError{Want: n, Idle: len(idle), Connected: connected, Labels: labels}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].name < idle[j].name })
	out := make([]*Agent, n)
	for i, c := range idle[:n] {
		j := &job{run: run, index: i, count: n, in: make(chan *agentpb.AgentMessage, jobBuffer), lost: make(chan struct{})}
		c.job = j // reserved; busy once its Run sends the segment
		out[i] = &Agent{c: c, j: j}
	}
	return out, nil
}

// Release gives the agents back: those still reserved for their run and
// connected become idle.
func (r *Registry) Release(agents []*Agent) {
	for _, a := range agents {
		a.release()
	}
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// conn is one agent: its stream while it is connected, and what the
// registry knows of it.
type conn struct {
	reg       *Registry
	name      string
	version   string
	addr      string
	cores     int
	labels    map[string]string
	connected time.Time
	send      chan outgoing // drained by the stream's writer
	stop      context.CancelCauseFunc
	done      chan struct{} // closed when the stream has ended

	// Guarded by reg.mu.
	state       string
	lastSeen    time.Time
	cpu         float64
	offset, rtt time.Duration
	job         *job // the run the agent is reserved for
	overSent    map[string]bool
}

// outgoing is a message for the agent; flushed, when set, is closed once
// it was written (or the stream ended).
type outgoing struct {
	m       *agentpb.ServerMessage
	flushed chan struct{}
}

// job is one agent's part in one run.
type job struct {
	run          string
	index, count int
	interval     time.Duration              // set by Run
	in           chan *agentpb.AgentMessage // snapshots and Done for the run
	lost         chan struct{}              // closed when the agent is lost to the run
	lostErr      error                      // why; set before lost is closed
}

func (c *conn) info() Info {
	i := Info{Name: c.name, Labels: c.labels, Version: c.version, Cores: c.cores, State: c.state, CPU: c.cpu,
		Address: c.addr, Connected: c.connected.UTC(), LastSeen: c.lastSeen.UTC(),
		ClockOffsetMS: float64(c.offset) / 1e6, RTTMS: float64(c.rtt) / 1e6}
	if i.Labels == nil {
		i.Labels = map[string]string{}
	}
	if c.job != nil {
		i.Run, i.Share = c.job.run, fmt.Sprintf("%d/%d", c.job.index+1, c.job.count)
	}
	return i
}

// enqueue queues m for the agent; false if the stream has ended.
func (c *conn) enqueue(m *agentpb.ServerMessage) bool {
	select {
	case c.send <- outgoing{m: m}:
		return true
	case <-c.done:
		return false
	}
}

// end ends the stream with cause.
func (c *conn) end(cause error) { c.stop(cause) }

// silence is how long the agent may stay silent. r.mu is held.
func (c *conn) silence() time.Duration {
	d := c.reg.opts.Heartbeat
	if c.job != nil && c.job.interval > d {
		d = c.job.interval
	}
	return LostAfter * d
}

// loseJob marks the agent lost to its run with why, once. r.mu is held.
func (c *conn) loseJob(why error) {
	j := c.job
	if j == nil {
		return
	}
	select {
	case <-j.lost:
		return
	default:
	}
	// The controller names the agent; the error says what happened.
	j.lostErr = fmt.Errorf("%w: %w", why, agent.ErrLost)
	close(j.lost)
}

type service struct{ r *Registry }

var _ agentpbconnect.AgentServiceHandler = service{}

// Connect serves one agent's stream: the Hello, the clock handshake, then
// heartbeats, segments and snapshots until either side ends it.
func (s service) Connect(ctx context.Context, st *connect.BidiStream[agentpb.AgentMessage, agentpb.ServerMessage]) error {
	r := s.r
	rc, _ := ctx.Value(controllerKey{}).(*http.ResponseController)
	ctx, stop := context.WithCancelCause(ctx)
	// The reader and the writer use the stream: the handler may return
	// only once both have ended, or the server would write its end while
	// they still read and write. A past read deadline ends a Receive at
	// once; a Send blocked on a peer that does not read (a hung agent)
	// gets flushWait, then a past write deadline.
	var wg sync.WaitGroup
	writerDone := make(chan struct{})
	writing := false // the writer was started
	defer func() {
		stop(nil)
		if rc != nil {
			_ = rc.SetReadDeadline(time.Now())
			if writing {
				select {
				case <-writerDone:
				case <-time.After(flushWait):
					_ = rc.SetWriteDeadline(time.Now())
				}
			}
			wg.Wait()
		}
	}()

	// One reader: Receive is not called from two goroutines. Each message
	// comes with the time it arrived (a ping's t1).
	type received struct {
		m  *agentpb.AgentMessage
		at time.Time
	}
	msgs := make(chan received, 16) // a few messages: the loop below keeps up
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(msgs)
		for {
			m, err := st.Receive()
			if err != nil {
				stop(fmt.Errorf("reading from the agent: %w", err))
				return
			}
			select {
			case msgs <- received{m, time.Now()}:
			case <-ctx.Done():
				return
			}
		}
	}()

	var hello *agentpb.Hello
	select {
	case m, ok := <-msgs:
		if !ok {
			return nil
		}
		hello = m.m.GetHello()
	case <-time.After(helloTimeout):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("no hello from the agent"))
	case <-ctx.Done():
		return nil
	}
	c, refused := r.register(hello, st.Peer().Addr, stop)
	if refused != nil {
		r.log.Warn("agent refused", "name", hello.GetName(), "addr", st.Peer().Addr, "why", refused.GetMessage())
		return st.Send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Refused{Refused: refused}})
	}
	defer r.disconnected(c, ctx)
	if err := st.Send(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Welcome{Welcome: &agentpb.Welcome{
		ServerVersion: r.opts.Version, HeartbeatNanos: int64(r.opts.Heartbeat)}}}); err != nil {
		return nil
	}
	r.log.Info("agent connected", "name", c.name, "addr", c.addr, "version", c.version, "cores", c.cores, "labels", c.labels)
	if last := hello.GetLastRun(); last != "" {
		c.enqueue(runOver(last, "run "+last+" is over for this agent: it lost its connection to the server during it"))
	}

	// The writer: the only caller of Send from here on.
	writing = true
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(writerDone)
		for {
			select {
			case o := <-c.send:
				if p := o.m.GetPong(); p != nil {
					p.ServerSendUnixNano = time.Now().UnixNano()
				}
				err := st.Send(o.m)
				if o.flushed != nil {
					close(o.flushed)
				}
				if err != nil {
					stop(fmt.Errorf("writing to the agent: %w", err))
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()

	tick := time.NewTicker(r.opts.Heartbeat / 2)
	defer tick.Stop()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			r.handle(ctx, c, m.m, m.at)
		case now := <-tick.C:
			r.mu.Lock()
			silent := now.Sub(c.lastSeen)
			limit := c.silence()
			if c.state == StateConnecting && silent < helloTimeout {
				limit = helloTimeout
			}
			lost := silent > limit
			var over *agentpb.ServerMessage
			if lost {
				c.state = StateLost
				if c.job != nil {
					c.loseJob(fmt.Errorf("silent for %v (more than %d intervals)", silent.Round(time.Millisecond), LostAfter))
					over = runOver(c.job.run, fmt.Sprintf("run %s is over for this agent: it was silent for %v and was marked lost", c.job.run, silent.Round(time.Millisecond)))
				}
			}
			r.mu.Unlock()
			if !lost {
				continue
			}
			r.log.Warn("agent lost: silent", "name", c.name, "silent", silent.Round(time.Millisecond))
			if over != nil {
				// Queued for a hung agent to read when it wakes: the stream
				// then ends, and it connects anew.
				flushed := make(chan struct{})
				select {
				case c.send <- outgoing{m: over, flushed: flushed}:
					select {
					case <-flushed:
					case <-time.After(flushWait):
					}
				default:
				}
			}
			stop(fmt.Errorf("silent for %v", silent.Round(time.Millisecond)))
			return nil
		case <-ctx.Done():
			// What the agent sent before its stream ended (a last
			// snapshot, its Done) still counts.
			for {
				select {
				case m, ok := <-msgs:
					if !ok {
						return nil
					}
					r.handle(ctx, c, m.m, m.at)
				default:
					return nil
				}
			}
		}
	}
}

func runOver(run, why string) *agentpb.ServerMessage {
	return &agentpb.ServerMessage{Msg: &agentpb.ServerMessage_RunOver{RunOver: &agentpb.RunOver{Run: run, Reason: why}}}
}

// register admits the agent that sent hello, or says why not.
func (r *Registry) register(h *agentpb.Hello, addr string, stop context.CancelCauseFunc) (*conn, *agentpb.Refused) {
	refuse := func(reason agentpb.Refused_Reason, format string, args ...any) (*conn, *agentpb.Refused) {
		return nil, &agentpb.Refused{Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case h == nil:
		return refuse(agentpb.Refused_REASON_BAD_HELLO, "the agent's first message must be its Hello")
	case h.GetVersion() != r.opts.Version:
		return refuse(agentpb.Refused_REASON_VERSION, "agent version %s does not match server version %s: run the same Surge release on the server and its agents", h.GetVersion(), r.opts.Version)
	case !validName(h.GetName()):
		return refuse(agentpb.Refused_REASON_BAD_HELLO, "agent name %q: use 1 to 128 letters, digits, '.', '_' and '-'", h.GetName())
	case len(h.GetLabels()) > maxLabels:
		return refuse(agentpb.Refused_REASON_BAD_HELLO, "%d labels: an agent may have at most %d", len(h.GetLabels()), maxLabels)
	}
	for k, v := range h.GetLabels() {
		if !validName(k) || len(v) > maxLabelValue {
			return refuse(agentpb.Refused_REASON_BAD_HELLO, "label %q=%q: keys are names like agent names, values at most %d bytes", k, v, maxLabelValue)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.prune(now)
	if r.closed {
		return refuse(agentpb.Refused_REASON_FULL, "the server is shutting down")
	}
	if old := r.agents[h.GetName()]; old != nil && old.state != StateLost {
		return refuse(agentpb.Refused_REASON_NAME_TAKEN, "an agent named %s is connected already (from %s): give each agent its own --name", h.GetName(), old.addr)
	}
	if _, known := r.agents[h.GetName()]; !known && len(r.agents) >= r.opts.MaxAgents {
		return refuse(agentpb.Refused_REASON_FULL, "the server has %d agents, as many as it takes", len(r.agents))
	}
	c := &conn{reg: r, name: h.GetName(), version: h.GetVersion(), addr: addr, cores: int(h.GetCores()),
		labels: maps.Clone(h.GetLabels()), connected: now, send: make(chan outgoing, sendBuffer),
		stop: stop, done: make(chan struct{}), state: StateConnecting, lastSeen: now}
	r.agents[c.name] = c
	return c, nil
}

// Bounds of a Hello.
const (
	maxLabels     = 64
	maxLabelValue = 256
	maxName       = 128
)

func validName(s string) bool {
	if s == "" || len(s) > maxName {
		return false
	}
	for _, r := range s {
		ok := r == '.' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// handle takes one message from the agent, received at at.
func (r *Registry) handle(ctx context.Context, c *conn, msg *agentpb.AgentMessage, at time.Time) {
	r.mu.Lock()
	c.lastSeen = at
	j := c.job
	r.mu.Unlock()
	switch m := msg.GetMsg().(type) {
	case *agentpb.AgentMessage_Ping:
		c.enqueue(&agentpb.ServerMessage{Msg: &agentpb.ServerMessage_Pong{Pong: &agentpb.Pong{
			Id: m.Ping.GetId(), AgentSendUnixNano: m.Ping.GetAgentSendUnixNano(), ServerReceiveUnixNano: at.UnixNano()}}})
	case *agentpb.AgentMessage_Ready:
		r.mu.Lock()
		if c.state == StateConnecting {
			c.state = StateIdle
		}
		c.offset, c.rtt = time.Duration(m.Ready.GetOffsetNanos()), time.Duration(m.Ready.GetRttNanos())
		r.mu.Unlock()
	case *agentpb.AgentMessage_Heartbeat:
		r.mu.Lock()
		c.cpu = m.Heartbeat.GetCpuCores()
		r.mu.Unlock()
	case *agentpb.AgentMessage_Snapshot:
		r.deliver(ctx, c, j, m.Snapshot.GetRun(), msg)
	case *agentpb.AgentMessage_Done:
		r.deliver(ctx, c, j, m.Done.GetRun(), msg)
	}
}

// deliver hands a run's snapshot or Done to the agent's Run, or answers
// data for a run the agent no longer works for.
func (r *Registry) deliver(ctx context.Context, c *conn, j *job, run string, m *agentpb.AgentMessage) {
	if j == nil || j.run != run {
		r.staleRun(c, run)
		return
	}
	select {
	case j.in <- m: // first: a stream that just ended still delivers
		return
	default:
	}
	select {
	case j.in <- m:
	case <-j.lost:
	case <-ctx.Done():
	}
}

// staleRun answers data for a run the agent no longer works for, once.
func (r *Registry) staleRun(c *conn, run string) {
	r.mu.Lock()
	if c.overSent == nil {
		c.overSent = map[string]bool{}
	}
	sent := c.overSent[run]
	c.overSent[run] = true
	r.mu.Unlock()
	if !sent {
		c.enqueue(runOver(run, "run "+run+" is over for this agent"))
	}
}

// disconnected records the end of c's stream: an agent working for a run
// is lost to it; an idle one leaves the list.
func (r *Registry) disconnected(c *conn, ctx context.Context) {
	cause := context.Cause(ctx)
	r.mu.Lock()
	close(c.done)
	busy := c.job != nil
	if busy {
		c.loseJob(fmt.Errorf("its stream ended: %w", cause))
	}
	switch {
	case busy || c.state == StateLost:
		c.state = StateLost
	case r.agents[c.name] == c:
		delete(r.agents, c.name)
	}
	r.mu.Unlock()
	r.log.Info("agent disconnected", "name", c.name, "why", cause)
}
