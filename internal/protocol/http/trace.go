package http

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// Timing phases of requests that go through net/http, from its
// httptrace hooks.
//
// A session keeps one trace (and the context that carries it, while the
// caller's context stays the same), so tracing costs no allocation per
// request. Some hooks run on the goroutine that dials (ConnectStart,
// ConnectDone, the TLS handshake): a mutex guards the readings, and hooks
// that fire between two requests change nothing. One case can blur: a
// dial that lost the race to an idle connection and goes on in the
// background may report its handshake during the session's next request;
// that request's phases still add up to its time, and a new connection's
// connect and tls stay within its time before the connection came.

// stdTrace collects one request's readings (mono; 0: not seen).
type stdTrace struct {
	mu                  sync.Mutex
	ended               bool
	connStart, connDone time.Duration // first dial start (DNS or TCP), last dial end
	tlsStart, tlsDone   time.Duration
	got, wrote, first   time.Duration
	reused              bool
	proto               metrics.Proto // from the TLS handshake's ALPN, before any response
	ct                  httptrace.ClientTrace
}

// traced returns ctx carrying the session's trace, reset for a request.
func (s *Session) traced(ctx context.Context) (context.Context, *stdTrace) {
	t := s.trace
	if t == nil {
		t = newStdTrace()
		s.trace = t
	}
	if ctx != s.traceParent {
		s.traceParent, s.traceCtx = ctx, httptrace.WithClientTrace(ctx, &t.ct)
	}
	t.mu.Lock()
	t.ended, t.reused, t.proto = false, false, metrics.ProtoUnknown
	t.connStart, t.connDone, t.tlsStart, t.tlsDone = 0, 0, 0, 0
	t.got, t.wrote, t.first = 0, 0, 0
	t.mu.Unlock()
	return s.traceCtx, t
}

func newStdTrace() *stdTrace {
	t := &stdTrace{}
	t.ct = httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { t.setStart(&t.connStart) },
		ConnectStart:         func(string, string) { t.setStart(&t.connStart) },
		ConnectDone:          func(string, string, error) { t.set(&t.connDone) },
		TLSHandshakeStart:    func() { t.setStart(&t.tlsStart) },
		TLSHandshakeDone:     t.tlsHandshakeDone,
		GotConn:              t.gotConn,
		WroteRequest:         func(httptrace.WroteRequestInfo) { t.set(&t.wrote) },
		GotFirstResponseByte: func() { t.setStart(&t.first) },
	}
	return t
}

// setStart takes a reading into *at unless it has one: a phase begins
// with the first event (happy eyeballs dials more than once).
func (t *stdTrace) setStart(at *time.Duration) {
	now := mono()
	t.mu.Lock()
	if !t.ended && *at == 0 {
		*at = now
	}
	t.mu.Unlock()
}

// set takes a reading into *at: a phase ends with the last event.
func (t *stdTrace) set(at *time.Duration) {
	now := mono()
	t.mu.Lock()
	if !t.ended {
		*at = now
	}
	t.mu.Unlock()
}

func (t *stdTrace) tlsHandshakeDone(cs tls.ConnectionState, _ error) {
	now := mono()
	t.mu.Lock()
	if !t.ended {
		t.tlsDone = now
		switch cs.NegotiatedProtocol {
		case "h2":
			t.proto = metrics.ProtoHTTP2
		case "http/1.1":
			t.proto = metrics.ProtoHTTP11
		}
	}
	t.mu.Unlock()
}

func (t *stdTrace) gotConn(info httptrace.GotConnInfo) {
	now := mono()
	t.mu.Lock()
	if !t.ended && t.got == 0 {
		t.got, t.reused = now, info.Reused
	}
	t.mu.Unlock()
}

// end stops the trace at the reading end and fills res.Phases, which add
// up to end-start. The phase under way when the request failed runs to
// end; readings out of order (a server that answers before the request is
// written) are moved up to the one before.
func (t *stdTrace) end(start, end time.Duration, res *Response) {
	t.mu.Lock()
	t.ended = true
	t.mu.Unlock()
	p := &res.Phases
	// Up to a connection: blocked, with the dial and the handshake of a
	// new connection carved out of it.
	got := clampReading(t.got, start, end)
	res.Reused = t.reused
	if !t.reused {
		span := got - start
		p[metrics.PhaseConnect] = min(phaseSpan(t.connStart, t.connDone, start, got), span)
		p[metrics.PhaseTLS] = min(phaseSpan(t.tlsStart, t.tlsDone, start, got), span-p[metrics.PhaseConnect])
	}
	p[metrics.PhaseBlocked] = got - start - p[metrics.PhaseConnect] - p[metrics.PhaseTLS]
	wrote := clampReading(t.wrote, got, end)
	first := clampReading(t.first, wrote, end)
	p[metrics.PhaseSend] = wrote - got
	p[metrics.PhaseWait] = first - wrote
	p[metrics.PhaseReceive] = end - first
	if res.Proto == metrics.ProtoUnknown {
		res.Proto = t.proto
	}
}

// clampReading is reading at within [lo, hi]; a missing one (0) is hi:
// the phase it would end was still under way at hi.
func clampReading(at, lo, hi time.Duration) time.Duration {
	if at == 0 || at > hi {
		return hi
	}
	return max(at, lo)
}

// phaseSpan is the time from a to b within [lo, hi], 0 if the phase
// did not begin; a phase begun but not ended ran to hi.
func phaseSpan(a, b, lo, hi time.Duration) time.Duration {
	if a == 0 {
		return 0
	}
	a = max(a, lo)
	b = clampReading(b, a, hi)
	return max(0, b-a)
}
