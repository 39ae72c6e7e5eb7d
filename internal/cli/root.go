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
		Version:       Version,
	}
	root.SetVersionTemplate("surge {{.Version}}\n") // as `surge version`
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetArgs(env.Args)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if hint := flagHint(c, err); hint != "" {
			return usageErr(fmt.Errorf("%w: %s (see '%s --help')", err, hint, c.CommandPath()))
		}
		return usageErr(fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	root.AddCommand(runCmd(env), demoCmd(env), testbedCmd(env), versionCmd(env), serverCmd(env), validateCmd(env))
	root.AddCommand(monitorCmd(env))
	root.AddCommand(agentCmd(env))
	root.AddCommand(capacityCmd(env))
	var err error
	if c, rest, ferr := root.Find(env.Args); ferr == nil && c != root {
		if arg, name := singleDashLong(c, rest); arg != "" {
			err = usageErr(fmt.Errorf("unknown shorthand flag %s: did you mean --%s? (long flags take two dashes; see '%s --help')", arg, name, c.CommandPath()))
		}
	}
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
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
