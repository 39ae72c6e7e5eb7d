package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/store"
)

// Server defaults and limits.
const (
	defaultListen = "127.0.0.1:8089"
	secretFile    = "secret" // in the data directory, mode 0600
	secretBytes   = 32       // 256 random bits, 43 characters of base64url
	// serverStopWait bounds a graceful shutdown: the running test stops
	// (in-flight requests finish within their timeout) and is recorded.
	serverStopWait = 30 * time.Second
	// MinSecretLength is the shortest secret accepted on a non-loopback
	// address. Guesses are limited per client (10 a minute), but a network
	// has many clients: 16 random characters put the secret out of reach
	// of any number of them, a short password does not.
	MinSecretLength = 16
)

func serverCmd(env Env) *cobra.Command {
	var listen, dataDir, secret, scenarios string
	var trustProxy bool
	var agents serverAgents // server_agents.go
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the dashboard, the HTTP API and the run history",
		Long: `Serve the web dashboard and the JSON HTTP API (docs/api.md) with a run
history kept in SQLite in --data DIR. Start tests from the browser, watch
them live, change their load, stop them, compare runs; record CLI runs with
'surge run --server URL'.

Access needs a secret. Without --secret or SURGE_SECRET, one is generated at
the first start, printed once, and kept in DIR/secret. Listening on anything
but a loopback address requires --secret or SURGE_SECRET, of at least 16
characters. Wrong secrets are limited to 10 a minute per client address
(behind a reverse proxy, --trust-proxy takes it from X-Forwarded-For).`,
		Example: `  surge server
  SURGE_SECRET="$(cat /run/secrets/surge)" surge server --listen 0.0.0.0:8089 --scenarios ./scenarios`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("secret") {
				secret = getenv(env, "SURGE_SECRET")
			}
			secret = strings.TrimSpace(secret)
			loopback, err := isLoopback(listen)
			if err != nil {
				return usageErr(fmt.Errorf("--listen %q: %w", listen, err))
			}
			if !loopback && secret == "" {
				return usageErr(fmt.Errorf("refusing to listen on %s without a secret: anyone who can reach it could start load tests. "+
					"Give one with --secret or SURGE_SECRET (a stored or generated secret is only used on loopback)", listen))
			}
			if !loopback && len([]rune(secret)) < MinSecretLength {
				return usageErr(fmt.Errorf("refusing to listen on %s with a secret of %d characters: on an address others can reach, "+
					"the secret must have at least %d (for example: openssl rand -base64 32)", listen, len([]rune(secret)), MinSecretLength))
			}
			if err := agents.check(cmd, env, listen, loopback); err != nil {
				return err
			}
			if scenarios != "" {
				if fi, err := os.Stat(scenarios); err != nil || !fi.IsDir() {
					return usageErr(fmt.Errorf("--scenarios %q: not a directory", scenarios))
				}
			}
			if dataDir == "" {
				if dataDir, err = defaultDataDir(env); err != nil {
					return usageErr(err)
				}
			}
			return serve(cmd.Context(), env, serveConfig{listen: listen, dataDir: dataDir, secret: secret, scenarios: scenarios, trustProxy: trustProxy, agents: &agents})
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&listen, "listen", defaultListen, "address to listen on")
	fl.StringVar(&dataDir, "data", "", "run store and stored secret (default $XDG_DATA_HOME/surge or ~/.local/share/surge)")
	fl.StringVar(&secret, "secret", "", "access secret for the UI and API (default $SURGE_SECRET; else generated once and stored in --data)")
	fl.StringVar(&scenarios, "scenarios", "", "directory of scenario files offered in the UI")
	fl.BoolVar(&trustProxy, "trust-proxy", false, "behind a reverse proxy: take the client's address from X-Forwarded-For (for the limit on wrong secrets)")
	agents.flags(fl)
	return cmd
}

type serveConfig struct {
	listen, dataDir, secret, scenarios string
	trustProxy                         bool
	agents                             *serverAgents
}

func serve(ctx context.Context, env Env, c serveConfig) error {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := store.Open(ctx, c.dataDir, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if c.secret == "" {
		path := filepath.Join(c.dataDir, secretFile)
		secret, created, err := storedSecret(path)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(env.Stdout, "surge server: generated an access secret; it is shown only this once and kept in %s:\n\n    %s\n\n", path, secret)
		} else {
			fmt.Fprintf(env.Stdout, "surge server: using the access secret kept in %s\n", path)
		}
		c.secret = secret
	}
	if err := c.agents.prepare(env.Stdout, c.dataDir); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.listen, err)
	}
	srv := server.New(server.Options{Store: st, Secret: c.secret, ScenarioDir: c.scenarios, Logger: log, TrustProxy: c.trustProxy, Agents: c.agents.options()})
	hs := srv.HTTPServer()
	served := make(chan error, 1)
	go func() { served <- c.agents.serve(hs, ln) }()
	fmt.Fprintf(env.Stdout, "surge server: dashboard and API on %s://%s/ (data in %s)\n", c.agents.scheme(), ln.Addr(), c.dataDir)

	var serveErr error
	select {
	case <-ctx.Done():
	case <-env.Signals:
		fmt.Fprintln(env.Stderr, "surge server: shutting down: stopping the running test, if any (interrupt again to quit at once)")
	case serveErr = <-served:
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), serverStopWait)
	defer cancel()
	go func() {
		select {
		case <-env.Signals:
			cancel()
		case <-stopCtx.Done():
		}
	}()
	// Stop the run first (its streams end with it), then the listener.
	closeErr := srv.Close(stopCtx)
	_ = hs.Shutdown(stopCtx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", serveErr)
	}
	if closeErr != nil {
		return fmt.Errorf("stopping the running test: %w", closeErr)
	}
	return nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback(), nil
}

func defaultDataDir(env Env) (string, error) {
	if x := getenv(env, "XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "surge"), nil
	}
	if home := getenv(env, "HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "surge"), nil
	}
	return "", errors.New("no data directory: set --data, XDG_DATA_HOME or HOME")
}

// storedSecret reads the secret kept at path, or makes one and keeps it.
func storedSecret(path string) (secret string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("reading the stored secret: %w", err)
	}
	var raw [secretBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, fmt.Errorf("generating a secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("storing the secret: %w", err)
	}
	_, err = f.WriteString(secret + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", false, fmt.Errorf("storing the secret: %w", err)
	}
	return secret, true, nil
}

// getenv reads the environment through env; an Env without Getenv has an
// empty environment.
func getenv(env Env, key string) string {
	if env.Getenv == nil {
		return ""
	}
	return env.Getenv(key)
}
