package remote

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/agentpb"
	"github.com/surgeload/surge/internal/agent/agentpb/agentpbconnect"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
)

// Worker defaults and limits (docs/limits.md, "Remote agents").
const (
	DefaultMinBackoff = 500 * time.Millisecond // first wait before reconnecting
	DefaultMaxBackoff = 30 * time.Second       // the wait doubles up to this
	// handshakePings are sent at each connection; the one with the least
	// round trip sets the clock offset.
	handshakePings = 8
	// resyncEvery is how often a connected agent pings again, to follow a
	// drifting clock (the best of the last clockKeep pings counts).
	resyncEvery = 15 * time.Second
	clockKeep   = 8
	// maxSegment bounds a Segment message: a plan with its data rows and
	// bodies (scenario.MaxWirePlan), its env values and the framing.
	maxSegment = scenario.MaxWirePlan + 1<<20
	// dialTimeout bounds connecting to the server; pingTimeout is how long
	// the HTTP/2 connection may carry nothing before it is pinged, and
	// how long the ping may take, so a vanished server is noticed.
	dialTimeout = 10 * time.Second
	pingTimeout = 5 * time.Second
)

// WorkerOptions configure a Worker. Server, Token, Name and Version are
// required.
type WorkerOptions struct {
	// Server is the server's base URL: https://host:port, or http:// on a
	// loopback address only (HTTP/2 without TLS is not offered elsewhere).
	Server  string
	Token   string            // the server's agent token
	Name    string            // unique among the server's agents
	Labels  map[string]string // for runs that pick agents by label
	Version string            // this Surge's version; the server's must be the same
	Cores   int               // 0: GOMAXPROCS
	TLS     *tls.Config       // for https: nil verifies with the system's roots
	Logger  *slog.Logger      // nil: discard
	// MinBackoff and MaxBackoff bound the wait between reconnections (0:
	// the defaults); it doubles after each failed attempt, with jitter.
	MinBackoff, MaxBackoff time.Duration

	now func() time.Time // the agent's wall clock (tests skew it); nil: time.Now
}

// Worker is the agent's end: it connects out to a server and runs the
// segments it is given. Run it once.
type Worker struct {
	opts    WorkerOptions
	log     *slog.Logger
	client  agentpbconnect.AgentServiceClient
	lastRun string // the run the last stream ended during, for the next Hello
	// read is when the last bytes came from the server, as time since
	// born (monotonic): a large message (a segment of many MiB on a slow
	// link) says the server is there long before it is whole.
	born time.Time
	read atomic.Int64
}

// liveBody notes when the server's bytes arrive.
type liveBody struct {
	io.ReadCloser
	w *Worker
}

func (b liveBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.read.Store(int64(time.Since(b.w.born)))
	}
	return n, err
}

// liveTransport wraps every response body in a liveBody.
type liveTransport struct {
	http.RoundTripper
	w *Worker
}

func (t liveTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(r)
	if resp != nil && resp.Body != nil {
		resp.Body = liveBody{resp.Body, t.w}
	}
	return resp, err
}

// lastRead is when bytes last came from the server.
func (w *Worker) lastRead() time.Time { return w.born.Add(time.Duration(w.read.Load())) }

