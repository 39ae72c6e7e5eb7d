// Command target serves Surge's testbed (internal/testbed) on loopback
// addresses, as a separate process, for the benchmarks that need a slow
// endpoint (/delay?ms=1000 holds each request for a second):
//
//	go run ./bench/target -listen 127.0.0.1:18081,127.0.0.1:18082
//
// It runs until interrupted or until -for has passed (default one hour),
// so a forgotten target does not outlive the benchmark for long.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/surgeload/surge/internal/testbed"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18081", "comma-separated loopback addresses to serve on")
	limit := flag.Duration("for", time.Hour, "stop after this long")
	flag.Parse()
	if err := run(strings.Split(*listen, ","), *limit); err != nil {
		fmt.Fprintln(os.Stderr, "target:", err)
		os.Exit(1)
	}
}

func run(addrs []string, limit time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%s: serve on a loopback address only", a)
		}
		s, err := testbed.Start(a, testbed.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		fmt.Println("serving", s.URL())
	}
	<-ctx.Done()
	return nil
}
