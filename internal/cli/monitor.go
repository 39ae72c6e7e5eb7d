package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/monitor"
)

// defaultMonitorListen is surge monitor's address: loopback, on a port
// next to node_exporter's 9100 range that nothing common uses.
const defaultMonitorListen = "127.0.0.1:9465"

// monitorStopWait bounds the shutdown after an interrupt: a scrape in
// progress finishes (a sample takes milliseconds).
const monitorStopWait = 5 * time.Second

func monitorCmd(env Env) *cobra.Command {
	var (
		listen, token string
		o             monitor.Options
	)
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Serve the target host's CPU, memory, network and processes as Prometheus text",
		Long: `Run on the host under test. Serves Prometheus text at /metrics: host
metrics under node_exporter's names (node_cpu_seconds_total,
node_memory_MemAvailable_bytes, node_network_receive_bytes_total,
node_netstat_TcpExt_ListenOverflows, …), and for every watched process
process_cpu_seconds_total, process_resident_memory_bytes, process_threads,
process_open_fds (labels pid, name) and surge_process_cpu_limit_cores;
for every cgroup v2 directory its CPU usage, throttling and memory.

--process NAME watches every process whose comm, executable or argv[0] is
called NAME (all gunicorn workers, say), found anew at every scrape.

It listens on loopback unless told otherwise; any other address needs
--token (or SURGE_MONITOR_TOKEN) of at least 16 characters, which scrapers
send as "Authorization: Bearer TOKEN". See docs/monitor.md.`,
		Example: `  surge monitor --process gunicorn
  surge monitor --pid 4242 --cgroup system.slice/api.service
  SURGE_MONITOR_TOKEN="$(openssl rand -base64 24)" surge monitor --listen 0.0.0.0:9465 --process java`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("token") {
				token = getenv(env, "SURGE_MONITOR_TOKEN")
			}
			token = strings.TrimSpace(token)
			loopback, err := isLoopback(listen)
			if err != nil {
				return usageErr(fmt.Errorf("--listen %q: %w", listen, err))
			}
			if !loopback && token == "" {
				return usageErr(fmt.Errorf("refusing to listen on %s without a token: anyone who can reach it could read the host's metrics and process names. "+
					"Give one with --token or SURGE_MONITOR_TOKEN (for example: openssl rand -base64 24), or listen on 127.0.0.1", listen))
			}
			if !loopback && len([]rune(token)) < MinSecretLength {
				return usageErr(fmt.Errorf("refusing to listen on %s with a token of %d characters: on an address others can reach, "+
					"the token must have at least %d", listen, len([]rune(token)), MinSecretLength))
			}
			s, err := monitor.New(o)
			if err != nil {
				return usageErr(err)
			}
			return serveMonitor(cmd.Context(), env, s, listen, token)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&listen, "listen", defaultMonitorListen, "address to listen on")
	fl.IntSliceVar(&o.PIDs, "pid", nil, "watch this process id (repeatable)")
	fl.StringArrayVar(&o.Processes, "process", nil, "watch every process called NAME (repeatable)")
	fl.StringArrayVar(&o.Cgroups, "cgroup", nil, "watch this cgroup v2 directory, absolute or under the cgroup2 mount (repeatable)")
	fl.StringVar(&token, "token", "", "require 'Authorization: Bearer TOKEN' (default $SURGE_MONITOR_TOKEN; required off loopback)")
	return cmd
}

func serveMonitor(ctx context.Context, env Env, s *monitor.Sampler, listen, token string) error {
	if _, err := s.Families(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	hs := monitor.HTTPServer(s.Handler(token, log))
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	auth := ""
	if token != "" {
		auth = " (bearer token required)"
	}
	fmt.Fprintf(env.Stdout, "surge monitor: serving http://%s/metrics%s; interrupt to stop\n", ln.Addr(), auth)

	var serveErr error
	select {
	case <-ctx.Done():
	case <-env.Signals:
	case serveErr = <-served:
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), monitorStopWait)
	defer cancel()
	_ = hs.Shutdown(stopCtx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", serveErr)
	}
	return nil
}
