package http

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// TestNonASCIIHostsGoThroughNetHTTP: a URL whose host has any byte from
// 0x80 up goes through net/http, which sends it as punycode; the lean
// client, which would look it up as it is, is not used. Every connection
// goes to a server on loopback, and no name is looked up on the network:
// the lean client's resolver fails and counts its use.
func TestNonASCIIHostsGoThroughNetHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hosts := make(chan string, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if h, ok := strings.CutPrefix(line, "Host: "); ok {
						hosts <- strings.TrimSpace(h)
					}
					if line == "\r\n" {
						_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
						return
					}
				}
			}()
		}
	}()
	c := NewClient(Options{})
	defer c.Close()
	var lookups atomic.Int64
	c.dialer.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		lookups.Add(1)
		return nil, errors.New("no DNS in this test")
	}}
	c.transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}
	do := func(host string) Response {
		var res Response
		c.NewSession().Do(context.Background(), &Request{URL: &url.URL{Scheme: "http", Host: host, Path: "/"}, Timeout: 5 * time.Second}, &res)
		return res
	}

	// The control: an ASCII name goes through the lean client and its
	// resolver.
	if res := do("plain.test"); res.Class != metrics.DNS || lookups.Load() == 0 {
		t.Fatalf("plain.test: class %v err %v after %d lookups; want dns through the lean client's resolver", res.Class, res.Err, lookups.Load())
	}
	lookups.Store(0)
	if res := do("bücher.test"); res.Class != metrics.OK || res.Status != 204 {
		t.Errorf("bücher.test: class %v status %d err %v", res.Class, res.Status, res.Err)
	} else if h := <-hosts; h != "xn--bcher-kva.test" {
		t.Errorf("bücher.test was sent as Host %q, want its punycode", h)
	}
	for _, host := range []string{"a\x80b.test", "\xffx.test"} {
		if res := do(host); res.Class == metrics.DNS {
			t.Errorf("%q: class dns (err %v): the lean client looked it up", host, res.Err)
		}
	}
	if n := lookups.Load(); n != 0 {
		t.Errorf("%d lookups by the lean client for non-ASCII hosts", n)
	}
}
