package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
)

// runFlags are `surge run`'s flags. Pointers are filled only for flags the
// user set, so that unset flags never override a scenario file.
type runFlags struct {
	url, method, body, bodyFile string
	headers                     []string
	vus, maxVUs                 int
	rate                        float64
	duration, timeout           time.Duration
	stages                      string
	requests                    int64
	thresholds, outs            []string
	quiet, insecure             bool
}

func runCmd(env Env) *cobra.Command {
	var f runFlags
	var record *recordFlags // --server, --secret: record.go
	cmd := &cobra.Command{
		Use:   "run [flags] [SCENARIO.yaml]",
		Short: "Run a load test and print a summary",
		Long: `Run a load test against an HTTP endpoint (quick mode, -u URL) and print a
summary. --rate R selects the open model (R iterations/s, latency measured
from each request's due time); --vus N the closed model (N looping users).

Exit codes: 0 run completed and thresholds passed; 2 invalid usage (nothing
was sent); 3 a threshold failed; 1 anything else.`,
		Example: `  surge run -u http://127.0.0.1:8080/api --rate 500 --duration 30s
  surge run -u http://127.0.0.1:8080/api --vus 50 --duration 1m --threshold 'p99<200ms'
  surge run -u http://127.0.0.1:8080/api --stages '30s:200,1m:200,30s:0' --rate 0 --out json=summary.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr(fmt.Errorf("want at most one scenario file, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := f.plan(cmd, args, env)
			if err != nil {
				return usageErr(err)
			}
			outs, err := parseOutputs(f.outs)
			if err != nil {
				return usageErr(err)
			}
			recorder, err := record.sink(cmd.Context(), env, plan)
			if err != nil {
				return err
			}
			sum, err := execute(cmd.Context(), env, plan, execOptions{quiet: f.quiet, outputs: outs, sink: recorder})
			if err != nil {
				return err
			}
			if !sum.Passed() {
				return ErrThresholds
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVarP(&f.url, "url", "u", "", "target URL (quick mode)")
	fl.StringVarP(&f.method, "method", "X", "GET", "HTTP method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	fl.StringVarP(&f.body, "body", "d", "", "request body")
	fl.StringVar(&f.bodyFile, "body-file", "", "read the request body from a file")
	fl.IntVar(&f.vus, "vus", 0, "closed model with N virtual users")
	fl.Float64Var(&f.rate, "rate", 0, "open model at R iterations/s (quick mode: one iteration is one request)")
	fl.IntVar(&f.maxVUs, "max-vus", 0, "cap on concurrent in-flight iterations in the open model (default: rate × timeout, at least 100)")
	fl.DurationVar(&f.duration, "duration", 0, "test duration, e.g. 30s, 2m (default 10s)")
	fl.StringVar(&f.stages, "stages", "", "ramp: DURATION:TARGET,… each stage ramps linearly to TARGET (VUs or rate)")
	fl.Int64Var(&f.requests, "requests", 0, "stop after N requests/iterations in total")
	fl.DurationVar(&f.timeout, "timeout", engine.DefaultTimeout, "per-request timeout")
	fl.StringArrayVar(&f.thresholds, "threshold", nil, "pass/fail criterion, e.g. 'p99<200ms', 'errors<1%', 'rps>1000' (repeatable)")
	fl.StringArrayVar(&f.outs, "out", nil, "write a report: json=PATH, csv=PATH, junit=PATH or html=PATH (repeatable)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress")
	fl.BoolVar(&f.insecure, "insecure", false, "skip TLS certificate verification")
	record = addRecordFlags(fl)
	return cmd
}

// plan builds the canonical plan: from a scenario file with the flags laid
// over it (flags win), or from the flags alone (quick mode).
func (f *runFlags) plan(cmd *cobra.Command, args []string, env Env) (scenario.Plan, error) {
	o, err := f.overrides(cmd)
	if err != nil {
		return scenario.Plan{}, err
	}
	if len(args) == 1 {
		set := cmd.Flags().Changed
		for _, name := range []string{"method", "body", "body-file"} {
			if set(name) {
				return scenario.Plan{}, fmt.Errorf("--%s is for quick mode (-u URL without a scenario file): set the request in %s", name, args[0])
			}
		}
		if set("vus") && set("rate") {
			return scenario.Plan{}, errors.New("give --vus (closed model) or --rate (open model), not both")
		}
		if set("url") {
			o.Target = &f.url // the base URL the file's relative URLs resolve against
		}
		for _, h := range f.headers {
			hd, err := scenario.ParseHeader(h)
			if err != nil {
				return scenario.Plan{}, err
			}
			o.Headers = append(o.Headers, hd)
		}
		return scenario.LoadFile(args[0], scenario.Options{Getenv: env.Getenv, Overrides: o})
	}
	if f.url == "" {
		return scenario.Plan{}, errors.New("nothing to test: give a target with -u URL (see 'surge run --help')")
	}
	body := f.body
	if f.bodyFile != "" {
		if body != "" {
			return scenario.Plan{}, errors.New("give --body or --body-file, not both")
		}
		b, err := os.ReadFile(f.bodyFile)
		if err != nil {
			return scenario.Plan{}, fmt.Errorf("reading --body-file: %w", err)
		}
		body = string(b)
	}
	return scenario.Quick(scenario.QuickRequest{URL: f.url, Method: f.method, Headers: f.headers, Body: body}, o)
}

// overrides collects the load flags the user actually set.
func (f *runFlags) overrides(cmd *cobra.Command) (scenario.Overrides, error) {
	var o scenario.Overrides
	set := cmd.Flags().Changed
	if set("vus") {
		o.VUs = &f.vus
	}
	if set("rate") {
		o.Rate = &f.rate
	}
	if set("max-vus") {
		o.MaxVUs = &f.maxVUs
	}
	if set("duration") {
		o.Duration = &f.duration
	}
	if set("requests") {
		o.Iterations = &f.requests
	}
	if set("timeout") {
		o.Timeout = &f.timeout
	}
	if set("insecure") {
		o.Insecure = &f.insecure
	}
	if set("stages") {
		st, err := engine.ParseStages(f.stages)
		if err != nil {
			return o, fmt.Errorf("--stages: %w", err)
		}
		o.Stages = st
	}
	o.Thresholds = f.thresholds
	return o, nil
}

type output struct{ kind, path string }

func parseOutputs(specs []string) ([]output, error) {
	var outs []output
	for _, s := range specs {
		kind, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--out %q: want KIND=PATH, e.g. json=summary.json", s)
		}
		switch kind {
		case "json", "csv", "junit", "html":
		default:
			return nil, fmt.Errorf("--out %q: unknown kind %q (want json, csv, junit or html)", s, kind)
		}
		outs = append(outs, output{kind, path})
	}
	return outs, nil
}

type execOptions struct {
	quiet   bool
	outputs []output
	sink    sink.Sink // more sinks beside the progress line; may be nil
}

// execute runs a validated plan with a local controller, prints the live
// line and the summary, and writes the outputs. The first interrupt stops
// the run gracefully (outputs are still written); a second one abandons it.
func execute(ctx context.Context, env Env, plan scenario.Plan, o execOptions) (*report.Summary, error) {
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	var sinks sink.Fanout
	if !o.quiet && env.Terminal {
		sinks = append(sinks, newProgress(env.Stdout, plan))
	}
	if o.sink != nil {
		sinks = append(sinks, o.sink)
	}
	ctl := controller.New(plan, controller.Options{Sink: sinks})
	type result struct {
		res *controller.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := ctl.Run(runCtx)
		done <- result{res, err}
	}()
	var r result
	interrupts := 0
wait:
	for {
		select {
		case r = <-done:
			break wait
		case <-env.Signals:
			interrupts++
			if interrupts == 1 {
				fmt.Fprintln(env.Stderr, "\nsurge: stopping: letting in-flight requests finish (interrupt again to abandon the run)")
				stop(ErrInterrupted)
				continue
			}
			return nil, fmt.Errorf("run abandoned: %w", ErrInterrupted)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("running: %w", r.err)
	}
	id := newRunID(r.res.Started)
	if named, ok := o.sink.(interface{ RunID() string }); ok {
		id = named.RunID() // recorded in a server: one id in both places
	}
	sum := report.Build(id, r.res, runtime.GOMAXPROCS(0))
	if err := report.WriteText(env.Stdout, &sum); err != nil {
		return nil, err
	}
	for _, out := range o.outputs {
		if err := writeOutput(out, &sum); err != nil {
			return nil, err
		}
	}
	return &sum, nil
}

func writeOutput(o output, s *report.Summary) error {
	if dir := filepath.Dir(o.path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing %s report: %w", o.kind, err)
		}
	}
	f, err := os.Create(o.path)
	if err != nil {
		return fmt.Errorf("writing %s report: %w", o.kind, err)
	}
	switch o.kind {
	case "json":
		err = report.WriteJSON(f, s)
	case "csv":
		err = report.WriteCSV(f, s)
	case "junit":
		err = report.WriteJUnit(f, s)
	case "html":
		err = report.WriteHTML(f, s)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s report to %s: %w", o.kind, o.path, err)
	}
	return nil
}

func newRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
