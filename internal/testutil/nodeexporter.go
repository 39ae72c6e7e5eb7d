package testutil

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nodeExporterBinary is Debian's prometheus-node-exporter (.ci/run installs it).
const nodeExporterBinary = "/usr/bin/prometheus-node-exporter"

// StartNodeExporter runs a real node_exporter ($SURGE_NODE_EXPORTER, else
// Debian's) on a free loopback port, stopped by t.Cleanup. Under CI=true a
// missing binary fails the test. It returns the process (to stop or
// kill it mid-run) and its /metrics URL.
func StartNodeExporter(t testing.TB) (*exec.Cmd, string) {
	t.Helper()
	bin := nodeExporterBinary
	if b := os.Getenv("SURGE_NODE_EXPORTER"); b != "" {
		bin = b
	}
	if _, err := os.Stat(bin); err != nil {
		if p, err := exec.LookPath("node_exporter"); err == nil {
			bin = p
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("node_exporter is missing (%s): .ci/run must apt-get install prometheus-node-exporter", bin)
		} else {
			t.Skipf("node_exporter not installed (apt-get install prometheus-node-exporter)")
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // bounds the process whatever happens
		cmd := exec.CommandContext(ctx, bin, "--web.listen-address="+addr,
			// collectors that need systemd or hardware only log errors here
			"--no-collector.systemd", "--no-collector.hwmon", "--no-collector.thermal_zone")
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			cancel()
			<-exited
		})
		url := "http://" + addr + "/metrics"
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{} // port taken meanwhile: try another
				continue
			default:
			}
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd, url
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("node_exporter on %s did not come up: %s", addr, out)
	}
	t.Fatal("could not start node_exporter")
	return nil, ""
}
