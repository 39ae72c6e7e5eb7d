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
// socket. https:// requests (and every request when Options.ForceNetHTTP is
// set) go through net/http, for TLS and HTTP/2. Both yield the same Class
// and error message for the same event; a conformance test holds them to it.
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
