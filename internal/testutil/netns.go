package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Hosts is a small network of its own on this machine, for tests that need
// several hosts: a bridge in this (the root) network namespace with an
// address of its own, and one network namespace per host, each joined to
// the bridge by a veth pair and given its own address. Processes started
// with Host.Command run in the host's namespace: they reach this machine's
// servers (on the bridge address) and each other only over their link,
// which Cut takes down and Mend brings up. Everything is removed by
// t.Cleanup. The addresses are in a 10.231.N.0/24 network that the test
// holds (a lock file per N, so tests running at once in other packages
// take others): no traffic leaves the machine.
type Hosts struct {
	t      testing.TB
	Bridge string // the root namespace's address on the bridge, e.g. 10.231.0.1
	hosts  []*Host
	prefix string
}

// Host is one namespace of Hosts.
type Host struct {
	Name string // the namespace's name
	Addr string // its address on the bridge
	peer string // the root end of its veth pair
}

// lockNetwork takes a free 10.231.N.0/24 for the test: N whose lock file
// no other test holds. The lock goes with the test (t.Cleanup) or its
// process.
func lockNetwork(t testing.TB) int {
	t.Helper()
	for n := 0; n < 250; n++ {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), fmt.Sprintf("surge-netns-%d.lock", n)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		// A namespace or bridge left by a test that was killed: remove it.
		prefix := fmt.Sprintf("sg%d", n)
		if out, err := ipCmd("netns", "list"); err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				if name, _, _ := strings.Cut(line, " "); strings.HasPrefix(name, prefix+"h") {
					_, _ = ipCmd("netns", "del", name)
				}
			}
		}
		if out, err := ipCmd("-o", "link", "show"); err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				// "12: sg0v0@if11: <…>"
				f := strings.Fields(line)
				if len(f) < 2 {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
				if strings.HasPrefix(name, prefix+"v") || name == prefix+"br" {
					_, _ = ipCmd("link", "del", name)
				}
			}
		}
		t.Cleanup(func() { f.Close() })
		return n
	}
	t.Fatal("no free 10.231.N.0/24 network for the test's hosts")
	return 0
}

// NewHosts makes n hosts. It skips the test when network namespaces
// cannot be made here (not root, no `ip`, a container without
// CAP_NET_ADMIN), saying why.
func NewHosts(t testing.TB, n int) *Hosts {
	t.Helper()
	if n < 1 || n > 200 {
		t.Fatalf("NewHosts: %d hosts: want 1 to 200", n)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no `ip` command (iproute2): cannot make network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	net := lockNetwork(t)
	// A short prefix of our own: interface names are at most 15 bytes.
	prefix := fmt.Sprintf("sg%d", net)
	h := &Hosts{t: t, Bridge: fmt.Sprintf("10.231.%d.1", net), prefix: prefix}
	br := prefix + "br"
	if out, err := ipCmd("link", "add", br, "type", "bridge"); err != nil {
		t.Skipf("cannot make a bridge (no CAP_NET_ADMIN?): %v: %s", err, out)
	}
	t.Cleanup(func() { h.remove(br) })
	h.must("addr", "add", h.Bridge+"/24", "dev", br)
	h.must("link", "set", br, "up")
	for i := 0; i < n; i++ {
		host := &Host{Name: fmt.Sprintf("%sh%d", prefix, i), Addr: fmt.Sprintf("10.231.%d.%d", net, 10+i), peer: fmt.Sprintf("%sv%d", prefix, i)}
		inside := fmt.Sprintf("%si%d", prefix, i)
		h.must("netns", "add", host.Name)
		h.hosts = append(h.hosts, host)
		h.must("link", "add", host.peer, "type", "veth", "peer", "name", inside)
		h.must("link", "set", inside, "netns", host.Name)
		h.must("link", "set", host.peer, "master", br)
		h.must("link", "set", host.peer, "up")
		h.must("-n", host.Name, "addr", "add", host.Addr+"/24", "dev", inside)
		h.must("-n", host.Name, "link", "set", inside, "up")
		h.must("-n", host.Name, "link", "set", "lo", "up")
		h.must("-n", host.Name, "route", "add", "default", "via", h.Bridge)
	}
	return h
}

// Hosts returns the hosts, in order.
func (h *Hosts) Hosts() []*Host { return h.hosts }

// Command is cmd run in host's namespace (`ip netns exec`).
func (h *Hosts) Command(ctx context.Context, host *Host, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", host.Name, name}, args...)...)
}

// Cut takes host's link down: nothing reaches it or leaves it, as when a
// cable is pulled. Its processes keep running.
func (h *Hosts) Cut(host *Host) { h.must("link", "set", host.peer, "down") }

// Mend brings host's link up again, forgetting the neighbours the host
// failed to reach while it was cut (or it would not try them again for
// seconds).
func (h *Hosts) Mend(host *Host) {
	h.must("link", "set", host.peer, "up")
	h.must("-n", host.Name, "neigh", "flush", "all")
	h.must("neigh", "flush", "dev", h.prefix+"br")
}

func (h *Hosts) must(args ...string) {
	h.t.Helper()
	if out, err := ipCmd(args...); err != nil {
		h.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// remove deletes the namespaces (which deletes their veth ends, and so the
// pairs) and the bridge; processes still inside are the tests' to stop.
func (h *Hosts) remove(bridge string) {
	for _, host := range h.hosts {
		// Deleting a namespace frees its links later, in the background:
		// delete the pair now, so the names are free for the next test.
		_, _ = ipCmd("link", "del", host.peer)
		if out, err := ipCmd("netns", "del", host.Name); err != nil {
			h.t.Errorf("removing namespace %s: %v: %s", host.Name, err, out)
		}
	}
	if out, err := ipCmd("link", "del", bridge); err != nil {
		h.t.Errorf("removing bridge %s: %v: %s", bridge, err, out)
	}
}

func ipCmd(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ip", args...).CombinedOutput()
}
