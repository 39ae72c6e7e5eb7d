package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/surgeload/surge/internal/server"
)

// agentTokenFile keeps a generated agent token in the data directory,
// mode 0600, as secretFile keeps the secret.
const agentTokenFile = "agent-token"

// serverAgents are surge server's flags for remote agents and TLS.
type serverAgents struct {
	token           string
	tlsCert, tlsKey string
	cert            *tls.Certificate // loaded by check
	loopback        bool             // the server listens on loopback only
}

func (a *serverAgents) flags(fl *pflag.FlagSet) {
	fl.StringVar(&a.token, "agent-token", "", "token agents (surge agent) must present (default $SURGE_AGENT_TOKEN; else generated once and stored in --data)")
	fl.StringVar(&a.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve the dashboard, the API and the agents over TLS")
	fl.StringVar(&a.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
}

// check reads the flags' environment defaults and refuses what cannot
// work, before anything starts.
func (a *serverAgents) check(cmd *cobra.Command, env Env, listen string, loopback bool) error {
	if !cmd.Flags().Changed("agent-token") {
		a.token = getenv(env, "SURGE_AGENT_TOKEN")
	}
	a.token = strings.TrimSpace(a.token)
	a.loopback = loopback
	if a.token != "" && !loopback && len([]rune(a.token)) < MinSecretLength {
		return usageErr(fmt.Errorf("refusing to listen on %s with an agent token of %d characters: on an address others can reach, "+
			"it must have at least %d (for example: openssl rand -base64 32)", listen, len([]rune(a.token)), MinSecretLength))
	}
	if (a.tlsCert == "") != (a.tlsKey == "") {
		return usageErr(errors.New("--tls-cert and --tls-key go together: give both or neither"))
	}
	if a.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(a.tlsCert, a.tlsKey)
		if err != nil {
			return usageErr(fmt.Errorf("--tls-cert/--tls-key: %w", err))
		}
		a.cert = &cert
	}
	return nil
}

// prepare takes the agent token from the data directory, or makes one and
// keeps it there, when none was given.
func (a *serverAgents) prepare(out io.Writer, dataDir string) error {
	if a.token != "" {
		return nil
	}
	path := filepath.Join(dataDir, agentTokenFile)
	tok, created, err := storedSecret(path)
	if err != nil {
		return fmt.Errorf("agent token: %w", err)
	}
	if created {
		fmt.Fprintf(out, "surge server: generated an agent token for `surge agent --token`; it is shown only this once and kept in %s:\n\n    %s\n\n", path, tok)
	} else {
		fmt.Fprintf(out, "surge server: using the agent token kept in %s\n", path)
	}
	a.token = tok
	return nil
}

func (a *serverAgents) options() server.AgentOptions {
	return server.AgentOptions{Token: a.token, Version: Version}
}

func (a *serverAgents) scheme() string {
	if a.cert != nil {
		return "https"
	}
	return "http"
}

// serve serves hs on ln: over TLS (HTTP/2 and HTTP/1.1) with a
// certificate; without one, HTTP/1.1 and, on loopback only, HTTP/2
// without TLS (h2c), which agents speak. Elsewhere agents need TLS.
func (a *serverAgents) serve(hs *http.Server, ln net.Listener) error {
	var p http.Protocols
	p.SetHTTP1(true)
	switch {
	case a.cert != nil:
		p.SetHTTP2(true)
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*a.cert}, MinVersion: tls.VersionTLS12}
		hs.Protocols = &p
		return hs.ServeTLS(ln, "", "")
	case a.loopback:
		p.SetUnencryptedHTTP2(true)
	}
	hs.Protocols = &p
	return hs.Serve(ln)
}
