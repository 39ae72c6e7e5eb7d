package workload_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/protocol/grpc/grpctest"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/workload"
)

// loadGRPC loads a scenario whose .proto files are in testdata/grpc.
func loadGRPC(t *testing.T, target, yaml string) scenario.Plan {
	t.Helper()
	p, err := scenario.Parse("test.yaml", []byte(strings.ReplaceAll(yaml, "TARGET", target)), scenario.Options{Dir: "testdata"})
	if err != nil {
		t.Fatalf("loading scenario:\n%v", err)
	}
	return p
}

// TestGRPCFlow runs unary calls with templated messages and metadata,
// checks and an extraction on the response (as protojson), with the
// message types from .proto files or from the server's reflection: every
// call is a request of its step's GRPC row, and the totals equal the
// calls the server saw.
func TestGRPCFlow(t *testing.T) {
	srv := grpctest.Start(t)
	for _, types := range []string{"proto: [greeter.proto], import_paths: [grpc]", "reflection: true"} {
		t.Run(strings.Fields(types)[0], func(t *testing.T) {
			before := srv.Calls()
			p := loadGRPC(t, srv.URL, `
target: TARGET
defaults: {grpc: {`+types+`}}
load: {vus: 3, iterations: 30}
flows:
  - steps:
      - name: hello
        grpc: helloworld.Greeter/SayHello
        message: {name: "{{vu.id}}", times: 2, tags: {labels: [a, b]}}
        metadata: {authorization: "Bearer t{{vu.id}}"}
        check: {status: OK, json: {count: "2"}, body_contains: '"auth":"Bearer t'}
        extract: {greeting: json:message}
      - name: again
        grpc: helloworld.Greeter/SayHello
        message: {name: "{{greeting}}", times: "{{vu.id}}"}
        check: {body_matches: '"count":"[123]"', header: {X-Greeted: Hello}}
        extract: {greeted: header:x-greeted}
      - name: typed
        grpc: helloworld.Greeter/SayHello
        message: {name: "{{greeted}}!"}
        check: {body_matches: '^\{"message":"Hello Hello \d!","auth":"","count":"0"\}$'}
      - name: missing
        grpc: helloworld.Greeter/Fail
        message: {code: 5, message: no such user}
        check: {status: [NotFound]}
`)
			r := run(t, p)
			if r.err != nil {
				t.Fatal(r.err)
			}
			var total int64
			for _, name := range []string{"hello", "again", "typed", "missing"} {
				e := r.endpointOf(t, name, workload.GRPCMethod)
				if e.Requests != 30 || e.Errors() != 0 {
					t.Errorf("%s: %d requests, %d errors, want 30 and 0: %v", name, e.Requests, e.Errors(), r.snap.Messages)
				}
				if e.BytesSent <= 0 || e.BytesReceived <= 0 {
					t.Errorf("%s: %d bytes sent, %d received", name, e.BytesSent, e.BytesReceived)
				}
				total += e.Requests
			}
			if got := srv.Calls() - before; got != total {
				t.Errorf("the server saw %d calls, the summary counts %d", got, total)
			}
			for _, c := range r.snap.Checks {
				if c.Fails != 0 || c.Passes != 30 {
					t.Errorf("check %q: %d passes, %d fails; want 30, 0", c.Name, c.Passes, c.Fails)
				}
			}
			if passes, _ := r.check(t, "missing: status NotFound"); passes != 30 {
				t.Errorf("missing: status NotFound passed %d times, want 30", passes)
			}
		})
	}
}

