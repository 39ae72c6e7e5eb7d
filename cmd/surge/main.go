// Command surge is a load-testing tool: see `surge --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/surgeload/surge/internal/cli"
)

func main() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	err := cli.Main(context.Background(), cli.Env{
		Args:     os.Args[1:],
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Signals:  sig,
		Terminal: term.IsTerminal(int(os.Stdout.Fd())),
	})
	os.Exit(cli.ExitCode(err))
}
