package grpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/surgeload/surge/internal/grpcschema"
	"github.com/surgeload/surge/internal/metrics"
	surgegrpc "github.com/surgeload/surge/internal/protocol/grpc"
	"github.com/surgeload/surge/internal/protocol/grpc/grpctest"
)

func greeter(t *testing.T) *grpcschema.Files {
	t.Helper()
	f, err := grpcschema.Compile(grpctest.Sources(), []string{"greeter.proto"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestInvoke calls a real server on loopback: a status the server answers
// with is grpc_status (Answered), a deadline a timeout, a refused dial
// connection_refused, a call cut by the server going away
// connection_reset; every call counts its bytes.
func TestInvoke(t *testing.T) {
	srv := grpctest.Start(t)
	f := greeter(t)
	conn, err := surgegrpc.Dial(srv.URL, surgegrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	call := func(c *surgegrpc.Conn, method, doc string, md metadata.MD, timeout time.Duration) (surgegrpc.Result, *dynamicpb.Message) {
		t.Helper()
		m, err := f.Method(method)
		if err != nil {
			t.Fatal(err)
		}
		req, err := grpcschema.NewMessage(m.Input(), []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		resp := dynamicpb.NewMessage(m.Output())
		return c.Invoke(ctx, grpcschema.Path(m), md, req, resp), resp
	}

	s0, r0 := conn.Bytes()
	r, resp := call(conn, "helloworld.Greeter/SayHello", `{"name":"ann","times":3}`, metadata.Pairs("authorization", "Bearer x"), 5*time.Second)
	if r.Err != nil || r.Class != metrics.OK || !r.Answered {
		t.Fatalf("%+v", r)
	}
	js, err := grpcschema.ResponseJSON(nil, resp)
	if err != nil || string(js) != `{"message":"Hello ann","auth":"Bearer x","count":"3"}` {
		t.Errorf("response %s, %v", js, err)
	}
	if s1, r1 := conn.Bytes(); s1 <= s0 || r1 <= r0 {
		t.Errorf("bytes %d→%d sent, %d→%d received", s0, s1, r0, r1)
	}

	r, _ = call(conn, "helloworld.Greeter/Fail", `{"code":5,"message":"no such user"}`, nil, 5*time.Second)
	if r.Class != metrics.GRPCStatus || r.Code != codes.NotFound || !r.Answered || conn.Message(r.Err) != "grpc status NotFound: no such user" {
		t.Errorf("Fail: %+v, %q", r, conn.Message(r.Err))
	}
	r, _ = call(conn, "helloworld.Greeter/Fail", `{"code":14}`, nil, 5*time.Second)
	if r.Class != metrics.GRPCStatus || r.Code != codes.Unavailable {
		t.Errorf("a server's own Unavailable: %+v", r)
	}
	start := time.Now()
	r, _ = call(conn, "helloworld.Greeter/Slow", `{}`, nil, 60*time.Millisecond)
	if d := time.Since(start); r.Class != metrics.Timeout || d < 60*time.Millisecond || d > 2*time.Second {
		t.Errorf("deadline: %+v after %v", r, d)
	}
	start = time.Now()
	r, _ = call(conn, "helloworld.Greeter/Slow", `{"delay_ms":30}`, nil, 5*time.Second)
	if d := time.Since(start); r.Err != nil || d < 30*time.Millisecond || d > 200*time.Millisecond {
		t.Errorf("a 30 ms call: %+v after %v", r, d)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	dead, err := surgegrpc.Dial(closed, surgegrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	r, _ = call(dead, "helloworld.Greeter/SayHello", `{}`, nil, 5*time.Second)
	if r.Class != metrics.ConnRefused || r.Answered || !strings.Contains(dead.Message(r.Err), "connection refused") {
		t.Errorf("refused: %+v %q", r, dead.Message(r.Err))
	}

	other := grpctest.Start(t)
	c2, err := surgegrpc.Dial(other.URL, surgegrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	go func() {
		for deadline := time.Now().Add(5 * time.Second); other.Calls() == 0 && time.Now().Before(deadline); {
			time.Sleep(2 * time.Millisecond)
		}
		other.Stop()
	}()
	r, _ = call(c2, "helloworld.Greeter/Slow", `{}`, nil, 10*time.Second)
	if r.Class != metrics.ConnReset {
		t.Errorf("reset: %+v", r)
	}
}

// TestReflect finds a method's types with the server's reflection
// service, imports included, and refuses one the server does not have.
func TestReflect(t *testing.T) {
	srv := grpctest.Start(t)
	conn, err := surgegrpc.Dial(srv.URL, surgegrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := conn.Reflect(ctx, "helloworld.Greeter/SayHello")
	if err != nil {
		t.Fatal(err)
	}
	tags := md.Input().Fields().ByName("tags")
	if tags == nil || tags.Message().Fields().ByName("labels") == nil {
		t.Errorf("the imported Tags message is missing: %v", md.Input())
	}
	if _, err := conn.Reflect(ctx, "helloworld.Greeter/Nope"); err == nil || !strings.Contains(err.Error(), "no method Nope") {
		t.Errorf("unknown method: %v", err)
	}
	if _, err := conn.Reflect(ctx, "nope.Svc/X"); err == nil {
		t.Error("an unknown service was found")
	}
	if srv.Calls() != 0 {
		t.Errorf("reflection counted as %d unary calls", srv.Calls())
	}
}

// selfSigned makes a certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLS: an https:// target speaks TLS; a certificate that does not
// verify is class tls unless Insecure is set.
func TestTLS(t *testing.T) {
	srv := grpctest.StartTLS(t, selfSigned(t))
	m, err := greeter(t).Method("helloworld.Greeter/SayHello")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		insecure bool
		class    metrics.Class
	}{{true, metrics.OK}, {false, metrics.TLS}} {
		conn, err := surgegrpc.Dial(srv.URL, surgegrpc.Options{Insecure: c.insecure})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r := conn.Invoke(ctx, grpcschema.Path(m), nil, dynamicpb.NewMessage(m.Input()), dynamicpb.NewMessage(m.Output()))
		cancel()
		conn.Close()
		if r.Class != c.class {
			t.Errorf("insecure %v: class %v (%v), want %v", c.insecure, r.Class, r.Err, c.class)
		}
	}
	if srv.Calls() != 1 {
		t.Errorf("the server saw %d calls, want 1", srv.Calls())
	}
}
