package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
)

// Demo settings: the testbed's /api/items sits behind 8 workers of 10 ms,
// so it serves about 800 requests/s; the demo ramps the arrival rate past
// that, so the summary shows latency turning upward at the knee.
const (
	demoWorkers  = 8
	demoWorkTime = 10 * time.Millisecond
	demoPeakRate = 1000
)

func demoCmd(env Env) *cobra.Command {
	var duration time.Duration
	var quiet bool
	var outSpecs []string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a short test against the built-in testbed target",
		Long: `Start the built-in testbed on a free loopback port — an API whose endpoint
sits behind a pool of 8 workers (≈800 requests/s of capacity) — and ramp an
open-model load past that capacity, so the summary shows where it breaks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if duration < 3*time.Second {
				return usageErr(fmt.Errorf("--duration must be at least 3s, got %v", duration))
			}
			outs, err := parseOutputs(outSpecs)
			if err != nil {
				return usageErr(err)
			}
			if err := checkOutputs(outs); err != nil {
				return usageErr(err)
			}
			tb, err := testbed.Start("127.0.0.1:0", testbed.Options{Workers: demoWorkers, WorkTime: demoWorkTime})
			if err != nil {
				return err
			}
			defer tb.Close()
			fmt.Fprintf(env.Stdout, "testbed listening on %s (/api/items: %d workers × %v ≈ %d req/s)\n",
				tb.URL(), demoWorkers, demoWorkTime, int(float64(demoWorkers)/demoWorkTime.Seconds()))
			third := duration / 3
			rate := 0.0
			o := scenario.Overrides{
				Rate:       &rate,
				Stages:     []engine.Stage{{Duration: third, Target: demoPeakRate / 2}, {Duration: duration - 2*third, Target: demoPeakRate}, {Duration: third, Target: demoPeakRate}},
				Thresholds: []string{"p95<100ms", "errors<1%"},
			}
			plan, err := scenario.Quick(scenario.QuickRequest{URL: tb.URL() + "/api/items", Method: "GET"}, o)
			if err != nil {
				return err
			}
			plan.Name = "demo: testbed /api/items"
			fmt.Fprintf(env.Stdout, "ramping 0 → %d → %d requests/s over %v, open model\n", demoPeakRate/2, demoPeakRate, duration)
			_, err = execute(cmd.Context(), env, plan, execOptions{quiet: quiet, outputs: outs})
			// The demo shows thresholds but exits 0 once it ran (130 when
			// interrupted, with its outputs written).
			return err
		},
	}
	cmd.Flags().DurationVar(&duration, "duration", 15*time.Second, "how long the demo load runs")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no live progress")
	cmd.Flags().StringArrayVar(&outSpecs, "out", nil, "write a report: json=PATH, csv=PATH, junit=PATH or html=PATH (repeatable)")
	return cmd
}
