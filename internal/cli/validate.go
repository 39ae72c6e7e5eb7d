package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

func validateCmd(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate SCENARIO.yaml",
		Short: "Check a scenario file without sending anything",
		Long: `Check a scenario file as 'surge run' would before sending anything: the
YAML, every key and value, durations, templates and the variables they read
({{env.NAME}} is looked up in the environment), data files and thresholds.
Every problem is printed as FILE:LINE:COL: message.

Exit codes: 0 the file is valid; 2 it is not (or no file was given).`,
		Example: `  surge validate shop.yaml`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr(fmt.Errorf("want one scenario file, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			file := args[0]
			p, err := scenario.LoadFile(file, scenario.Options{Getenv: env.Getenv})
			if err != nil {
				var probs scenario.Problems
				if !errors.As(err, &probs) {
					return usageErr(err)
				}
				for _, pr := range probs {
					fmt.Fprintln(env.Stderr, pr)
				}
				n := "1 problem"
				if len(probs) != 1 {
					n = fmt.Sprintf("%d problems", len(probs))
				}
				return usageErr(fmt.Errorf("%s is not valid: %s", file, n))
			}
			_, err = fmt.Fprintf(env.Stdout, "%s: ok (%s)\n", file, describePlan(p))
			return err
		},
	}
}

// describePlan sums a valid plan up in a line: "2 flows, 5 requests, …".
func describePlan(p scenario.Plan) string {
	requests := 0
	for _, s := range p.Setup {
		if !s.IsThink() {
			requests++
		}
	}
	setup := requests
	for _, f := range p.Flows {
		for _, s := range f.Steps {
			if !s.IsThink() {
				requests++
			}
		}
	}
	parts := []string{plural(len(p.Flows), "flow"), plural(requests, "request")}
	if setup > 0 {
		parts[1] += fmt.Sprintf(" (%d in setup)", setup)
	}
	for _, d := range p.Data {
		parts = append(parts, fmt.Sprintf("data %s: %s, %s", d.Name, plural(len(d.Rows), "row"), d.Mode))
	}
	l := p.Load
	load := fmt.Sprintf("closed model, %s", plural(l.VUs, "VU"))
	if l.Model == engine.Open {
		load = fmt.Sprintf("open model, %g iterations/s", l.Rate)
	}
	switch {
	case len(l.Stages) > 0:
		load += fmt.Sprintf(", %s over %v", plural(len(l.Stages), "stage"), l.Profile().Duration())
	case l.Duration > 0:
		load += fmt.Sprintf(" for %v", l.Duration)
	}
	if l.Iterations > 0 {
		load += fmt.Sprintf(", at most %s", plural(int(l.Iterations), "iteration"))
	}
	parts = append(parts, load)
	if len(p.Thresholds) > 0 {
		parts = append(parts, plural(len(p.Thresholds), "threshold"))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
