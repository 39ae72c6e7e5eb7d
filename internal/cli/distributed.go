package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
)

// distFlags are `surge run --server URL --agents N`: the server runs the
// plan on N of its connected agents while this process follows the run,
// prints the summary and writes the outputs as for a local run.
type distFlags struct {
	agents int
	labels []string
	onLoss string
}

func addDistFlags(fl *pflag.FlagSet) *distFlags {
	var d distFlags
	fl.IntVar(&d.agents, "agents", 0, "run on N agents connected to the --server (surge agent), each an exact share of the load")
	fl.StringArrayVar(&d.labels, "agent-label", nil, "with --agents: only agents with this label, k=v (repeatable)")
	fl.StringVar(&d.onLoss, "on-agent-loss", "rebalance", "with --agents, when an agent is lost mid-run: rebalance (the others take its share), continue or abort")
	return &d
}

// maxAgents bounds --agents: a run's shares are planned and merged for each.
const maxAgents = 1000

// start validates the flags and starts the run on the server; nil, nil
// without --agents.
func (d *distFlags) start(cmd interface{ Changed(string) bool }, ctx context.Context, env Env, rec *recordFlags, plan scenario.Plan) (*server.RemoteRun, error) {
	if d.agents == 0 {
		for _, name := range []string{"agent-label", "on-agent-loss"} {
			if cmd.Changed(name) {
				return nil, usageErr(fmt.Errorf("--%s is for runs on agents: give --agents N too", name))
			}
		}
		if cmd.Changed("agents") {
			return nil, usageErr(errors.New("--agents 0: want at least 1 agent (leave --agents out to run in this process)"))
		}
		return nil, nil
	}
	if d.agents < 0 || d.agents > maxAgents {
		return nil, usageErr(fmt.Errorf("--agents %d: want 1 to %d agents", d.agents, maxAgents))
	}
	if rec.server == "" {
		return nil, usageErr(errors.New("--agents runs the test on the agents of a surge server: give --server URL too"))
	}
	if _, err := controller.ParseLossPolicy(d.onLoss); err != nil {
		return nil, usageErr(fmt.Errorf("--on-agent-loss: %w", err))
	}
	labels := map[string]string{}
	for _, l := range d.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErr(fmt.Errorf("--agent-label %q: want KEY=VALUE, e.g. zone=eu-1", l))
		}
		labels[k] = v
	}
	base, secret, err := rec.endpoint(env)
	if err != nil {
		return nil, err
	}
	rr, err := server.StartRemote(ctx, base, secret, server.RemoteStart{Plan: plan, Agents: d.agents, AgentLabels: labels, OnAgentLoss: d.onLoss})
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	fmt.Fprintf(env.Stderr, "surge: running on %d agents of %s: %s\n", d.agents, base, rr.URL())
	return rr, nil
}

// followRemote follows a run on a server's agents to its end, as execute
// runs a local one: the live line, Ctrl-C (the first stops the run on the
// server gracefully; a second leaves without a summary), then the summary
// the server built from the agents' merged snapshots, the outputs and the
// exit code.
func followRemote(ctx context.Context, env Env, plan scenario.Plan, rr *server.RemoteRun, o execOptions) (*report.Summary, error) {
	var line *remoteProgress
	if !o.quiet && env.Terminal {
		line = &remoteProgress{w: env.Stdout, total: plan.Load.Profile().Duration(), open: plan.Load.Model == engine.Open}
	}
	followCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	followed := make(chan error, 1)
	go func() {
		followed <- rr.Follow(followCtx, func(iv server.Interval) {
			if line != nil {
				line.show(iv)
			}
		})
	}()
	interrupts := 0
	stopped := make(chan error, 1)
wait:
	for {
		select {
		case err := <-followed:
			if err != nil {
				return nil, fmt.Errorf("following the run on the server: %w", err)
			}
			break wait
		case err := <-stopped:
			if err != nil {
				fmt.Fprintf(env.Stderr, "\nsurge: %v\n", err)
			}
		case <-env.Signals:
			interrupts++
			if interrupts == 1 {
				fmt.Fprintln(env.Stderr, "\nsurge: stopping the run on the server: letting in-flight requests finish (interrupt again to leave it)")
				go func() { stopped <- rr.Stop(context.WithoutCancel(ctx)) }()
				continue
			}
			return nil, fmt.Errorf("left the run on the server (%s), no summary written: %w", rr.URL(), ErrInterrupted)
		}
	}
	if line != nil {
		line.clear()
	}
	readCtx, cancelRead := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelRead()
	status, failure, err := rr.Status(readCtx)
	if err != nil {
		return nil, err
	}
	if status == "failed" && failure != "" {
		fmt.Fprintf(env.Stderr, "surge: the run failed on the server: %s\n", failure)
	}
	sum, err := rr.Summary(readCtx)
	if err != nil {
		return nil, err
	}
	if err := printSummary(env, &sum, o.outputs); err != nil {
		return nil, err
	}
	switch {
	case interrupts > 0:
		return &sum, fmt.Errorf("run stopped by a signal; the summary and reports cover what was sent: %w", ErrInterrupted)
	case status == "failed":
		return &sum, fmt.Errorf("the run failed on the server: %s", failure)
	case status == "stopped" && failure == server.ErrShutdown.Error():
		return &sum, fmt.Errorf("the server stopped the run: %s; the summary and reports cover what was sent", failure)
	case status == "stopped":
		return &sum, fmt.Errorf("run %w; the summary and reports cover what was sent", ErrStoppedRemotely)
	}
	return &sum, nil
}

// remoteProgress is the live line of a run on agents, drawn from the
// server's live intervals.
type remoteProgress struct {
	w     io.Writer
	total time.Duration
	open  bool
}

func (p *remoteProgress) show(iv server.Interval) {
	elapsed := time.Duration(iv.Point.Elapsed * float64(time.Second)).Round(time.Second)
	of := ""
	if p.total > 0 {
		of = "/" + p.total.String()
		if elapsed > p.total {
			elapsed, of = p.total, of+" (finishing in-flight requests)"
		}
	}
	t := iv.Summary.Totals
	errPct := 0.0
	if t.Requests > 0 {
		errPct = 100 * float64(t.Errors) / float64(t.Requests)
	}
	p99 := roundLatency(time.Duration(iv.Point.P99 * float64(time.Millisecond)))
	fmt.Fprintf(p.w, "\r\033[K  %s%s  vus %d  rps %.0f  p99 %s  requests %d  errors %d (%.2f%%)",
		elapsed, of, iv.Point.VUs, iv.Point.RPS, p99, t.Requests, t.Errors, errPct)
}

func (p *remoteProgress) clear() { fmt.Fprint(p.w, "\r\033[K") }
