package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/surgeload/surge/internal/cli"
)

// The flags of a run on agents are checked before anything is sent: each
// bad use exits 2 with a message naming the flag, and no request reaches
// the server or the target.
func TestAgentsFlagsRefused(t *testing.T) {
	var reached atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer srv.Close()
	target := srv.URL + "/x"
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"agents without a server", []string{"--agents", "2"}, "give --server URL too"},
		{"zero agents", []string{"--agents", "0", "--server", srv.URL}, "--agents 0: want at least 1"},
		{"negative agents", []string{"--agents", "-3", "--server", srv.URL}, "--agents -3: want 1 to 1000"},
		{"too many agents", []string{"--agents", "1001", "--server", srv.URL}, "--agents 1001: want 1 to 1000"},
		{"label without agents", []string{"--agent-label", "zone=eu"}, "--agent-label is for runs on agents"},
		{"loss policy without agents", []string{"--on-agent-loss", "abort"}, "--on-agent-loss is for runs on agents"},
		{"bad loss policy", []string{"--agents", "2", "--server", srv.URL, "--on-agent-loss", "retry"}, `"retry" is not an agent-loss policy`},
		{"bad label", []string{"--agents", "2", "--server", srv.URL, "--agent-label", "zone"}, `--agent-label "zone": want KEY=VALUE`},
		{"bad server", []string{"--agents", "2", "--server", "ftp://x"}, "--server \"ftp://x\": want the server's URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"run", "-u", target, "--rate", "10", "--duration", "1s", "-q"}, c.args...)
			err := cli.Main(context.Background(), cli.Env{Args: args, Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
			if code := cli.ExitCode(err); code != 2 {
				t.Fatalf("exit %d (%v), want 2", code, err)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("%d requests were sent by runs refused as bad usage", n)
	}
}
