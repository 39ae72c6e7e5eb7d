// Package http is Surge's HTTP client: it sends one request, reads the whole
// response body (counting it, keeping at most what a check or extraction
// needs), and classifies the outcome into a metrics.Class.
//
// A Client is shared by all VUs of a run and keeps connections alive; each VU
// opens a Session, which holds the VU's cookie jar. The default Client is
// built on net/http (HTTP/1.1 and HTTP/2, TLS). A misbehaving target — a
// reset, a stall, a garbled or huge response — yields a classified Response,
// never a panic or a Go error.
//
// Client and Session are safe for concurrent use; a Response is reused by
// one VU.
package http
