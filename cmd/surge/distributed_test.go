package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

const (
	distSecret = "dist-test-secret-0123456789"
	distToken  = "dist-test-agent-token-0123456789"
)

// syncBuf collects a process's output while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon runs cmd (a surge server or agent) until the test ends; its
// output is logged if the test failed.
func daemon(t *testing.T, what string, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", what, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a stopped process cannot take SIGTERM
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s:\n%s", what, out)
		}
	})
	return cmd
}

// distServer is a surge server that agents connect to.
type distServer struct {
	url    string
	client *http.Client
}

func (s *distServer) get(t *testing.T, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+distSecret)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// waitAgents waits until n agents are connected and idle.
func (s *distServer) waitAgents(t *testing.T, n int, within time.Duration) {
	t.Helper()
	var list struct {
		Agents []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"agents"`
	}
	deadline := time.Now().Add(within)
	for {
		idle := 0
		if s.get(t, "/api/v1/agents", &list) == 200 {
			for _, a := range list.Agents {
				if a.State == "idle" {
					idle++
				}
			}
		}
		if idle >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d agents connected and idle after %v: %+v", idle, n, within, list.Agents)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startDistServer runs `surge server` on listen (host:port) with extra args.
func startDistServer(t *testing.T, scheme, listen string, client *http.Client, args ...string) *distServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, surgeBin, append([]string{"server", "--listen", listen, "--data", t.TempDir(),
		"--secret", distSecret, "--agent-token", distToken}, args...)...)
	daemon(t, "surge server", cmd)
	s := &distServer{url: scheme + "://" + listen, client: client}
	deadline := time.Now().Add(15 * time.Second)
	for s.get(t, "/api/v1/health", nil) != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("surge server on %s did not come up", listen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// agentRows checks the summary's agents: n rows adding up to the totals,
// each within ±5 % of an equal share.
func agentRows(t *testing.T, sum *report.Summary, n int) {
	t.Helper()
	if len(sum.Agents) != n {
		t.Fatalf("summary lists %d agents, want %d: %+v", len(sum.Agents), n, sum.Agents)
	}
	var total int64
	share := float64(sum.Totals.Requests) / float64(n)
	for _, a := range sum.Agents {
		total += a.Requests
		if math.Abs(float64(a.Requests)-share) > 0.05*share {
			t.Errorf("agent %s sent %d requests, want %.0f ± 5 %%", a.Name, a.Requests, share)
		}
		if a.Lost {
			t.Errorf("agent %s marked lost in a run where none was", a.Name)
		}
	}
	if total != sum.Totals.Requests {
		t.Errorf("the agents' rows add up to %d requests, the totals say %d", total, sum.Totals.Requests)
	}
}

// `surge run --server URL --agents N` on agents that are processes of
// their own: the summary counts exactly what the target received, at the
// planned rate, in equal shares, with the latencies a single process
// measures of the same load.
func TestRunOnAgentsFromTheCLI(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Latency: 20 * time.Millisecond})
	srv := startDistServer(t, "http", freeAddr(t), &http.Client{Timeout: 10 * time.Second})
	for _, name := range []string{"a1", "a2", "a3"} {
		daemon(t, "surge agent "+name, exec.Command(surgeBin, "agent", "--server", srv.url, "--token", distToken, "--name", name))
	}
	srv.waitAgents(t, 3, 20*time.Second)

	load := []string{"-u", tb.URL() + "/hello", "--rate", "150", "--duration", "4s"}
	dist := mustOK(t, surge(t, append([]string{"run", "--server", srv.url, "--secret", distSecret, "--agents", "3"}, load...)...))
	got := tb.CountPath("/hello")
	if dist.Totals.Requests != got {
		t.Errorf("the summary counts %d requests, the target received %d", dist.Totals.Requests, got)
	}
	if want := int64(600); dist.Totals.Requests < want*99/100 || dist.Totals.Requests > want {
		t.Errorf("%d requests at 150/s for 4 s, want 600 (−1 %%)", dist.Totals.Requests)
	}
	agentRows(t, dist, 3)
	local := mustOK(t, surge(t, append([]string{"run"}, load...)...))
	// Merging the agents' sketches is exact within the sketch's 1 % (the
	// metrics tests hold that without real time); here two real runs are
	// compared, on a machine that other work shares, so the bound adds a
	// few milliseconds of scheduling noise. p99 is noisier still (the
	// 1 % tail of 600 requests is 6 of them, and four processes share two
	// cores with the other tests: 99 against 24 ms was seen): it is held
	// only to the same order of magnitude, and to the target's latency.
	if d, lo := dist.Latency.P50, local.Latency.P50; math.Abs(d-lo) > 0.05*lo+3 {
		t.Errorf("p50 on 3 agents %.2f ms, in one process %.2f ms", d, lo)
	}
	if d, lo := dist.Latency.P99, local.Latency.P99; d < 20 || lo < 20 || d > 10*lo || lo > 10*d {
		t.Errorf("p99 on 3 agents %.2f ms, in one process %.2f ms: not of the same order, or under the target's 20 ms", d, lo)
	}
	if dist.Latency.P50 < 20 {
		t.Errorf("p50 %.2f ms under the target's 20 ms latency", dist.Latency.P50)
	}
}

// Agents on hosts of their own (network namespaces, each with its own
// address, reaching the server over TLS): one agent's link is cut mid-run;
// the server finds it lost by its silence, marks it so, and the other two
// take its share, so the offered load holds.
func TestAgentOnACutLinkIsLostAndItsShareTakenOver(t *testing.T) {
	hosts := testutil.NewHosts(t, 3)
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestCA(t, dir, hosts.Bridge)
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	ln, err := net.Listen("tcp", hosts.Bridge+":0")
	if err != nil {
		t.Fatal(err)
	}
	target := testbed.New(testbed.Options{})
	hs := &http.Server{Handler: target}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	targetURL := "http://" + ln.Addr().String()

	srvLn, err := net.Listen("tcp", hosts.Bridge+":0")
	if err != nil {
		t.Fatal(err)
	}
	listen := srvLn.Addr().String()
	srvLn.Close()
	srv := startDistServer(t, "https", listen, client, "--tls-cert", certFile, "--tls-key", keyFile)
	for i, h := range hosts.Hosts() {
		cmd := hosts.Command(context.Background(), h, surgeBin, "agent", "--server", srv.url, "--token", distToken,
			"--name", fmt.Sprintf("host%d", i), "--ca", caFile)
		daemon(t, "surge agent on "+h.Name, cmd)
	}
	srv.waitAgents(t, 3, 30*time.Second)

	out := filepath.Join(dir, "summary.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, surgeBin, "run", "-q", "--out", "json="+out, "--server", srv.url, "--secret", distSecret,
		"--agents", "3", "-u", targetURL+"/hello", "--rate", "150", "--duration", "12s")
	run.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile) // the CLI trusts the test's CA
	runOut := &syncBuf{}
	run.Stdout, run.Stderr = runOut, runOut
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	lost := hosts.Hosts()[0]
	hosts.Cut(lost)
	cut := time.Now()
	if err := run.Wait(); err != nil {
		t.Fatalf("surge run: %v\n%s", err, runOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Agents) != 3 || !sum.Agents[0].Lost || sum.Agents[1].Lost || sum.Agents[2].Lost {
		t.Fatalf("want host0 lost and the others not: %+v", sum.Agents)
	}
	lostAt, err := time.Parse(time.RFC3339Nano, sum.Agents[0].LostAt)
	if err != nil {
		t.Fatalf("lost_at %q: %v", sum.Agents[0].LostAt, err)
	}
	// Silent for 3 intervals of 1 s: found within about 3 to 5 s.
	if d := lostAt.Sub(cut); d < 2*time.Second || d > 6*time.Second {
		t.Errorf("host0 found lost %v after its link was cut, want about 3 intervals", d.Round(time.Millisecond))
	}
	found := false
	for _, e := range sum.Events {
		if e.Kind == "agent_lost" && strings.Contains(e.Detail, "host0") {
			found = true
		}
	}
	if !found {
		t.Errorf("no agent_lost event for host0: %+v", sum.Events)
	}
	// After the loss, the two left hold the whole rate: the full intervals
	// from a second after it to the last but one run at 150/s.
	lostElapsed := lostAt.Sub(mustTime(t, sum.Run.Started)).Seconds()
	held := 0
	for i, p := range sum.Timeline {
		if p.Elapsed < lostElapsed+2 || i >= len(sum.Timeline)-1 {
			continue
		}
		held++
		if p.RPS < 0.9*150 || p.RPS > 1.1*150 {
			t.Errorf("interval at %.0f s after the loss: %.1f/s, want 150/s ± 10 %%", p.Elapsed, p.RPS)
		}
	}
	if held < 2 {
		t.Errorf("only %d full intervals after the loss to judge the rate by: %+v", held, sum.Timeline)
	}
	if got := target.CountPath("/hello"); got < sum.Totals.Requests {
		t.Errorf("the summary counts %d requests, more than the target received (%d)", sum.Totals.Requests, got)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

// writeTestCA writes a CA and a server certificate for ip, signed by it.
func writeTestCA(t *testing.T, dir, ip string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "surge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: ip},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", der), write("server.key", "EC PRIVATE KEY", keyDER)
}
