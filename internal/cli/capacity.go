package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
)

// capacityMaxDuration bounds the run a search drives: the search stops it
// when it is done, and a search that is not done by then ends with the
// steps so far (docs/limits.md).
const capacityMaxDuration = 20 * time.Minute

// capacityFlags are `surge capacity`'s own flags; the request flags are
// run's (runFlags), so that the target is given the same way.
type capacityFlags struct {
	slo        []string
	start, max float64
	step       time.Duration
	probe      string
	link       string
}

// capacityOuts are where a search's result is written: json=PATH
// (surge.capacity/v1) and html=PATH (its page); "" for none.
type capacityOuts struct{ json, html string }

func capacityCmd(env Env) *cobra.Command {
	var (
		f   runFlags
		c   capacityFlags
		rem capacityRemote // --server, --agents: capacity_remote.go
	)
	cmd := &cobra.Command{
		Use:   "capacity (-u URL | URL | SCENARIO.yaml) --slo EXPR... [flags]",
		Short: "Find the highest rate that meets an objective, the knee, and the bottleneck",
		Long: `Search for the highest open-model rate the target sustains while meeting every
objective (--slo, the threshold grammar of surge run --threshold), in one run
whose rate changes live: a warm-up, steps growing ×2 until an objective fails,
bisection to 5 %, and a confirming hold. Each step waits a third of --step for
the rate change to settle, then judges the rest on exact percentiles of the
window. A clearly failing step stops early, and the target recovers at the
start rate before the next one. Rates are iterations/s: for a flow of several
requests the achieved requests/s are shown beside them. The objectives'
flow[NAME] and endpoint[NAME] must name the plan's flows and steps.

It prints each step live (on stderr), then the max rate, the knee (where
latency turned upward) and the bottleneck with its evidence: concurrency
(Little's law), errors, connections, cpu, memory or network (from --monitor),
generator (Surge itself was the limit: the rate is a lower bound), or unknown
when the evidence does not decide. --probe samples a health endpoint at 2/s
throughout, off the load: its latency per step shows a health check starving.
After the steps it draws the curve in brief; --out html=PATH draws it in full.

Exit codes: 0 a rate was found; 3 even the start rate misses the objectives;
2 invalid usage (nothing was sent); 130 interrupted; 1 anything else.`,
		Example: `  surge capacity -u http://127.0.0.1:8080/work --slo 'p99<250ms' --slo 'errors<1%'
  surge capacity http://127.0.0.1:8080/db --slo 'p99<500ms' --start 20 --max 2000 --out json=capacity.json
  surge capacity shop.yaml --slo 'p95<300ms' --monitor api=http://10.0.0.5:9465/metrics`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErr(fmt.Errorf("want at most one scenario file or URL, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, opts, outs, err := c.setup(cmd, args, env, &f)
			if err != nil {
				return usageErr(err)
			}
			if rem.wanted(cmd) {
				return rem.run(cmd, env, plan, opts, outs, f.quiet)
			}
			return runCapacity(cmd.Context(), env, plan, opts, outs, f.quiet)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	f.method.v = "GET"
	fl.StringArrayVar(&c.slo, "slo", nil, "objective every step must meet, e.g. 'p99<250ms', 'errors<1%' (repeatable; at least one)")
	fl.Float64Var(&c.start, "start", capacity.DefaultStart, "first rate, iterations/s")
	fl.Float64Var(&c.max, "max", capacity.DefaultMax, "highest rate offered, iterations/s")
	fl.DurationVar(&c.step, "step", capacity.DefaultSettle+capacity.DefaultWindow, "length of each step: a third to settle, the rest judged (at least 3s)")
	fl.VarP(&f.url, "url", "u", "target URL (quick mode); with a scenario file, the base URL of its relative step URLs")
	fl.VarP(&f.method, "method", "X", "HTTP method")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	fl.VarP(&f.body, "body", "d", "request body, sent as given")
	fl.Var(&f.bodyFile, "body-file", "send this file's bytes as the request body (at most 64 MiB)")
	fl.BoolVar(&f.bodyTemplate, "body-template", false, "treat the body as a {{…}} template")
	fl.IntVar(&f.maxVUs, "max-vus", 0, "cap on concurrent in-flight iterations (default: --max × timeout, at most 20000)")
	fl.DurationVar(&f.timeout, "timeout", engine.DefaultTimeout, "per-request timeout")
	fl.StringArrayVar(&f.monitors, "monitor", nil, "scrape a Prometheus text endpoint during the search: URL or NAME=URL (repeatable); its CPU is evidence of the bottleneck")
	fl.StringVar(&c.probe, "probe", "", "a health endpoint's URL, sampled at 2/s throughout on a client of its own (not load): its latency per step shows a health check starving under load")
	fl.StringVar(&c.link, "link", "", "the monitored host's network link speed, e.g. 1Gbit or 125MB (per second, each way), when its monitor does not give node_network_speed_bytes")
	fl.StringArrayVar(&f.outs, "out", nil, "write the result: json=PATH (surge.capacity/v1), html=PATH (the curve); repeatable")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no live step lines")
	fl.BoolVar(&f.insecure, "insecure", false, "skip TLS certificate verification")
	fl.BoolVar(&f.http2, "http2", false, "speak HTTP/2 to every target: with prior knowledge to http:// (h2c), h2 only over TLS (scenario: defaults.http: 2)")
	rem.addFlags(fl)
	return cmd
}

// setup validates the flags and builds the plan of the search's one run:
// the request as surge run builds it, in the open model at the start rate.
func (c *capacityFlags) setup(cmd *cobra.Command, args []string, env Env, f *runFlags) (scenario.Plan, capacity.Options, capacityOuts, error) {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	var o capacity.Options
	if len(c.slo) == 0 {
		bad("no objective: give at least one --slo, e.g. --slo 'p99<250ms' --slo 'errors<1%%'")
	}
	for _, e := range c.slo {
		t, err := metrics.ParseThreshold(e)
		if err != nil {
			bad("--slo: %v", err)
			continue
		}
		if t.Monitor != "" {
			bad("--slo %q: objectives are on the load's own figures; a monitor's CPU is evidence, not an objective (give it with --monitor)", e)
			continue
		}
		o.SLO = append(o.SLO, t)
	}
	switch {
	case !(c.start > 0) || math.IsInf(c.start, 0):
		bad("--start %v: want a rate > 0", c.start)
	case !(c.max >= c.start) || c.max > engine.MaxRate:
		bad("--max %v: want a rate between --start (%v) and %d", c.max, c.start, engine.MaxRate)
	}
	if c.step < 3*time.Second {
		bad("--step %v: want at least 3s (a third settles, the rest is judged in 1s intervals)", c.step)
	}
	var outs capacityOuts
	for _, s := range f.outs {
		kind, path, ok := strings.Cut(s, "=")
		dst := map[string]*string{"json": &outs.json, "html": &outs.html}[kind]
		switch {
		case !ok || path == "":
			bad("--out %q: want json=PATH or html=PATH", s)
		case dst == nil:
			bad("--out %q: surge capacity writes json=PATH (surge.capacity/v1) and html=PATH", s)
		case *dst != "":
			bad("--out %q: give one %s=PATH", s, kind)
		default:
			*dst = path
			if err := checkOutputs([]output{{kind, path}}); err != nil {
				bad("%v", err)
			}
		}
	}
	if outs.json != "" && outs.json == outs.html {
		bad("--out json=%s and html=%s: give each its own file", outs.json, outs.html)
	}
	if c.probe != "" {
		if u, err := url.Parse(c.probe); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--probe %q: want an http:// or https:// URL, e.g. http://127.0.0.1:8080/health", c.probe)
		}
	}
	if c.link != "" {
		v, err := parseLinkSpeed(c.link)
		if err != nil {
			bad("--link %q: %v", c.link, err)
		}
		o.LinkBytesPerSec = v
	}
	plan, err := f.plan(cmd, args, env)
	if err != nil {
		probs = append(probs, err.Error())
	}
	if len(probs) > 0 {
		return plan, o, outs, errors.New(strings.Join(probs, "; "))
	}
	// One open-model run at the start rate, held until the search stops
	// it; the search sets every rate after that.
	if len(args) == 1 && !isURLArg(args[0]) && loadWritten(plan.Load) {
		fmt.Fprintf(env.Stderr, "surge: the search runs %s in the open model (the rate is what it searches); its load: section is not used\n", args[0])
	}
	plan.Load = scenario.Load{Model: engine.Open, Rate: c.start, Duration: capacityMaxDuration, MaxVUs: f.maxVUs}
	if plan.Load.MaxVUs == 0 {
		plan.Load.MaxVUs = engine.DefaultMaxVUs(c.max, plan.Timeout)
	}
	// The objectives are checked against the plan as surge run's
	// thresholds are (a flow or endpoint it does not have, with the name
	// it may have meant), before anything is sent; then the search judges
	// them step by step, not the run.
	plan.Thresholds = sloExprs(o.SLO)
	err = plan.Validate()
	plan.Thresholds = nil
	if err != nil {
		return plan, o, outs, sloProblems(err)
	}
	settle := c.step / 3
	o.Start, o.Max, o.Settle, o.Window = c.start, c.max, settle, c.step-settle
	o.Confirm = 2 * o.Window
	o.Cores, o.MaxVUs = runtime.GOMAXPROCS(0), plan.Load.MaxVUs
	o.Probe, o.ProbeInsecure = c.probe, f.insecure
	o.Target = plan.Name
	if len(plan.Flows) == 1 && len(plan.Flows[0].Steps) == 1 {
		// One request: the target is its URL, or a gRPC call's server
		// and method.
		st := plan.Flows[0].Steps[0]
		o.Target = st.URL
		if st.IsGRPC() {
			o.Target = strings.TrimSuffix(plan.GRPCTarget(), "/") + "/" + st.GRPC
		}
	}
	return plan, o, outs, nil
}

// loadWritten says whether a scenario's load is more than the defaults a
// file without a load: section gets (one VU, closed model, the default duration), so that the
// note that the search does not use it is not said of a file that has
// none.
func loadWritten(l scenario.Load) bool {
	return l.Model == engine.Open || l.VUs != scenario.DefaultVUs || len(l.Stages) > 0 || l.Duration != scenario.DefaultDuration || l.Iterations != 0
}

// sloProblems names the --slo flag in the plan's threshold problems (the
// plan's thresholds were the objectives when it was validated); the other
// problems are left as they are.
func sloProblems(err error) error {
	var probs scenario.Problems
	if !errors.As(err, &probs) {
		return err
	}
	out := make(scenario.Problems, len(probs))
	for i, p := range probs {
		out[i] = p
		var pe *scenario.Error
		if errors.As(p, &pe) && strings.HasPrefix(pe.Path, "thresholds[") {
			e := *pe
			e.Msg = "--slo " + strings.TrimPrefix(e.Msg, "threshold ")
			e.Path, e.Context = "", ""
			out[i] = &e
		}
	}
	return out
}

// linkUnits are the units --link takes, in bytes per second.
var linkUnits = map[string]float64{
	"bit": 1.0 / 8, "kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8, "tbit": 1e12 / 8,
	"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// parseLinkSpeed reads a link speed such as 1Gbit, 100Mbit/s or 125MB
// into bytes per second.
func parseLinkSpeed(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, errors.New("want a number and a unit, e.g. 1Gbit, 100Mbit or 125MB")
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	unit, ok := linkUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	switch {
	case err != nil || !(n > 0) || math.IsInf(n, 0):
		return 0, errors.New("want a speed > 0, e.g. 1Gbit")
	case !ok:
		return 0, fmt.Errorf("unit %q: want bit, Kbit, Mbit, Gbit, B, KB, MB, GB, KiB, MiB or GiB", t[i:])
	}
	return n * unit, nil
}

// runCapacity runs the search in one run session and reports it. The
// first interrupt ends the search with the steps so far (reported, exit
// 130).
func runCapacity(ctx context.Context, env Env, plan scenario.Plan, o capacity.Options, outs capacityOuts, quiet bool) error {
	sess := run.New(plan, run.Options{})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := sess.Start(ctx); err != nil {
		return fmt.Errorf("running: %w", err)
	}
	go func() {
		select {
		case <-env.Signals:
			fmt.Fprintln(env.Stderr, "\nsurge: stopping the search: reporting the steps so far")
			cancel(ErrInterrupted)
		case <-ctx.Done():
		}
	}()
	if !quiet {
		fmt.Fprintf(env.Stderr, "surge: capacity search of %s, objectives %s: from %g/s, up to %g/s\n", o.Target, strings.Join(sloExprs(o.SLO), ", "), o.Start, o.Max)
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
		return serr // bad options: setup checked them, so this is a bug
	}
	if err := capacity.WriteText(env.Stdout, res); err != nil {
		return err
	}
	if err := writeCapacityOuts(outs, res); err != nil {
		return err
	}
	switch {
	case errors.Is(serr, ErrInterrupted):
		return fmt.Errorf("search stopped by a signal; the result covers the steps so far: %w", ErrInterrupted)
	case serr != nil:
		return fmt.Errorf("capacity search: %w", serr)
	case res.StartMissed:
		return fmt.Errorf("the start rate %g/s misses the objectives: %w", o.Start, ErrThresholds)
	}
	return nil
}

func sloExprs(ts []metrics.Threshold) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Expr
	}
	return out
}

// writeCapacityOuts writes the result to each of outs.
func writeCapacityOuts(outs capacityOuts, res *capacity.Result) error {
	if outs.json != "" {
		if err := writeCapacityFile(outs.json, res, capacity.WriteJSON); err != nil {
			return err
		}
	}
	if outs.html != "" {
		if err := writeCapacityFile(outs.html, res, capacity.WriteHTML); err != nil {
			return err
		}
	}
	return nil
}

func writeCapacityFile(path string, res *capacity.Result, write func(io.Writer, *capacity.Result) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing the capacity result: %w", err)
		}
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the capacity result: %w", err)
	}
	err = write(fh, res)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the capacity result to %s: %w", path, err)
	}
	return nil
}
