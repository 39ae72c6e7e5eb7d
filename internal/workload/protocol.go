package workload

import (
	"context"
	nethttp "net/http"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/protocol/ws"
)

// The protocols a step can speak; a compiledStep's proto indexes a VU's
// sessions with them.
const (
	protoHTTP = iota
	protoWS
	protoGRPC
	numProtos
)

// A protocol makes the sessions of one protocol, one per VU.
type protocol interface {
	newSession(v *vu) session
}

// A session is what one VU keeps of one protocol between its steps: HTTP's
// cookie jar and keep-alive connections, a WebSocket's open socket. Only
// the VU's goroutine uses it.
type session interface {
	// do runs step s once. It renders what s sends from the VU's
	// variables, sends it, waits for the answer and fills x: the outcome
	// (its latency counted from x.start, which do sets to the send when
	// zero, to x.end; HTTP counts from the send unless x.start is the open
	// model's due time, and fills the outcome's timing phases), whether a transport failure left nothing for the
	// checks to look at, and the VU's view for its checks and extractions.
	// When nothing could be sent it sets x.missing or x.bad, and when the
	// step had nothing to send, x.none; then nothing was recorded. A
	// request do made before the step's own (a socket's handshake) is in
	// x.pre, for the VU to record first.
	do(v *vu, s *compiledStep, x *exchange)
	// endIteration is called as each of the VU's iterations ends: what
	// must not outlive it is closed (a WebSocket closes its socket, with a
	// close frame unless ctx, the run, is done).
	endIteration(ctx context.Context)
}

// exchange is what a session's do tells the VU about a step.
type exchange struct {
	o          metrics.Outcome
	endpoint   int  // the endpoint o is recorded under
	transport  bool // no response: every check and extraction fails
	start, end time.Time

	missing string // a variable the step reads is unset: nothing was sent
	bad     error  // what the step sends could not be built (a bad URL): nothing was sent
	none    bool   // the step had nothing to send (its socket was open already)

	// pre is a request made before the step's own, recorded under
	// preEndpoint when hasPre: the handshake of the socket a message went
	// out on.
	hasPre           bool
	pre              metrics.Outcome
	preEndpoint      int
	preStart, preEnd time.Time
}

// httpProtocol sends steps' requests with the run's HTTP client.
type httpProtocol struct{ c *surgehttp.Client }

func (p httpProtocol) newSession(*vu) session {
	h := &httpSession{s: p.c.NewSession()}
	// Made once: a cookie extraction asks the jar for the request URL's
	// cookies through it.
	h.cookies = func() []*nethttp.Cookie { return h.s.Jar().Cookies(h.req.URL) }
	return h
}

// httpSession is a VU's HTTP session: its cookie jar and connections.
type httpSession struct {
	s       *surgehttp.Session
	req     surgehttp.Request
	res     surgehttp.Response
	cookies func() []*nethttp.Cookie
}

func (h *httpSession) do(v *vu, s *compiledStep, x *exchange) {
	h.req.Timeout = s.timeout
	h.req.KeepBody = 0
	if s.keepBody {
		h.req.KeepBody = KeepBody
	}
	if x.missing, x.bad = s.req.build(v, &h.req); x.missing != "" || x.bad != nil {
		return
	}
	// The open model's first request of an iteration counts from its due
	// time: the wait for the VU is its queued phase. Any other request
	// counts from the client's start, so its phases add up to its latency.
	// The client's readings are the clock's (Start, and Start plus the
	// phases is the end): no clock is read here.
	queued := v.w.prog.open && !x.start.IsZero()
	h.s.Do(v.hard, &h.req, &h.res)
	if !queued {
		x.start = h.res.Start
	}
	x.end = h.res.Start.Add(h.res.Phases.Total())
	if n := h.res.CookiesDropped; n > 0 {
		v.w.rec.CookiesDropped(int64(n)) // the target set more cookies than a browser keeps
	}
	x.o = metrics.Outcome{
		Class:         h.res.Class,
		Latency:       x.end.Sub(x.start),
		BytesSent:     h.res.BytesSent,
		BytesReceived: h.res.BytesReceived,
		Phases:        h.res.Phases,
		Timed:         true,
		Queued:        queued,
		Proto:         h.res.Proto,
	}
	if queued {
		x.o.Phases[metrics.PhaseQueued] = h.res.Start.Sub(x.start)
	}
	x.transport = h.res.Err != nil
	if x.transport {
		x.o.Message = surgehttp.Message(h.res.Err)
	}
	v.view = responseView{status: h.res.Status, header: h.res.Header, body: h.res.Body, url: h.cookies}
}

func (h *httpSession) endIteration(context.Context) {}

// wsProtocol opens steps' sockets with a WebSocket dialer.
type wsProtocol struct{ d *ws.Dialer }

func (p wsProtocol) newSession(v *vu) session {
	w := &wsSession{d: p.d}
	// Made once: Await runs it on every message that arrives.
	w.match = func(msg []byte) bool {
		v.view = responseView{body: msg, header: noHeader}
		ec := evalCtx{res: &v.view}
		for i := range w.cur.expect {
			if ok, _ := w.cur.expect[i].eval(&ec); !ok {
				return false
			}
		}
		return true
	}
	return w
}

