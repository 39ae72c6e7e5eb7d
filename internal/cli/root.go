package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X …/internal/cli.Version=v1.2.3".
var Version = "dev"

// Main runs the command line in env and returns what the process should
// exit with (see ExitCode). Errors are already printed to env.Stderr.
func Main(ctx context.Context, env Env) error {
	root := &cobra.Command{
		Use:           "surge",
		Short:         "Surge load-tests HTTP services and tells you where and why they break",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetArgs(env.Args)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr(fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	root.AddCommand(runCmd(env), demoCmd(env), testbedCmd(env), versionCmd(env), serverCmd(env), validateCmd(env))
	err := root.ExecuteContext(ctx)
	if err != nil && !errors.Is(err, ErrThresholds) {
		if strings.HasPrefix(err.Error(), "unknown command") {
			err = usageErr(err)
		}
		fmt.Fprintf(env.Stderr, "surge: %v\n", err)
	}
	return err
}

func versionCmd(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(env.Stdout, "surge %s\n", Version)
			return err
		},
	}
}
