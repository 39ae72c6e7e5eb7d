package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/testbed"
)

// Demo settings: the testbed's /api/items sits behind 4 workers of 25 ms,
// so it serves at most 4/25ms = 160 requests/s; /health queues for the
// same workers. The demo searches that capacity with objectives of
// p99<250ms and errors<1% and probes /health, so it ends with the number
// (≈160/s), the cause (a pool of ~4, by Little's law) and a health check
// that starved past it.
const (
	demoWorkers   = 4
	demoWorkTime  = 25 * time.Millisecond
	demoStart     = 50.0
	demoMax       = 2000.0
	demoInterval  = 250 * time.Millisecond
	demoDuration  = 45 * time.Second
	demoMinStep   = 2 * time.Second
	demoStepShare = 15 // a step is duration/demoStepShare
)

var demoSLO = []string{"p99<250ms", "errors<1%"}

func demoCmd(env Env) *cobra.Command {
	var duration time.Duration
	var quiet bool
	var outSpecs []string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Find the capacity of a built-in testbed bottleneck, and its cause",
		Long: `Start the built-in testbed on a free loopback port — an API whose /api/items
sits behind a pool of 4 workers of 25 ms (at most 160 requests/s) and whose
/health queues for the same workers — and run a short capacity search of it
(surge capacity with --slo 'p99<250ms' --slo 'errors<1%' --probe /health):
it prints each step, the curve, the highest rate that met the objectives and
what stopped it there, with the evidence.

--duration is about how long the search takes: each step is a fifteenth of
it (at least 2s), in 250ms intervals. The demo exits 0 once it ran, whatever
it found (130 when interrupted, with its outputs written; 2 for bad usage).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if duration < 3*time.Second {
				return usageErr(fmt.Errorf("--duration must be at least 3s, got %v", duration))
			}
			var outs capacityOuts
			var probs []string
			for _, s := range outSpecs {
				kind, path, ok := strings.Cut(s, "=")
				dst := map[string]*string{"json": &outs.json, "html": &outs.html}[kind]
				switch {
				case !ok || path == "" || dst == nil:
					probs = append(probs, fmt.Sprintf("--out %q: the demo writes json=PATH (surge.capacity/v1) or html=PATH", s))
				case *dst != "":
					probs = append(probs, fmt.Sprintf("--out %q: give one %s=PATH", s, kind))
				default:
					*dst = path
					if err := checkOutputs([]output{{kind, path}}); err != nil {
						probs = append(probs, err.Error())
					}
				}
			}
			if len(probs) > 0 {
				return usageErr(errors.New(strings.Join(probs, "; ")))
			}
			return runDemo(cmd.Context(), env, duration, quiet, outs)
		},
	}
	cmd.Flags().DurationVar(&duration, "duration", demoDuration, "about how long the search takes (each step is a fifteenth, at least 2s)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no live step lines")
	cmd.Flags().StringArrayVar(&outSpecs, "out", nil, "write the result: json=PATH (surge.capacity/v1) or html=PATH (the curve); repeatable")
	return cmd
}

func runDemo(ctx context.Context, env Env, duration time.Duration, quiet bool, outs capacityOuts) error {
	tb, err := testbed.Start("127.0.0.1:0", testbed.Options{Workers: demoWorkers, WorkTime: demoWorkTime})
	if err != nil {
		return err
	}
	defer tb.Close()
	capa := float64(demoWorkers) / demoWorkTime.Seconds()
	fmt.Fprintf(env.Stdout, "testbed listening on %s (/api/items: %d workers × %v ≈ %.0f req/s; /health queues for the same workers)\n",
		tb.URL(), demoWorkers, demoWorkTime, capa)

	var o capacity.Options
	for _, e := range demoSLO {
		t, err := metrics.ParseThreshold(e)
		if err != nil {
			return err // constants: a bug
		}
		o.SLO = append(o.SLO, t)
	}
	step := max(duration/demoStepShare, demoMinStep)
	o.Start, o.Max, o.Interval = demoStart, demoMax, demoInterval
	o.Settle = step / 3
	o.Window = step - o.Settle
	o.Confirm, o.Warmup, o.Recover = 2*o.Window, time.Second, 5*time.Second
	o.Probe = tb.URL() + "/health"
	o.Target = tb.URL() + "/api/items"

	rate := o.Start
	plan, err := scenario.Quick(scenario.QuickRequest{URL: o.Target, Method: "GET"}, scenario.Overrides{Rate: &rate})
	if err != nil {
		return err
	}
	plan.Name = "demo: testbed /api/items"
	plan.Load = scenario.Load{Model: engine.Open, Rate: o.Start, Duration: capacityMaxDuration, MaxVUs: engine.DefaultMaxVUs(o.Max, plan.Timeout)}
	o.Cores, o.MaxVUs = runtime.GOMAXPROCS(0), plan.Load.MaxVUs
	fmt.Fprintf(env.Stdout, "searching its capacity: objectives %s, from %g/s, steps of %v, probing /health at 2/s (about %v)\n",
		strings.Join(demoSLO, ", "), o.Start, step, (time.Duration(demoStepShare) * step).Round(time.Second))

	sess := run.New(plan, run.Options{Interval: demoInterval})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := sess.Start(ctx); err != nil {
		return fmt.Errorf("running: %w", err)
	}
	go func() {
		select {
		case <-env.Signals:
			fmt.Fprintln(env.Stderr, "\nsurge: stopping the demo: reporting the steps so far")
			cancel(ErrInterrupted)
		case <-ctx.Done():
		}
	}()
	if !quiet {
		o.Progress = func(s capacity.Step, left time.Duration) {
			line := "  " + capacity.StepLine(s)
			if left > 0 {
				line += fmt.Sprintf("  ~%s left", left.Round(time.Second))
			}
			fmt.Fprintln(env.Stderr, line)
		}
	}
	res, serr := capacity.Search(ctx, sess, o)
	sess.Stop(nil)
	if _, err := sess.Wait(); err != nil && serr == nil {
		serr = fmt.Errorf("running: %w", err)
	}
	if res == nil {
		return serr
	}
	if err := capacity.WriteText(env.Stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\n%s\n", demoAnswer(res, capa))
	if err := writeCapacityOuts(outs, res); err != nil {
		return err
	}
	if errors.Is(serr, ErrInterrupted) {
		return fmt.Errorf("demo stopped by a signal; the result covers the steps so far: %w", ErrInterrupted)
	}
	if serr != nil {
		return fmt.Errorf("demo: %w", serr)
	}
	return nil // whatever the search found: the demo shows it
}

// demoAnswer is the demo's last line: the number against first
// principles, and the cause.
func demoAnswer(res *capacity.Result, capa float64) string {
	if res.StartMissed {
		return fmt.Sprintf("the answer: even %.0f/s missed the objectives on this machine (first principles: %.0f/s); bottleneck %s", demoStart, capa, res.Bottleneck.Kind)
	}
	s := fmt.Sprintf("the answer: %.1f/s (%.0f%% of the %.0f/s that %d workers × %v allow), stopped by %s",
		res.MaxRate, 100*res.MaxRate/capa, capa, demoWorkers, demoWorkTime, res.Bottleneck.Kind)
	if c := res.Bottleneck.Concurrency; c != nil {
		s += fmt.Sprintf(": by Little's law ~%.1f requests in service at once (the testbed has %d workers)", *c, demoWorkers)
	}
	if res.ProbeStarved != "" {
		s += "; and the health check starved past it"
	}
	return s
}