// NewWorker checks o and returns a worker; nothing connects until Run.
func NewWorker(o WorkerOptions) (*Worker, error) {
	u, err := url.Parse(o.Server)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("server %q: want a URL such as https://surge.example:8089", o.Server)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("server %q: agents talk HTTP/2, which without TLS is offered on loopback only: "+
			"start the server with --tls-cert and --tls-key and give https://", o.Server)
	}
	switch {
	case o.Token == "":
		return nil, errors.New("no agent token: give the one the server printed (or its --agent-token)")
	case !validName(o.Name):
		return nil, fmt.Errorf("agent name %q: use 1 to %d letters, digits, '.', '_' and '-'", o.Name, maxName)
	case len(o.Labels) > maxLabels:
		return nil, fmt.Errorf("%d labels: an agent may have at most %d", len(o.Labels), maxLabels)
	}
	for k, v := range o.Labels {
		if !validName(k) || len(v) > maxLabelValue {
			return nil, fmt.Errorf("label %q: keys use letters, digits, '.', '_' and '-'; values have at most %d bytes", k+"="+v, maxLabelValue)
		}
	}
	if o.Cores <= 0 {
		o.Cores = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.now == nil {
		o.now = time.Now
	}
	var protos http.Protocols
	if u.Scheme == "https" {
		protos.SetHTTP2(true)
	} else {
		protos.SetUnencryptedHTTP2(true)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}).DialContext,
		TLSClientConfig:     o.TLS,
		TLSHandshakeTimeout: dialTimeout,
		Protocols:           &protos,
		HTTP2:               &http.HTTP2Config{SendPingTimeout: pingTimeout, PingTimeout: pingTimeout},
	}
	base := strings.TrimSuffix(u.String(), "/")
	w := &Worker{opts: o, log: o.Logger, born: time.Now()}
	w.client = agentpbconnect.NewAgentServiceClient(&http.Client{Transport: liveTransport{tr, w}}, base,
		connect.WithGRPC(), connect.WithReadMaxBytes(maxSegment))
	return w, nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Run connects, and reconnects with backoff whenever the stream ends,
// until ctx is cancelled (a segment that is running then stops gracefully
// and its last snapshot is sent: Run returns nil) or the server refuses
// the agent for good (an error wrapping ErrRefused).
func (w *Worker) Run(ctx context.Context) error {
	backoff := w.opts.MinBackoff
	for {
		welcomed, err := w.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRefused) {
			return err
		}
		if welcomed {
			backoff = w.opts.MinBackoff
		}
		// Jitter: agents that lost one server together do not come back
		// in lockstep.
		wait := backoff/2 + rand.N(backoff/2+1)
		w.log.Warn("not connected to the server; retrying", "server", w.opts.Server, "err", err, "in", wait.Round(time.Millisecond))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, w.opts.MaxBackoff)
	}
}

// received is a message from the server and when it arrived (agent clock).
type received struct {
	m  *agentpb.ServerMessage
	at time.Time
}

// segment is the segment running in this process.
type segment struct {
	run      string
	interval time.Duration // its snapshot interval
	local    *agent.Local
	stop     context.CancelCauseFunc // graceful: in-flight requests finish
	done     chan struct{}           // closed when the segment has ended and its Done is queued
	discard  atomic.Bool             // the run is over for us: send nothing more
	ended    atomic.Bool             // Run returned: only the Done is left to queue
	// unsent counts the requests of the snapshots discarded once the run
	// was over for us: made, and never counted by the server.
	unsent atomic.Int64
}

