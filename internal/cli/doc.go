// Package cli implements Surge's subcommands. Everything a command touches
// from the outside world — arguments, output streams, environment, signals,
// whether stdout is a terminal — comes in an Env, so a whole command runs
// inside a test.
//
// Commands return errors; cmd/surge maps them to exit codes with ExitCode
// (bad usage or input → 2, failed thresholds → 3, anything else → 1).
package cli
