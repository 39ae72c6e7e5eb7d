package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/cli"
)

func TestAgentRefusesBadUsage(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no server", []string{"agent", "--token", "t"}, "--server URL is required"},
		{"no token", []string{"agent", "--server", "http://127.0.0.1:1"}, "no agent token"},
		{"h2c off loopback", []string{"agent", "--server", "http://10.0.0.1:8089", "--token", "t"}, "without TLS is offered on loopback only"},
		{"not a URL", []string{"agent", "--server", "127.0.0.1:8089", "--token", "t"}, "want a URL"},
		{"bad label", []string{"agent", "--server", "http://127.0.0.1:1", "--token", "t", "--label", "zone"}, `--label "zone": want k=v`},
		{"bad name", []string{"agent", "--server", "http://127.0.0.1:1", "--token", "t", "--name", "a b"}, `agent name "a b"`},
		{"missing CA", []string{"agent", "--server", "https://127.0.0.1:1", "--token", "t", "--ca", filepath.Join(dir, "none.pem")}, "--ca"},
		{"CA without a certificate", []string{"agent", "--server", "https://127.0.0.1:1", "--token", "t", "--ca", notPEM}, "no PEM certificate"},
		{"cert without key", []string{"server", "--tls-cert", notPEM}, "--tls-cert and --tls-key go together"},
		{"bad cert", []string{"server", "--tls-cert", notPEM, "--tls-key", notPEM}, "--tls-cert/--tls-key"},
		{"short agent token off loopback", []string{"server", "--listen", "0.0.0.0:0", "--secret", "a-secret-long-enough-0123", "--agent-token", "short"}, "agent token of 5 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := tc.args
			if args[0] == "server" {
				args = append(args, "--data", t.TempDir())
			}
			err := cli.Main(context.Background(), cli.Env{Args: args, Stdout: &out, Stderr: &out})
			if cli.ExitCode(err) != cli.ExitUsage {
				t.Fatalf("exit code %d (%v), want 2", cli.ExitCode(err), err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("message does not say %q:\n%s", tc.want, out.String())
			}
		})
	}
}

// runningAgent is `surge agent` running inside the test.
type runningAgent struct {
	out     *syncBuffer
	signals chan os.Signal
	done    chan error    // Main's error, once
	exited  chan struct{} // closed when Main has returned
}

func startAgent(t *testing.T, args ...string) *runningAgent {
	t.Helper()
	a := &runningAgent{out: &syncBuffer{}, signals: make(chan os.Signal, 2), done: make(chan error, 1), exited: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		a.done <- cli.Main(ctx, cli.Env{Args: append([]string{"agent"}, args...), Stdout: a.out, Stderr: a.out, Signals: a.signals})
		close(a.exited)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-a.exited:
		case <-time.After(20 * time.Second):
			t.Error("surge agent did not end within 20 s of its cancel")
		}
	})
	return a
}

func waitAgentListed(t *testing.T, url, secret, name string, client *http.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url+"/api/v1/agents", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Agents []struct{ Name, State string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		for _, a := range list.Agents {
			if a.Name == name && a.State == "idle" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s not idle after 10 s: %+v", name, list.Agents)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Without --agent-token the server makes one, prints it once and keeps it
// 0600; an agent with it connects, one with a wrong one exits 2, and a
// signal stops an agent with exit 0.
func TestAgentTokenIsGeneratedAndAgentsConnect(t *testing.T) {
	data := t.TempDir()
	s := startSurgeServer(t, nil, "--data", data, "--secret", "the-dashboard-secret-0123")
	path := filepath.Join(data, "agent-token")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < 40 || !strings.Contains(s.out.String(), token) {
		t.Fatalf("agent token %q not printed:\n%s", token, s.out.String())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("agent-token file mode %v, want 0600", fi.Mode().Perm())
	}

	wrong := startAgent(t, "--server", s.url, "--token", "the-dashboard-secret-0123", "--name", "w")
	select {
	case err := <-wrong.done:
		if cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(wrong.out.String(), "wrong agent token") {
			t.Errorf("an agent with the secret as its token: exit %d, output:\n%s", cli.ExitCode(err), wrong.out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an agent with a wrong token still runs after 10 s")
	}

	a := startAgent(t, "--server", s.url, "--token", token, "--name", "lg-1", "--label", "zone=eu")
	waitAgentListed(t, s.url, "the-dashboard-secret-0123", "lg-1", http.DefaultClient)
	a.signals <- os.Interrupt
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("surge agent after an interrupt: %v, want exit 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("surge agent did not stop within 10 s of an interrupt")
	}

	// A restart reads the kept token and does not print it again.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startSurgeServer(t, nil, "--data", data, "--secret", "the-dashboard-secret-0123")
	if strings.Contains(s2.out.String(), token) || !strings.Contains(s2.out.String(), "using the agent token kept in") {
		t.Errorf("second start:\n%s", s2.out.String())
	}
}

// With --tls-cert and --tls-key the dashboard and the agents share one TLS
// listener; an agent trusts it with --ca.
func TestServerOverTLSTakesAgents(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(ctx, cli.Env{Args: []string{"server", "--listen", "127.0.0.1:0", "--data", t.TempDir(),
			"--secret", "the-dashboard-secret-0123", "--agent-token", "the-agent-token-0123456",
			"--tls-cert", certFile, "--tls-key", keyFile}, Stdout: out, Stderr: out})
	}()
	t.Cleanup(func() { cancel(); <-done })
	re := regexp.MustCompile(`dashboard and API on (https://\S+)/ `)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no https listener:\n%s", out.String())
		}
	}
	startAgent(t, "--server", url, "--token", "the-agent-token-0123456", "--name", "tls-1", "--ca", filepath.Join(dir, "cert.pem"))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitAgentListed(t, url, "the-dashboard-secret-0123", "tls-1", client)
	_ = pool
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key,
// and returns a pool that trusts it.
func writeCert(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "surge test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