// session is one stream: Hello, clock handshake, then work until the
// stream ends or ctx is cancelled. welcomed says the server accepted us.
func (w *Worker) session(ctx context.Context) (welcomed bool, err error) {
	// The stream outlives ctx a little: after a cancel, the running
	// segment's last snapshot and Done still go out.
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	st := w.client.Connect(sctx)
	st.RequestHeader().Set("Authorization", "Bearer "+w.opts.Token)
	readerDone := make(chan struct{})
	reading := false
	defer func() {
		// Receive and CloseResponse may not run at once: the cancel ends
		// the reader's Receive first.
		cancel(nil)
		if reading {
			<-readerDone
		}
		_ = st.CloseResponse()
	}()

	hello := &agentpb.Hello{Name: w.opts.Name, Version: w.opts.Version, Cores: int32(w.opts.Cores),
		Labels: maps.Clone(w.opts.Labels), LastRun: w.lastRun}
	// A failed Send is io.EOF when the server ended the stream: Receive
	// then says why.
	if err := st.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Hello{Hello: hello}}); err != nil && !errors.Is(err, io.EOF) {
		return false, w.streamErr(err)
	}
	first, err := st.Receive()
	if err != nil {
		return false, w.streamErr(err)
	}
	switch m := first.GetMsg().(type) {
	case *agentpb.ServerMessage_Refused:
		switch m.Refused.GetReason() {
		case agentpb.Refused_REASON_NAME_TAKEN, agentpb.Refused_REASON_FULL:
			return false, fmt.Errorf("the server turned the agent away: %s", m.Refused.GetMessage())
		}
		return false, fmt.Errorf("%w: %s", ErrRefused, m.Refused.GetMessage())
	case *agentpb.ServerMessage_Welcome:
	default:
		return false, fmt.Errorf("the server's first message is a %T, not a Welcome", m)
	}
	w.lastRun = "" // the Hello told the server; it answers with a RunOver
	heartbeat := w.heartbeatEvery(first.GetWelcome())

	in := make(chan received, 16) // a few messages: the loop below keeps up
	readErr := make(chan error, 1)
	reading = true
	go func() {
		defer close(readerDone)
		for {
			m, err := st.Receive()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case in <- received{m, w.opts.now()}:
			case <-sctx.Done():
				return
			}
		}
	}()
	out := make(chan *agentpb.AgentMessage, 64) // a few intervals' snapshots
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for m := range out {
			if err := st.Send(m); err != nil {
				cancel(fmt.Errorf("writing to the server: %w", err))
				return
			}
		}
	}()
	send := func(m *agentpb.AgentMessage) bool {
		select {
		case out <- m:
			return true
		case <-sctx.Done():
			return false
		}
	}

	clock := clockSamples{keep: clockKeep}
	pings := map[uint64]time.Time{} // t0 of pings not yet answered
	var pingID uint64
	ping := func() bool {
		pingID++
		t0 := w.opts.now()
		pings[pingID] = t0
		return send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Ping{Ping: &agentpb.Ping{Id: pingID, AgentSendUnixNano: t0.UnixNano()}}})
	}
	pong := func(p *agentpb.Pong, at time.Time) {
		t0, ok := pings[p.GetId()]
		if !ok {
			return
		}
		delete(pings, p.GetId())
		clock.add(sample{t0: t0.UnixNano(), t1: p.GetServerReceiveUnixNano(), t2: p.GetServerSendUnixNano(), t3: at.UnixNano()})
	}

	var cur *segment
	// handle takes a message of the server's other than a Pong.
	handle := func(m *agentpb.ServerMessage) {
		switch m := m.GetMsg().(type) {
		case *agentpb.ServerMessage_Segment:
			if cur != nil && cur.ended.Load() {
				// Its Done is queued or about to be, and the server, which
				// had it, sends the next segment: the old one is over.
				<-cur.done
				cur = nil
			}
			if cur != nil {
				send(done(m.Segment.GetRun(), "the agent is running another segment (of run "+cur.run+")"))
				return
			}
			offset, _, _ := clock.best()
			cur = w.start(m.Segment, offset, send)
		case *agentpb.ServerMessage_Adjust:
			if cur != nil && cur.run == m.Adjust.GetRun() {
				cur.local.Adjust(m.Adjust.GetValue())
			}
		case *agentpb.ServerMessage_Stop:
			if cur != nil && cur.run == m.Stop.GetRun() {
				w.log.Info("stopping the segment", "run", cur.run, "why", m.Stop.GetReason())
				cur.stop(errors.New(m.Stop.GetReason()))
			}
		case *agentpb.ServerMessage_RunOver:
			w.log.Warn("the server says the run is over for this agent", "run", m.RunOver.GetRun(), "why", m.RunOver.GetReason())
			if cur != nil && cur.run == m.RunOver.GetRun() {
				cur.discard.Store(true)
				cur.stop(errors.New(m.RunOver.GetReason()))
			}
		}
	}
	// end stops the running segment (discarding what it has not sent when
	// the stream is gone) and waits for it.
	end := func(why error, discard bool) {
		if cur == nil {
			return
		}
		if discard && !cur.discard.Swap(true) {
			w.lastRun = cur.run // not told yet that the run is over for us: ask
		}
		cur.stop(why)
		<-cur.done
		cur = nil
	}

	// The clock handshake: pings one at a time, so none waits behind another.
	timeout := time.NewTimer(helloTimeout)
	defer timeout.Stop()
	for range handshakePings {
		if !ping() {
			return true, w.streamErr(context.Cause(sctx))
		}
		for want := pingID; pings[want] != (time.Time{}); {
			select {
			case r := <-in:
				if p := r.m.GetPong(); p != nil {
					pong(p, r.at)
				} else {
					handle(r.m)
				}
			case err := <-readErr:
				return true, w.streamErr(err)
			case <-sctx.Done():
				return true, w.streamErr(context.Cause(sctx))
			case <-timeout.C:
				return true, errors.New("the server did not answer the clock handshake in time")
			case <-ctx.Done():
				return true, nil
			}
		}
	}
	offset, rtt, _ := clock.best()
	if !send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Ready{Ready: &agentpb.Ready{OffsetNanos: int64(offset), RttNanos: int64(rtt)}}}) {
		return true, w.streamErr(context.Cause(sctx))
	}
	w.log.Info("connected to the server: waiting for work", "server", w.opts.Server, "name", w.opts.Name,
		"clock_offset", offset, "rtt", rtt)

	// The server answers every ping: one goes with each heartbeat, so an
	// agent that hears nothing for LostAfter intervals — no message, and
	// no byte of one — knows the server has lost it too (it counts the
	// same intervals from its side) and stops its load by itself: an agent
	// cut off from its server must not go on loading the target unseen.
	// It then connects anew and is told the run is over.
	heard := time.Now()
	hb := time.NewTicker(heartbeat)
	defer hb.Stop()
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	cpu := agent.NewCPUMeter()
	leaving := ctx.Done()
	left := false
	for {
		var curDone chan struct{}
		if cur != nil {
			curDone = cur.done
		}
		select {
		case r := <-in:
			heard = time.Now()
			if p := r.m.GetPong(); p != nil {
				pong(p, r.at)
				continue
			}
			handle(r.m)
		case <-curDone:
			cur = nil
		case now := <-hb.C:
			limit := LostAfter * heartbeat
			run := ""
			if cur != nil {
				run = cur.run
				limit = LostAfter * max(heartbeat, cur.interval)
			}
			last := heard
			if r := w.lastRead(); r.After(last) {
				last = r // part of a message: a large one on a slow link
			}
			if silent := now.Sub(last); silent > limit {
				err := fmt.Errorf("heard nothing from the server for %v (more than %d intervals): it has lost this agent", silent.Round(time.Millisecond), LostAfter)
				if cur != nil {
					w.log.Warn("stopping the segment: the server is out of reach", "run", cur.run, "silent", silent.Round(time.Millisecond))
				}
				cancel(err) // nothing more goes out on this stream
				end(err, true)
				return true, err
			}
			send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Heartbeat{Heartbeat: &agentpb.Heartbeat{CpuCores: cpu.Cores(now), Run: run}}})
			// A ping that is no clock sample (it is not in pings): its pong
			// only says the server is there.
			pingID++
			send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Ping{Ping: &agentpb.Ping{Id: pingID, AgentSendUnixNano: w.opts.now().UnixNano()}}})
		case <-resync.C:
			ping()
		case err := <-readErr:
			cancel(err) // unblocks the segment's sends: nothing more goes out
			end(errors.New("lost the connection to the server"), true)
			return true, w.streamErr(err)
		case <-sctx.Done():
			end(errors.New("lost the connection to the server"), true)
			return true, w.streamErr(context.Cause(sctx))
		case <-leaving:
			leaving, left = nil, true
			if cur != nil {
				w.log.Info("stopping: the running segment ends gracefully first", "run", cur.run)
				cur.stop(errAgentLeaving)
			}
		}
		if left && cur == nil {
			// Every message is queued: let the writer send them, then end
			// the stream.
			close(out)
			select {
			case <-writerDone:
				_ = st.CloseRequest() // not while a Send runs
				// Wait for the server to end the stream: cancelling it
				// sooner could drop what is still in flight.
				select {
				case <-readErr:
				case <-time.After(flushWait):
				}
			case <-time.After(flushWait):
			}
			return true, nil
		}
	}
}

