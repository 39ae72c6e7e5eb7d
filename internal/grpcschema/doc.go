// Package grpcschema is what a plan knows of a gRPC service before any
// call: the .proto sources it carries (read with their imports, compiled
// in-process with protocompile), the methods they describe, request
// messages built and checked from JSON, response messages as JSON for
// checks, status codes by name, and the target's address. It makes no
// connection, so the scenario package validates gRPC steps with it while
// staying below the protocols; internal/protocol/grpc makes the calls.
package grpcschema
