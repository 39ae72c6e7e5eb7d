package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/controller"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
)

// capacityRemote are `surge capacity --server URL [--agents N]`: the
// server runs the search (in its process, or on N of its agents) and keeps
// it in its history, while this process follows it, prints the same step
// lines and result as a local search, writes the --out files and exits
// with the same codes.
type capacityRemote struct {
	server, secret string
	agents         int
	labels         []string
	onLoss         string
}

// remoteFlags are the flags of capacityRemote.
var remoteFlags = []string{"server", "secret", "agents", "agent-label", "on-agent-loss"}

func (rc *capacityRemote) addFlags(fl *pflag.FlagSet) {
	fl.StringVar(&rc.server, "server", "", "run the search on the surge server at URL (kept in its history, shown live in its dashboard) and follow it here")
	fl.StringVar(&rc.secret, "secret", "", "the server's access secret (default $SURGE_SECRET)")
	fl.IntVar(&rc.agents, "agents", 0, "with --server: run the search's load on N agents connected to the server (surge agent), each an exact share")
	fl.StringArrayVar(&rc.labels, "agent-label", nil, "with --agents: only agents with this label, k=v (repeatable)")
	fl.StringVar(&rc.onLoss, "on-agent-loss", "rebalance", "with --agents, when an agent is lost mid-search: rebalance (the others take its share), continue or abort")
}

// wanted says a flag of capacityRemote was given: the search is the
// server's (run checks the flags go together).
func (rc *capacityRemote) wanted(cmd *cobra.Command) bool {
	for _, name := range remoteFlags {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

// start checks the flags and starts the search on the server.
func (rc *capacityRemote) start(ctx context.Context, cmd *cobra.Command, env Env, plan scenario.Plan, o capacity.Options) (*server.RemoteCapacity, string, error) {
	changed := cmd.Flags().Changed
	if rc.server == "" {
		for _, name := range remoteFlags[1:] {
			if changed(name) {
				return nil, "", usageErr(fmt.Errorf("--%s is for a search on a surge server: give --server URL too", name))
			}
		}
	}
	cs := server.CapacityStart{Plan: plan, SLO: sloExprs(o.SLO), Start: o.Start, Max: o.Max, Step: o.Settle + o.Window,
		Precision: o.Precision, Probe: o.Probe, LinkBytesPerSec: o.LinkBytesPerSec}
	switch {
	case changed("agents") && (rc.agents < 1 || rc.agents > maxAgents):
		return nil, "", usageErr(fmt.Errorf("--agents %d: want 1 to %d agents (leave --agents out to search from the server's own process)", rc.agents, maxAgents))
	case !changed("agents") && (changed("agent-label") || changed("on-agent-loss")):
		return nil, "", usageErr(fmt.Errorf("--agent-label and --on-agent-loss are for a search on agents: give --agents N too"))
	}
	if rc.agents > 0 {
		if _, err := controller.ParseLossPolicy(rc.onLoss); err != nil {
			return nil, "", usageErr(fmt.Errorf("--on-agent-loss: %w", err))
		}
		cs.Agents, cs.OnAgentLoss = rc.agents, rc.onLoss
		for _, l := range rc.labels {
			k, v, ok := strings.Cut(l, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, "", usageErr(fmt.Errorf("--agent-label %q: want KEY=VALUE, e.g. zone=eu-1", l))
			}
			if cs.AgentLabels == nil {
				cs.AgentLabels = map[string]string{}
			}
			cs.AgentLabels[k] = v
		}
	}
	base, secret, err := (&recordFlags{server: rc.server, secret: rc.secret}).endpoint(env)
	if err != nil {
		return nil, "", err
	}
	rr, err := server.StartCapacity(ctx, base, secret, cs)
	if err != nil {
		return nil, "", fmt.Errorf("--server: %w", err)
	}
	where := "the server's process"
	if rc.agents > 0 {
		where = fmt.Sprintf("%d agents", rc.agents)
	}
	return rr, where, nil
}

// runCapacityRemote runs the search on the server and reports it as
// runCapacity reports a local one. The first interrupt stops the search on
// the server (the result covers the steps so far, exit 130); a second
// leaves it running there, with no result written.
func (rc *capacityRemote) run(cmd *cobra.Command, env Env, plan scenario.Plan, o capacity.Options, outs capacityOuts, quiet bool) error {
	ctx := cmd.Context()
	rr, where, err := rc.start(ctx, cmd, env, plan, o)
	if err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(env.Stderr, "surge: capacity search of %s, objectives %s: from %g/s, up to %g/s, on %s of %s: %s\n",
			o.Target, strings.Join(sloExprs(o.SLO), ", "), o.Start, o.Max, where, strings.TrimRight(rc.server, "/"), rr.URL())
	}
	followCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	followed := make(chan error, 1)
	go func() {
		followed <- rr.Follow(followCtx, func(p server.CapacityProgress) {
			if quiet {
				return
			}
			line := "  " + capacity.StepLine(p.Step)
			if p.Left > 0 {
				line += fmt.Sprintf("  ~%s left", p.Left.Round(time.Second))
			}
			fmt.Fprintln(env.Stderr, line)
		})
	}()
	interrupts := 0
	stopped := make(chan error, 1)
wait:
	for {
		select {
		case err := <-followed:
			if err != nil {
				return fmt.Errorf("following the search on the server (%s): %w", rr.URL(), err)
			}
			break wait
		case err := <-stopped:
			if err != nil {
				fmt.Fprintf(env.Stderr, "\nsurge: %v\n", err)
			}
		case <-env.Signals:
			interrupts++
			if interrupts == 1 {
				fmt.Fprintln(env.Stderr, "\nsurge: stopping the search on the server: reporting the steps so far (interrupt again to leave it)")
				go func() { stopped <- rr.Stop(context.WithoutCancel(ctx)) }()
				continue
			}
			return fmt.Errorf("left the search on the server (%s), no result written: %w", rr.URL(), ErrInterrupted)
		}
	}
	readCtx, cancelRead := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelRead()
	status, failure, err := rr.Status(readCtx)
	if err != nil {
		return err
	}
	res, _, err := rr.Result(readCtx)
	if err != nil {
		return err
	}
	if err := capacity.WriteText(env.Stdout, res); err != nil {
		return err
	}
	if err := writeCapacityOuts(outs, res); err != nil {
		return err
	}
	switch {
	case interrupts > 0:
		return fmt.Errorf("search stopped by a signal; the result covers the steps so far: %w", ErrInterrupted)
	case status == "failed":
		return fmt.Errorf("the capacity search failed on the server: %s", failure)
	case status == "stopped":
		return fmt.Errorf("search %w (%s); the result covers the steps so far", ErrStoppedRemotely, failure)
	case status == "interrupted":
		return fmt.Errorf("the search was interrupted on the server (%s); the result covers the steps so far", failure)
	case status != "finished":
		return errors.New("the search on the server has not ended (status " + status + ")")
	case res.StartMissed:
		return fmt.Errorf("the start rate %g/s misses the objectives: %w", o.Start, ErrThresholds)
	}
	return nil
}
