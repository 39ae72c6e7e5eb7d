// Package grpc is Surge's gRPC client for unary calls, built on
// google.golang.org/grpc: message types come from .proto files compiled in
// process (internal/grpcschema, which the scenario package uses to check
// gRPC steps at load without depending on this client) or from the
// server's reflection service (v1), requests are built from JSON with
// protojson onto dynamicpb messages, and Classify maps a call's status
// onto the outcome classes every request has.
//
// A Conn is one client connection (HTTP/2, plaintext for http:// targets,
// TLS for https://) dialed lazily and counted on the wire, so that a call
// reports the bytes it carried as protocol/http reports a request's.
//
// Status codes are classed as follows: DeadlineExceeded is timeout;
// Canceled is classed as protocol/http classes a cancelled request; any
// other code of a call the server answered (it sent headers or trailers,
// which a stats handler notes) is metrics.GRPCStatus, with the code's name
// in the error message: NotFound, Internal, Unimplemented, and Unavailable
// when the server said so itself. A call the server never answered is
// Unavailable: it takes the class of the dial or TLS handshake that
// failed (connection_refused, dns, tls, timeout …) when the connection
// could not be made, and is connection_reset when an open one dropped;
// any other error the client made of it is other.
package grpc
