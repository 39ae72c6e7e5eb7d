package cli

import (
	"errors"
	"io"
	"os"

	"github.com/surgeload/surge/internal/scenario"
)

// Env is the outside world of a command.
type Env struct {
	Args     []string // without the program name
	Stdout   io.Writer
	Stderr   io.Writer
	Getenv   func(string) string
	Signals  <-chan os.Signal // interrupts; nil means none arrive
	Terminal bool             // stdout is an interactive terminal
}

// Sentinel errors that decide exit codes.
var (
	// ErrUsage marks invalid flags, arguments or input: nothing was sent.
	ErrUsage = errors.New("invalid usage")
	// ErrThresholds marks a completed run in which a threshold failed.
	ErrThresholds = errors.New("thresholds failed")
	// ErrInterrupted marks a run stopped by a signal.
	ErrInterrupted = errors.New("interrupted")
)

// Exit codes (CONTRACT.md).
const (
	ExitOK         = 0
	ExitFailure    = 1
	ExitUsage      = 2
	ExitThresholds = 3
	// ExitInterrupted is the shell's code for a process ended by SIGINT
	// (128 + 2); Surge uses it for SIGTERM too, after writing its outputs.
	ExitInterrupted = 130
)

// ExitCode maps an error returned by Main to the process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrUsage), errors.Is(err, scenario.ErrInvalid):
		return ExitUsage
	case errors.Is(err, ErrInterrupted):
		return ExitInterrupted
	case errors.Is(err, ErrThresholds):
		return ExitThresholds
	default:
		return ExitFailure
	}
}

func usageErr(err error) error {
	if err == nil || errors.Is(err, ErrUsage) {
		return err
	}
	return &wrapped{msg: err.Error(), is: ErrUsage, err: err}
}

type wrapped struct {
	msg string
	is  error
	err error
}

func (w *wrapped) Error() string   { return w.msg }
func (w *wrapped) Unwrap() []error { return []error{w.is, w.err} }
