package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/agent/remote"
)

func agentCmd(env Env) *cobra.Command {
	var serverURL, token, name, caFile string
	var labels []string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Generate load for a surge server: connect out, wait for work, run it",
		Long: `Connect out to a surge server (--server URL), register, and run the shares
of the server's runs it is given, streaming one snapshot per interval. The
plan travels whole with each share (data rows, body files, the {{env.*}}
values it reads): the agent needs no copy of anything.

The agent authenticates with the server's agent token (--token, or
SURGE_AGENT_TOKEN; not the dashboard's secret). It talks HTTP/2: over TLS
(https://, verified against the system's roots or --ca FILE), or without
TLS to a server on a loopback address only. It reconnects with backoff
whenever the server goes away, and runs until interrupted; a running
share then stops gracefully (its last snapshot is sent) and the agent
exits 0. A wrong token or a server of another Surge version is refused
for good: exit 2, with the server's message.`,
		Example: `  SURGE_AGENT_TOKEN=… surge agent --server https://surge.internal:8089 --name lg-1 --label zone=eu
  surge agent --server http://127.0.0.1:8089 --token "$(cat ~/.local/share/surge/agent-token)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("token") {
				token = getenv(env, "SURGE_AGENT_TOKEN")
			}
			token = strings.TrimSpace(token)
			if serverURL == "" {
				return usageErr(errors.New("--server URL is required: the surge server to take work from"))
			}
			if token == "" {
				return usageErr(errors.New("no agent token: give --token T or SURGE_AGENT_TOKEN (the server prints its token at its first start and keeps it in its data directory, file agent-token)"))
			}
			if name == "" {
				name = defaultAgentName()
			}
			lab, err := parseLabels(labels)
			if err != nil {
				return usageErr(err)
			}
			var tc *tls.Config
			if caFile != "" {
				if tc, err = caConfig(caFile); err != nil {
					return usageErr(err)
				}
			}
			log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			w, err := remote.NewWorker(remote.WorkerOptions{Server: serverURL, Token: token, Name: name, Labels: lab,
				Version: Version, TLS: tc, Logger: log})
			if err != nil {
				return usageErr(fmt.Errorf("--server/--name/--label: %w", err))
			}
			return runAgent(cmd.Context(), env, w)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&serverURL, "server", "", "the surge server's URL (https://HOST:PORT; http:// on loopback only)")
	fl.StringVar(&token, "token", "", "the server's agent token (default $SURGE_AGENT_TOKEN)")
	fl.StringVar(&name, "name", "", "this agent's name, unique among the server's agents (default: the host name)")
	fl.StringArrayVar(&labels, "label", nil, "a label k=v that runs can pick agents by (repeatable)")
	fl.StringVar(&caFile, "ca", "", "PEM file of the CA that signed the server's certificate (default: the system's roots)")
	return cmd
}

// runAgent runs w until a signal (the running share stops gracefully; a
// second signal quits at once) or a refusal.
func runAgent(ctx context.Context, env Env, w *remote.Worker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case err := <-done:
		return agentErr(err)
	case <-env.Signals:
		fmt.Fprintln(env.Stderr, "surge agent: stopping: a running share ends gracefully first (interrupt again to quit at once)")
	}
	cancel()
	select {
	case err := <-done:
		return agentErr(err)
	case <-env.Signals:
		return nil
	}
}

// agentErr maps a refusal by the server to exit 2: the agent's token or
// version must change, retrying would not help.
func agentErr(err error) error {
	if errors.Is(err, remote.ErrRefused) {
		return usageErr(err)
	}
	return err
}

// defaultAgentName is the host name, in the characters a name may have.
func defaultAgentName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "agent"
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return '-'
	}, h)
}

// parseLabels reads --label k=v flags.
func parseLabels(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flags))
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--label %q: want k=v", f)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--label %q: label %s is given twice", f, k)
		}
		out[k] = v
	}
	return out, nil
}

// caConfig trusts the CA certificates in the PEM file path.
func caConfig(path string) (*tls.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in it", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
