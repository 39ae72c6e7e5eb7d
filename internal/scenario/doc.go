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
// Plans are values; they are safe to share once built.
package scenario
