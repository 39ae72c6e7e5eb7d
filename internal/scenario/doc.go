// Package scenario holds the canonical Plan of a load test and builds it
// from its sources: scenario files (LoadFile, Parse), quick-mode flags
// (Quick), and the Overrides that flags lay over a file (Apply). Nothing
// downstream reads flags or files; the controller, the engine and the
// workload only see a validated Plan.
//
//	p, err := scenario.LoadFile("shop.yaml", scenario.Options{Getenv: os.Getenv, Overrides: o})
//
// Loading reports every problem at once, as Problems wrapping ErrInvalid;
// each is an *Error printed as "shop.yaml:12:7: message". The YAML is read
// with goccy/go-yaml into a tree that keeps positions, and walked by hand,
// so unknown keys get a "did you mean" and types are named in scenario
// terms. Templates ({{token}}, {{users.name}}, …) are parsed and every
// variable they read is resolved here, before anything is sent; data files
// are read into the plan, so a Plan is complete on its own.
//
// A flow's steps are one flat list; a group of steps ({repeat: 3, steps:
// […]}) and a step's own if and repeat become Blocks of the group's first
// step, so everything that walks steps sees each request once, as written.
// A poll step (until, every, within) is a Step like any other.
// So is a WebSocket step (ws, send, expect, within, ws_close): its Method
// is MethodWS; and a gRPC step (grpc, message, metadata): its Method is
// MethodGRPC. The .proto files of defaults.grpc are read at load (with
// their imports) into Plan.GRPC.Sources and compiled by Validate, so that
// a plan checks its methods and messages, and compiles, wherever it
// travels.
//
// Plans are values; they are safe to share once built.
package scenario
