package testutil_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/testutil"
)

// A host reaches a server on the bridge address over its link, and no
// longer once the link is cut; mended, it does again.
func TestHostsLinkCanBeCut(t *testing.T) {
	h := testutil.NewHosts(t, 2)
	ln, err := net.Listen("tcp", h.Bridge+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	reach := func(host *testutil.Host) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cmd := h.Command(ctx, host, "timeout", "2", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", h.Bridge, port))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	a, b := h.Hosts()[0], h.Hosts()[1]
	if a.Addr == b.Addr {
		t.Fatalf("two hosts with one address %s", a.Addr)
	}
	for _, host := range h.Hosts() {
		if err := reach(host); err != nil {
			t.Fatalf("%s (%s) cannot reach %s:%d: %v", host.Name, host.Addr, h.Bridge, port, err)
		}
	}
	h.Cut(a)
	if err := reach(a); err == nil {
		t.Fatalf("%s reached the server over a cut link", a.Name)
	}
	if err := reach(b); err != nil {
		t.Fatalf("cutting %s cut %s too: %v", a.Name, b.Name, err)
	}
	h.Mend(a)
	if err := reach(a); err != nil {
		t.Fatalf("%s cannot reach the server after its link was mended: %v", a.Name, err)
	}
}