// TestGRPCClasses: statuses become error classes, with the code's name in
// the message; a status check can accept a status the server answered
// with; a call to no server is connection_refused, one that ran out of
// time a timeout, one whose method reflection does not know other.
func TestGRPCClasses(t *testing.T) {
	srv := grpctest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	const protos = "proto: [greeter.proto], import_paths: [grpc]"
	for _, c := range []struct {
		name, target, types, step string
		class                     metrics.Class
		message                   string
		calls                     int64 // the calls the server sees
	}{
		{"internal", srv.URL, protos, "{grpc: helloworld.Greeter/Fail, message: {message: boom}}", metrics.GRPCStatus, "grpc status Internal: boom", 3},
		{"status_check_fails", srv.URL, protos, "{grpc: helloworld.Greeter/Fail, message: {code: 5}, check: {status: OK}}", metrics.GRPCStatus, "grpc status NotFound", 3},
		{"status_check_accepts", srv.URL, protos, "{grpc: helloworld.Greeter/Fail, message: {code: 7}, check: {status: [PERMISSION_DENIED, 5]}}", metrics.OK, "", 3},
		{"check_failed", srv.URL, protos, "{grpc: helloworld.Greeter/SayHello, message: {name: x}, check: {json: {message: Hello y}}}", metrics.CheckFailed, "", 3},
		{"deadline", srv.URL, protos, "{grpc: helloworld.Greeter/Slow, timeout: 50ms}", metrics.Timeout, "", 3},
		{"refused", closed, protos, "{grpc: helloworld.Greeter/SayHello}", metrics.ConnRefused, "", 0},
		{"refused_reflection", closed, "reflection: true", "{grpc: helloworld.Greeter/SayHello}", metrics.ConnRefused, "", 0},
		{"unknown_to_reflection", srv.URL, "reflection: true", "{grpc: helloworld.Greeter/Nope}", metrics.Other, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := srv.Calls()
			p := loadGRPC(t, c.target, `
target: TARGET
defaults: {grpc: {`+c.types+`}}
load: {vus: 1, iterations: 3}
flows:
  - steps:
      - `+strings.Replace(c.step, "{", "{name: s, ", 1)+`
`)
			r := run(t, p)
			t.Log(r.snap.Messages)
			e := r.endpointOf(t, "s", workload.GRPCMethod)
			if e.Requests != 3 || e.Classes[c.class] != 3 {
				t.Errorf("%d requests, classes %v; want 3 of %v: %v", e.Requests, e.Classes, c.class, r.snap.Messages)
			}
			if c.message != "" && r.snap.Messages[c.class.String()+": "+c.message] != 3 {
				t.Errorf("messages %v, want 3 of %q", r.snap.Messages, c.message)
			}
			var sum int64
			for _, n := range r.snap.Messages {
				sum += n
			}
			if sum != e.Errors() {
				t.Errorf("%d error messages for %d errors: %v", sum, e.Errors(), r.snap.Messages)
			}
			if got := srv.Calls() - before; got != c.calls {
				t.Errorf("the server saw %d calls, want %d", got, c.calls)
			}
		})
	}
}

// TestGRPCReset: a call in flight when the server goes away is
// connection_reset, counted once.
func TestGRPCReset(t *testing.T) {
	srv := grpctest.Start(t)
	p := loadGRPC(t, srv.URL, `
target: TARGET
defaults: {grpc: {proto: [greeter.proto], import_paths: [grpc]}}
load: {vus: 1, iterations: 1}
flows:
  - steps:
      - {name: s, grpc: helloworld.Greeter/Slow, timeout: 10s}
`)
	go func() {
		for deadline := time.Now().Add(5 * time.Second); srv.Calls() == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		srv.Stop()
	}()
	r := run(t, p)
	t.Log(r.snap.Messages)
	e := r.endpointOf(t, "s", workload.GRPCMethod)
	if e.Requests != 1 || e.Classes[metrics.ConnReset] != 1 {
		t.Errorf("%d requests, classes %v; want 1 connection_reset: %v", e.Requests, e.Classes, r.snap.Messages)
	}
}

// TestGRPCLatency: a call to a 30 ms handler takes about 30 ms.
func TestGRPCLatency(t *testing.T) {
	srv := grpctest.Start(t)
	p := loadGRPC(t, srv.URL, `
target: TARGET
defaults: {grpc: {proto: [greeter.proto], import_paths: [grpc]}}
load: {vus: 2, iterations: 20}
flows:
  - steps:
      - {name: slow, grpc: helloworld.Greeter/Slow, message: {delay_ms: 30}, check: {status: OK}}
`)
	r := run(t, p)
	e := r.endpointOf(t, "slow", workload.GRPCMethod)
	if e.Requests != 20 || e.Errors() != 0 {
		t.Fatalf("%d requests, %d errors: %v", e.Requests, e.Errors(), r.snap.Messages)
	}
	if lo, p50 := e.Latency.Min(), e.Latency.Quantile(0.5); lo < 30*time.Millisecond || p50 > 45*time.Millisecond {
		t.Errorf("a 30 ms handler took from %v (p50 %v)", lo, p50)
	}
}
