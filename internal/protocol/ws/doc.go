// Package ws is Surge's WebSocket client, built on github.com/coder/websocket:
// a Dialer opens sockets (the HTTP upgrade handshake, over TLS for wss://),
// a Conn sends text messages and waits for one that a caller's match
// accepts, and Classify maps what went wrong onto the outcome classes every
// request has.
//
// Every socket counts the bytes it carries on the wire (handshake, frame
// headers, payloads, and TLS records for wss://), so that a caller can
// report a handshake's or a message exchange's bytes as exactly as
// protocol/http reports a request's. A Conn is used by one goroutine at a
// time (a VU's); a context passed to Send or Await that ends closes the
// socket, as coder/websocket does, so a timeout never leaves one half read.
//
// Errors are classed as follows: a close frame from the server (whatever
// its status) is metrics.WSClosed; a handshake answered with a 4xx or 5xx
// status is status_4xx or status_5xx, any other answer but 101 is other;
// everything else (refused, reset, TLS, DNS, timeouts) is classed as
// protocol/http classes a request's transport error.
package ws
