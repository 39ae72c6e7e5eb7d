package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/cli"
)

// surgeParses reports whether Surge's own command line accepts args (the
// arguments after the program name): the subcommand exists, every flag is
// one of its flags and every value parses.
//
// internal/cli has no exported constructor of its command tree, so this
// runs cli.Main with --help appended: cobra then parses every flag of the
// subcommand and prints its usage instead of running it. What --help skips
// are positional-argument and required-flag checks; the commands deployed
// here take no positional arguments.
func surgeParses(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("%q: the first argument must be the subcommand", args)
	}
	for _, a := range args {
		if a == "-h" || a == "--help" || strings.HasPrefix(a, "--help=") {
			return fmt.Errorf("%s: a deployed command must not ask for help", a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := cli.Main(ctx, cli.Env{
		Args:   append(slices.Clone(args), "--help"),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(string) string { return "" },
	})
	if err != nil {
		if strings.Contains(err.Error(), "unknown command") {
			return fmt.Errorf("surge has no %q subcommand (yet?): %w", args[0], err)
		}
		return fmt.Errorf("surge %s: %w", strings.Join(args, " "), err)
	}
	// The usage printed must be the subcommand's: anything else means
	// cobra did not get as far as the subcommand's flags.
	if want := "surge " + args[0]; !strings.Contains(stdout.String(), want) {
		return fmt.Errorf("surge %s --help printed no usage of %q:\n%s", strings.Join(args, " "), want, stdout.String())
	}
	return nil
}