// heartbeatEvery is the server's heartbeat period, within sane bounds.
func (w *Worker) heartbeatEvery(m *agentpb.Welcome) time.Duration {
	d := time.Duration(m.GetHeartbeatNanos())
	if d <= 0 || d > time.Minute {
		d = DefaultHeartbeat
	}
	return max(d, 10*time.Millisecond)
}

// start runs a segment in this process. Its start instant comes on the
// server's clock and is mapped onto ours with the handshake's offset;
// snapshots go back with their bounds on the server's clock.
func (w *Worker) start(m *agentpb.Segment, offset time.Duration, send func(*agentpb.AgentMessage) bool) *segment {
	ctx, stop := context.WithCancelCause(context.Background())
	s := &segment{run: m.GetRun(), interval: time.Duration(m.GetIntervalNanos()), local: agent.NewLocal(), stop: stop, done: make(chan struct{})}
	// Everything from here runs beside the session's loop: decoding a plan
	// of many MiB (data rows, bodies) takes long enough, on a slow agent,
	// to hold up its heartbeats and have it taken for lost.
	go func() {
		defer close(s.done)
		var p scenario.Plan
		err := json.Unmarshal(m.GetPlanJson(), &p)
		if err != nil {
			err = fmt.Errorf("decoding the plan: %w", err)
		}
		interval := time.Duration(m.GetIntervalNanos())
		if err == nil && interval <= 0 {
			err = fmt.Errorf("snapshot interval %v: want a positive one", interval)
		}
		if err != nil {
			s.ended.Store(true)
			send(done(s.run, err.Error()))
			return
		}
		p.Env = m.GetEnv()
		serverStart := time.Unix(0, m.GetStartUnixNano())
		localStart := localInstant(serverStart, offset, time.Now(), w.opts.now())
		// shift maps our instants back to the server's clock: the
		// recorder's interval bounds are localStart plus whole intervals.
		shift := serverStart.Sub(localStart)
		w.log.Info("running a segment", "run", s.run, "share", fmt.Sprintf("%d/%d", m.GetIndex()+1, m.GetCount()),
			"starts_in", time.Until(localStart).Round(time.Millisecond))
		var encodeErr error
		err = s.local.Run(ctx, agent.Segment{Plan: p, Start: localStart, Interval: interval}, func(snap metrics.Snapshot) {
			if s.discard.Load() {
				s.unsent.Add(snap.Totals().Requests)
				return
			}
			snap.Start, snap.End = snap.Start.Add(shift), snap.End.Add(shift)
			b, err := metrics.EncodeSnapshot(&snap)
			if err != nil {
				if encodeErr == nil {
					encodeErr = fmt.Errorf("encoding interval %d: %w", snap.Seq, err)
				}
				return
			}
			send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Snapshot{Snapshot: &agentpb.Snapshot{Run: s.run, Data: b}}})
		})
		stop(nil)
		s.ended.Store(true)
		if s.discard.Load() {
			// The server has given up on us for this run: what we did
			// since the last snapshot it got is not in the run.
			w.log.Warn("segment ended after the run was over for this agent", "run", s.run,
				"requests_discarded", s.unsent.Load(), "why", context.Cause(ctx))
			return
		}
		err = errors.Join(err, encodeErr)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		w.log.Info("segment done", "run", s.run, "err", err)
		d := done(s.run, msg)
		d.GetDone().Left = errors.Is(context.Cause(ctx), errAgentLeaving)
		send(d)
	}()
	return s
}

// errAgentLeaving stops a share because the agent is shutting down.
var errAgentLeaving = errors.New("the agent is shutting down")

func done(run, err string) *agentpb.AgentMessage {
	return &agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Done{Done: &agentpb.Done{Run: run, Error: err}}}
}

// streamErr says what went wrong with the stream, in the agent's words:
// a wrong token is ErrRefused.
func (w *Worker) streamErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return errors.New("the server ended the stream")
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeUnauthenticated:
			return fmt.Errorf("%w: %s", ErrRefused, ce.Message())
		case connect.CodeUnimplemented:
			return fmt.Errorf("%w: %s does not serve agents (is it a surge server? %s)", ErrRefused, w.opts.Server, ce.Message())
		}
		return fmt.Errorf("%s: %s", ce.Code(), ce.Message())
	}
	return err
}
