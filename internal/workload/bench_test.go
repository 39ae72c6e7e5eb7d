package workload_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/workload"
)

// benchResponse is what the benchmark's server answers to every request.
const benchResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n" +
	`{"token":"abcdef0123456789","items":[1]}`

// cannedServer answers every request head it reads on 127.0.0.1 with
// benchResponse, at the least cost a server can have, so that a benchmark
// measures the VU and the client. It stops with the test.
func cannedServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				var pending []byte
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					pending = append(pending, buf[:n]...)
					for {
						i := bytes.Index(pending, []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						pending = pending[i+4:]
						if _, err := c.Write([]byte(benchResponse)); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// BenchmarkIterate is one VU's iteration of a one-step flow against a
// loopback server: the per-request cost of the workload's hot path (and
// the lean HTTP/1.1 client's, and the loopback's). "plain" is a static
// GET; "checks" adds a status and a JSON check, a JSON extraction and a
// header templated from the extracted value.
func BenchmarkIterate(b *testing.B) {
	for _, tc := range []struct{ name, steps string }{
		{"plain", `
      - get: /hello`},
		{"checks", `
      - get: /login
        headers: {Authorization: "Bearer {{token}}"}
        check: {status: 200, json: {items.0: 1}}
        extract: {token: json:token}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			url := cannedServer(b)
			src := "target: " + url + "\nvars: {token: none}\nload: {vus: 1, iterations: 1}\nflows:\n  - steps:" + tc.steps + "\n"
			p, err := scenario.Parse("bench.yaml", []byte(src), scenario.Options{})
			if err != nil {
				b.Fatal(err)
			}
			prog, err := workload.Compile(p)
			if err != nil {
				b.Fatal(err)
			}
			client := surgehttp.NewClient(surgehttp.Options{})
			defer client.Close()
			rec := metrics.NewRecorder(time.Now(), prog.Endpoints(), prog.Checks())
			ctx := context.Background()
			vu := prog.Workload(client, rec).NewVU(ctx, 0)
			b.ReportAllocs()
			n := int64(0)
			for b.Loop() {
				n++
				if err := vu.Iterate(ctx, engine.Iteration{Num: n}); err != nil {
					b.Fatal(err)
				}
			}
			s := rec.Snapshot(time.Now())
			if tot := s.Totals(); tot.Requests != n || tot.Errors() != 0 {
				b.Fatalf("%d requests, %d errors, want %d and 0: %v", tot.Requests, tot.Errors(), n, s.Messages)
			}
		})
	}
}
