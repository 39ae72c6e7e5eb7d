package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/template"
)

// runFlags are `surge run`'s flags. Pointers are filled only for flags the
// user set, so that unset flags never override a scenario file.
type runFlags struct {
	url, method, body, bodyFile onceString
	bodyTemplate                bool
	headers                     []string
	vus, maxVUs                 int
	rate                        float64
	duration, timeout           time.Duration
	stages                      string
	requests                    int64
	thresholds, outs            []string
	monitors                    []string
	quiet, insecure             bool
	http2                       bool
}

func runCmd(env Env) *cobra.Command {
	var f runFlags
	var record *recordFlags // --server, --secret: record.go
	var dist *distFlags     // --agents, --agent-label, --on-agent-loss: distributed.go
	cmd := &cobra.Command{
		Use:   "run [flags] [SCENARIO.yaml | URL]",
		Short: "Run a load test and print a summary",
		Long: `Run a load test against an HTTP endpoint (quick mode: -u URL, or the URL as
the only argument) or a scenario file, and print a summary. --rate R selects
the open model (R iterations/s, latency measured from each request's due
time); --vus N the closed model (N looping users).

With a scenario file, flags override the file's values, and -u URL replaces
the file's target: the base URL its relative step URLs resolve against.

-d is the request body, as in curl (not wrk's duration: that is --duration).
It is sent as given; --body-file sends a file's bytes as they are (up to
64 MiB); --body-template makes the body a {{…}} template.

Exit codes: 0 run completed and thresholds passed; 2 invalid usage (nothing
was sent); 3 a threshold failed; 130 stopped by Ctrl-C/SIGTERM (the summary
and reports are still written); 1 anything else.`,
		Example: `  surge run -u http://127.0.0.1:8080/api/items --rate 300 --duration 30s
  surge run http://127.0.0.1:8080/hello --vus 20 --duration 1m --threshold 'p99<200ms'
  surge run -u http://127.0.0.1:8080/api/items --rate 0 --stages '30s:200,1m:200,30s:0' --out json=summary.json
  surge run examples/shop.yaml -u http://staging.internal:8080`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr(fmt.Errorf("want at most one scenario file or URL, got %d arguments", len(args)))
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
			if err := checkOutputs(outs); err != nil {
				return usageErr(err)
			}
			o := execOptions{quiet: f.quiet, outputs: outs}
			var sum *report.Summary
			remote, err := dist.start(cmd.Flags(), cmd.Context(), env, record, plan)
			if err != nil {
				return err
			}
			if remote != nil {
				sum, err = followRemote(cmd.Context(), env, plan, remote, o)
			} else {
				recorder, rerr := record.sink(cmd.Context(), env, plan)
				if rerr != nil {
					return rerr
				}
				if recorder != nil {
					o.sink, o.remote = recorder, recorder
				}
				sum, err = execute(cmd.Context(), env, plan, o)
			}
			if err != nil {
				return err // an interrupted run's summary and outputs are written by now
			}
			if !sum.Passed() {
				return ErrThresholds
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	f.method.v = "GET"
	fl.VarP(&f.url, "url", "u", "target URL (quick mode); with a scenario file, the base URL of its relative step URLs")
	fl.VarP(&f.method, "method", "X", "HTTP method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	fl.VarP(&f.body, "body", "d", "request body, sent as given (as curl's -d; the test's length is --duration)")
	fl.Var(&f.bodyFile, "body-file", "send this file's bytes as the request body, as they are (at most 64 MiB)")
	fl.BoolVar(&f.bodyTemplate, "body-template", false, "treat the body (-d or --body-file) as a {{…}} template, e.g. {{uuid}} or {{vu.id}}")
	fl.IntVar(&f.vus, "vus", 0, "closed model with N virtual users")
	fl.Float64Var(&f.rate, "rate", 0, "open model at R iterations/s (quick mode: one iteration is one request)")
	fl.IntVar(&f.maxVUs, "max-vus", 0, "cap on concurrent in-flight iterations in the open model (default: rate × timeout, at least 100)")
	fl.DurationVar(&f.duration, "duration", 0, "test duration, e.g. 30s, 2m (default 10s)")
	fl.StringVar(&f.stages, "stages", "", "ramp: DURATION:TARGET,… each stage ramps linearly to TARGET (VUs or rate)")
	fl.Int64Var(&f.requests, "requests", 0, "stop after N requests/iterations in total")
	fl.DurationVar(&f.timeout, "timeout", engine.DefaultTimeout, "per-request timeout")
	fl.StringArrayVar(&f.thresholds, "threshold", nil, "pass/fail criterion, e.g. 'p99<200ms', 'errors<1%', 'rps>1000', 'monitor[api].process_cpu<80%' (repeatable)")
	fl.StringArrayVar(&f.outs, "out", nil, "write a report: json=PATH, csv=PATH, junit=PATH or html=PATH (repeatable)")
	fl.StringArrayVar(&f.monitors, "monitor", nil, "scrape a Prometheus text endpoint during the run: URL or NAME=URL (repeatable), e.g. api=http://10.0.0.5:9465/metrics")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress")
	fl.BoolVar(&f.insecure, "insecure", false, "skip TLS certificate verification")
	fl.BoolVar(&f.http2, "http2", false, "speak HTTP/2 to every target: with prior knowledge to http:// (h2c), h2 only over TLS (scenario: defaults.http: 2)")
	record = addRecordFlags(fl)
	dist = addDistFlags(fl)
	return cmd
}

// plan builds the canonical plan: from a scenario file with the flags laid
// over it (flags win), or from the flags alone (quick mode).
func (f *runFlags) plan(cmd *cobra.Command, args []string, env Env) (scenario.Plan, error) {
	o, err := f.overrides(cmd)
	if err != nil {
		return scenario.Plan{}, err
	}
	set := cmd.Flags().Changed
	if len(args) == 1 {
		arg := args[0]
		if isURLArg(arg) {
			// surge run URL: quick mode, as -u URL (curl, hey, wrk)
			if set("url") {
				return scenario.Plan{}, fmt.Errorf("give the URL once: as -u URL or as the argument, not both (got -u %s and %s)", f.url.v, arg)
			}
			f.url.v = arg
			return f.quick(cmd, env, o)
		}
		if hint := schemeHint(arg); hint != "" {
			if _, err := os.Stat(arg); err != nil {
				return scenario.Plan{}, fmt.Errorf("%s is neither a scenario file nor a URL: %s", arg, hint)
			}
		}
		return f.scenarioPlan(cmd, arg, env, o)
	}
	if !set("url") {
		return scenario.Plan{}, errors.New("nothing to test: give a target with -u URL, or a scenario file (see 'surge run --help')")
	}
	return f.quick(cmd, env, o)
}

// scenarioPlan loads file with the flags laid over it.
func (f *runFlags) scenarioPlan(cmd *cobra.Command, file string, env Env, o scenario.Overrides) (scenario.Plan, error) {
	set := cmd.Flags().Changed
	for _, name := range []string{"method", "body", "body-file", "body-template"} {
		if set(name) {
			return scenario.Plan{}, fmt.Errorf("--%s is for quick mode (-u URL without a scenario file): set the request in %s", name, file)
		}
	}
	if set("vus") && set("rate") {
		return scenario.Plan{}, errors.New("give --vus (closed model) or --rate (open model), not both")
	}
	if set("url") {
		if err := checkURLFlag("-u", f.url.v); err != nil {
			return scenario.Plan{}, err
		}
		o.Target = &f.url.v // the base URL the file's relative URLs resolve against
	}
	for _, h := range f.headers {
		hd, err := scenario.ParseHeader(h)
		if err != nil {
			return scenario.Plan{}, err
		}
		o.Headers = append(o.Headers, hd)
	}
	p, err := scenario.LoadFile(file, scenario.Options{Getenv: env.Getenv, Overrides: o})
	if err != nil || !set("url") {
		return p, err
	}
	// -u replaces the file's target, which only relative step URLs use:
	// say so when some steps ignore it, refuse when all of them do.
	total, absolute := 0, 0
	steps := append([]scenario.Step(nil), p.Setup...)
	for _, fl := range p.Flows {
		steps = append(steps, fl.Steps...)
	}
	for _, st := range steps {
		if st.IsThink() {
			continue
		}
		total++
		if hasScheme(st.URL) {
			absolute++
		}
	}
	switch {
	case total > 0 && absolute == total:
		return p, fmt.Errorf("-u %s would change nothing: it replaces the target of %s, the base of relative step URLs, but every step of %s has an absolute URL", f.url.v, file, file)
	case absolute > 0:
		fmt.Fprintf(env.Stderr, "surge: -u %s is the base URL of %s's relative steps; %d of its %d requests have absolute URLs and keep them\n", f.url.v, file, absolute, total)
	}
	return p, nil
}

// quick builds the plan of quick mode from the request flags.
func (f *runFlags) quick(cmd *cobra.Command, env Env, o scenario.Overrides) (scenario.Plan, error) {
	set := cmd.Flags().Changed
	if err := checkURLFlag("-u", f.url.v); err != nil {
		return scenario.Plan{}, err
	}
	q := scenario.QuickRequest{URL: f.url.v, Method: f.method.v, Headers: f.headers, Body: f.body.v, BodyTemplate: f.bodyTemplate}
	if f.bodyTemplate && !set("body") && !set("body-file") {
		return scenario.Plan{}, errors.New("--body-template makes the body a template: give the body with -d or --body-file")
	}
	if set("body-file") {
		if set("body") {
			return scenario.Plan{}, errors.New("give --body (-d) or --body-file, not both")
		}
		limit := int64(scenario.MaxBodyFile)
		if f.bodyTemplate {
			limit = template.MaxLen
		}
		b, err := readBounded(f.bodyFile.v, limit)
		if err != nil {
			if f.bodyTemplate && errors.Is(err, errTooLarge) {
				return scenario.Plan{}, fmt.Errorf("--body-file %s with --body-template: %w for a template; without --body-template the file is sent as data (up to %d MiB)", f.bodyFile.v, err, scenario.MaxBodyFile>>20)
			}
			return scenario.Plan{}, fmt.Errorf("--body-file %s: %w", f.bodyFile.v, err)
		}
		if f.bodyTemplate {
			q.Body = string(b)
		} else {
			q.RawBody, q.BodyFile = b, f.bodyFile.v
		}
	}
	method := strings.ToUpper(f.method.v)
	if set("body") && (method == "GET" || method == "HEAD") {
		if _, err := time.ParseDuration(strings.TrimSpace(f.body.v)); err == nil {
			fmt.Fprintf(env.Stderr, "surge: warning: -d %s is the request body (as in curl), sent with a %s; the length of the test is --duration %s\n", f.body.v, method, f.body.v)
		}
	}
	return scenario.Quick(q, o)
}

// overrides collects the load flags the user actually set, refusing values
// that cannot mean what they say (NaN, zero durations, zero VUs).
func (f *runFlags) overrides(cmd *cobra.Command) (scenario.Overrides, error) {
	var o scenario.Overrides
	set := cmd.Flags().Changed
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	if set("vus") {
		switch {
		case f.vus < 1:
			bad("--vus %d: want at least 1 virtual user", f.vus)
		case f.vus > engine.MaxVUs:
			bad("--vus %d: at most %d virtual users (see docs/limits.md)", f.vus, engine.MaxVUs)
		}
		o.VUs = &f.vus
	}
	if set("rate") {
		switch {
		case math.IsNaN(f.rate) || math.IsInf(f.rate, 0) || f.rate < 0:
			bad("--rate %v: want a number of iterations/s ≥ 0 (0 only with --stages)", f.rate)
		case f.rate > engine.MaxRate:
			bad("--rate %v: at most %d iterations/s (see docs/limits.md)", f.rate, engine.MaxRate)
		}
		o.Rate = &f.rate
	}
	if set("max-vus") {
		switch {
		case f.maxVUs < 1:
			bad("--max-vus %d: want at least 1", f.maxVUs)
		case f.maxVUs > engine.MaxVUs:
			bad("--max-vus %d: at most %d virtual users (see docs/limits.md)", f.maxVUs, engine.MaxVUs)
		}
		o.MaxVUs = &f.maxVUs
	}
	if set("duration") {
		if f.duration <= 0 {
			bad("--duration %v: want a positive duration, e.g. 30s (leave it out for the default %v)", f.duration, scenario.DefaultDuration)
		}
		o.Duration = &f.duration
	}
	if set("requests") {
		if f.requests < 1 {
			bad("--requests %d: want at least 1", f.requests)
		}
		o.Iterations = &f.requests
	}
	if set("timeout") {
		if f.timeout <= 0 {
			bad("--timeout %v: want a positive duration, e.g. 2s (leave it out for the default %v)", f.timeout, engine.DefaultTimeout)
		}
		o.Timeout = &f.timeout
	}
	if set("insecure") {
		o.Insecure = &f.insecure
	}
	if set("http2") {
		v := 1 // --http2=false: HTTP/1.1, whatever the file says
		if f.http2 {
			v = 2
		}
		o.HTTP = &v
	}
	if set("stages") {
		st, err := engine.ParseStages(f.stages)
		if err != nil {
			bad("--stages: %v", err)
		}
		for i, s := range st {
			if math.IsNaN(s.Target) || math.IsInf(s.Target, 0) || s.Target < 0 {
				bad("--stages: stage %d: target %v: want a number ≥ 0", i+1, s.Target)
			}
		}
		o.Stages = st
	}
	o.Thresholds = f.thresholds
	for _, m := range f.monitors {
		pm, err := scenario.ParseMonitorFlag(m)
		if err != nil {
			bad("%v", err)
			continue
		}
		o.Monitors = append(o.Monitors, pm)
	}
	if len(probs) > 0 {
		return o, errors.New(strings.Join(probs, "; "))
	}
	return o, nil
}

type execOptions struct {
	quiet   bool
	outputs []output
	sink    sink.Sink // more sinks beside the progress line; may be nil
	// remote is the recording that lets the server's dashboard adjust and
	// stop this run; nil without --server.
	remote *recording
}

// ErrStoppedRemotely marks a run stopped from the dashboard of the server
// that records it: its summary and outputs are written, and it exits 1 (it
// did not complete; 130 is for signals). See docs/cli.md.
var ErrStoppedRemotely = errors.New("stopped from the dashboard")

// execute runs a validated plan in a run session, prints the live line and
// the summary, and writes the outputs. The first interrupt stops the run
// gracefully (outputs are still written); a second one abandons it.
func execute(ctx context.Context, env Env, plan scenario.Plan, o execOptions) (*report.Summary, error) {
	sinks := []sink.Sink{o.sink}
	if !o.quiet && env.Terminal {
		sinks = append([]sink.Sink{newProgress(env.Stdout, plan)}, sinks...)
	}
	sess := run.New(plan, run.Options{Sinks: sinks})
	if o.remote != nil {
		o.remote.steer(sess)
	}
	if err := sess.Start(ctx); err != nil {
		return nil, fmt.Errorf("running: %w", err)
	}
	defer sess.Stop(nil) // an abandoned run goes on no longer than this call
	interrupts := 0
wait:
	for {
		select {
		case <-sess.Done():
			break wait
		case <-env.Signals:
			interrupts++
			if interrupts == 1 {
				fmt.Fprintln(env.Stderr, "\nsurge: stopping: letting in-flight requests finish (interrupt again to abandon the run)")
				sess.Stop(ErrInterrupted)
				continue
			}
			return nil, fmt.Errorf("run abandoned, no summary written: %w", ErrInterrupted)
		}
	}
	res, err := sess.Wait()
	if err != nil {
		return nil, fmt.Errorf("running: %w", err)
	}
	id := newRunID(res.Started)
	if named, ok := o.sink.(interface{ RunID() string }); ok {
		id = named.RunID() // recorded in a server: one id in both places
	}
	sum := sess.Summary(id, res, runtime.GOMAXPROCS(0))
	if err := printSummary(env, &sum, o.outputs); err != nil {
		return nil, err
	}
	switch {
	case interrupts > 0:
		// Ctrl-C is not success (exit 130), but what was sent is reported.
		return &sum, fmt.Errorf("run stopped by a signal; the summary and reports cover what was sent: %w", ErrInterrupted)
	case errors.Is(res.Stopped, ErrStoppedRemotely):
		return &sum, fmt.Errorf("run %w; the summary and reports cover what was sent", ErrStoppedRemotely)
	}
	return &sum, nil
}

// printSummary prints a run's summary and writes its outputs: the end of
// every run, local or on agents.
func printSummary(env Env, sum *report.Summary, outputs []output) error {
	if err := report.WriteText(env.Stdout, sum); err != nil {
		return err
	}
	for _, out := range outputs {
		if err := writeOutput(out, sum); err != nil {
			return err
		}
	}
	return nil
}

func newRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}