// noHeader is the headers of every WebSocket message: none.
var noHeader = nethttp.Header{}

// wsSession is a VU's socket: opened by the first WebSocket step that
// needs it, kept across the steps of an iteration, closed by a ws_close
// step, by a failure, or as the iteration ends.
type wsSession struct {
	d     *ws.Dialer
	conn  *ws.Conn // nil: none open
	url   string   // the open socket's URL
	req   surgehttp.Request
	cur   *wsStep // the step whose message Await is waiting for
	match func([]byte) bool
}

func (w *wsSession) do(v *vu, s *compiledStep, x *exchange) {
	st := s.ws
	if st.close {
		w.close(true)
		x.none = true
		return
	}
	if x.missing, x.bad = s.req.build(v, &w.req); x.missing != "" || x.bad != nil {
		return
	}
	var msg []byte
	if st.msgTmpl != nil {
		// Rendered before the socket opens: a step whose message cannot be
		// made opens nothing.
		if msg, x.missing = st.msgTmpl.Append(v.wsMsg[:0], &v.st); x.missing != "" {
			return
		}
		v.wsMsg = msg
	} else {
		msg = st.msg
	}
	u := w.req.URL.String()
	if w.conn != nil && u != w.url {
		w.close(true) // another socket: the step's own replaces the VU's
	}
	if w.conn == nil {
		if !w.open(v, s, u, x) || !st.exchanges() {
			return
		}
	} else if !st.exchanges() {
		x.none = true
		return
	}
	w.exchange(v, s, msg, x)
}

// open opens the step's socket. When the step exchanges a message too,
// the handshake goes in x.pre, a request of its own, and open reports
// whether the exchange can go on; otherwise the handshake is the step's
// outcome in x.
func (w *wsSession) open(v *vu, s *compiledStep, u string, x *exchange) bool {
	start := x.start
	if start.IsZero() {
		start = time.Now()
	}
	ctx, cancel := withTimeout(v.hard, s.timeout)
	conn, h := w.d.Dial(ctx, u, w.req.Header)
	end := time.Now()
	cancel()
	o := metrics.Outcome{Class: h.Class, Latency: end.Sub(start), BytesSent: h.BytesSent, BytesReceived: h.BytesReceived}
	if h.Err != nil {
		o.Message = ws.Message(h.Err)
	}
	if conn != nil {
		w.conn, w.url = conn, u
	}
	if conn == nil || !s.ws.exchanges() {
		// The handshake is the step's outcome: a failed one fails the
		// step's expect and extractions, as a transport error does.
		x.o, x.endpoint, x.start, x.end, x.transport = o, s.ws.openEndpoint, start, end, conn == nil
		if conn == nil && s.ws.check >= 0 {
			v.w.rec.RecordCheck(v.id, s.ws.check, false)
		}
		v.view = responseView{header: noHeader}
		return false
	}
	x.hasPre, x.pre, x.preEndpoint, x.preStart, x.preEnd = true, o, s.ws.openEndpoint, start, end
	x.start = time.Time{} // the message's round trip counts from its own send
	return true
}

// exchange sends the step's message, if any, and waits for the one its
// expect describes, if any: one request, from the send (or the wait) to
// the reply (or the send's end).
func (w *wsSession) exchange(v *vu, s *compiledStep, msg []byte, x *exchange) {
	st := s.ws
	sent0, recv0 := w.conn.Bytes()
	if x.start.IsZero() {
		x.start = time.Now()
	}
	var err error
	var ctx context.Context
	var reply []byte
	awaiting := false
	if st.send {
		var cancel context.CancelFunc
		ctx, cancel = withTimeout(v.hard, s.timeout)
		err = w.conn.Send(ctx, msg)
		cancel()
	}
	v.view = responseView{header: noHeader}
	if err == nil && len(st.expect) > 0 {
		var cancel context.CancelFunc
		ctx, cancel = withTimeout(v.hard, st.within)
		w.cur, awaiting = st, true
		reply, err = w.conn.Await(ctx, st.keep, w.match)
		w.cur = nil
		cancel()
	}
	x.end = time.Now()
	sent1, recv1 := w.conn.Bytes()
	x.o = metrics.Outcome{Latency: x.end.Sub(x.start), BytesSent: sent1 - sent0, BytesReceived: recv1 - recv0}
	x.endpoint = s.endpoint
	if st.check >= 0 {
		v.w.rec.RecordCheck(v.id, st.check, err == nil)
	}
	if err != nil {
		x.transport = true
		x.o.Class = ws.Classify(ctx, err)
		x.o.Message = ws.Message(err)
		if awaiting && x.o.Class == metrics.Timeout && v.hard.Err() == nil {
			x.o.Message = "no message " + st.desc // within passed
		}
		w.close(false) // a socket that failed (or timed out, which closed it) is not used again
		return
	}
	v.view.body = reply
}

func (w *wsSession) close(polite bool) {
	if w.conn != nil {
		w.conn.Close(polite)
		w.conn, w.url = nil, ""
	}
}

func (w *wsSession) endIteration(ctx context.Context) { w.close(ctx.Err() == nil) }

// withTimeout bounds ctx by d; 0 means no bound of its own, as an HTTP
// request's timeout does.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
