// Package http is Surge's HTTP client: it sends one request, reads the whole
// response body (counting it, keeping at most what a check or extraction
// needs), and classifies the outcome into a metrics.Class.
//
// A Client is shared by all VUs of a run; each VU opens a Session, which
// holds the VU's cookie jar:
//
//	c := http.NewClient(http.Options{})
//	defer c.Close()
//	s := c.NewSession()
//	s.Do(ctx, &http.Request{Method: "GET", URL: u, Timeout: 10 * time.Second}, &res)
//
// Two implementations sit behind Session.Do. Plain http:// requests go
// through a lean HTTP/1.1 client (h1.go): each Session owns its keep-alive
// connections, so there is no pool, no lock and no goroutine per connection
// on the request path, requests are framed into a reused buffer, responses
// are parsed in place, and bytes are counted exactly as they cross the
// socket. https:// requests (and every request when Options.ForceNetHTTP or
// Options.HTTP2 is set) go through net/http, for TLS and HTTP/2. Both yield the same Class
// and error message for the same event; a conformance test holds them to it.
//
// Every Response says where its time went (Response.Phases: blocked,
// connect, tls, send, wait, receive; see metrics.Phase) and which protocol
// carried it (Response.Proto). The phases are gaps between readings of the
// monotonic clock that follow each other, so they add up to the time Do
// took (Start to Start+Phases.Total()) whatever the outcome; a reused
// connection has connect and tls 0. The lean client takes four readings
// per request on a reused connection, where it read time.Now once before;
// net/http requests take theirs from net/http/httptrace (trace.go).
//
// With Options.HTTP2 every request goes through net/http as HTTP/2: with
// prior knowledge to http:// targets (h2c), and over TLS offering only h2.
// Sessions are grouped, SessionsPerConn (default 100) to a group, and a
// group's requests to a host are streams on one connection (another only
// when the server allows fewer streams than the group has sessions):
// DefaultSessionsPerConn says why. Bytes on HTTP/2 are counted in their
// HTTP/1.1 framing, as for every net/http request, not as HPACK-compressed
// frames, which a connection's streams share.
//
// Error classes are the same for every protocol. On HTTP/2, a stream the
// server reset (RST_STREAM), a GOAWAY or a lost connection is
// connection_reset; a protocol violation (a garbled frame, a connection
// error) is other, as a malformed HTTP/1.1 response is; a server that
// closes a connection before its first request is connection_reset (then
// net/http cannot tell why, so a server that speaks HTTP/1.1 only may show
// as either other or connection_reset); and TLS with a server that does
// not offer h2 fails the handshake: tls.
//
// A session's Jar keeps cookies as a browser does, within a browser's
// limits (MaxCookieSize, MaxCookiesPerDomain, MaxCookies): beyond them it
// evicts the least recently used cookie, and Response.CookiesDropped says
// how many a response's cookies cost, so a target that floods Set-Cookie
// cannot grow a VU's memory or its Cookie header without bound.
//
// A misbehaving target (a reset, a stall, a garbled or huge response)
// yields a classified Response, never a panic or a Go error.
//
// A Client is safe for concurrent use. A Session belongs to one VU: call
// its Do from one goroutine at a time. A Response is reused by its VU; its
// Header and Body stay valid until its next use.
package http
