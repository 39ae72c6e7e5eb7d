package remote

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/agenttest"
)

const testVersion = "v0.test"

// testServer serves a registry over h2c on 127.0.0.1, behind a token check
// as the real server does.
type testServer struct {
	reg   *Registry
	url   string
	token string
}

func startServer(t testing.TB, o RegistryOptions) *testServer {
	t.Helper()
	if o.Version == "" {
		o.Version = testVersion
	}
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	reg := NewRegistry(o)
	path, h := reg.Handler()
	const token = "test-token"
	mux := http.NewServeMux()
	mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			writeUnauthenticated(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	hs := &http.Server{Handler: mux, Protocols: &protos}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		reg.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	})
	return &testServer{reg: reg, url: "http://" + ln.Addr().String(), token: token}
}

// startWorker runs a worker until the test ends; its Run's error arrives
// on the returned channel.
func startWorker(t testing.TB, o WorkerOptions) (*Worker, <-chan error) {
	t.Helper()
	if o.Version == "" {
		o.Version = testVersion
	}
	if o.Logger == nil && testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("agent", o.Name)
	}
	o.MinBackoff, o.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	w, err := NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var once sync.Once
	done := make(chan struct{})
	go func() {
		errc <- w.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		once.Do(cancel)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the worker did not stop within 20 s of its cancel")
		}
	})
	return w, errc
}

// waitIdle waits until n agents are idle and ready.
func waitIdle(t testing.TB, reg *Registry, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		idle := 0
		for _, a := range reg.List() {
			if a.State == StateIdle {
				idle++
			}
		}
		if idle >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d agents idle after 10 s, want %d: %+v", idle, n, reg.List())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRemoteConformance(t *testing.T) {
	n := 0
	agenttest.Run(t, func(t *testing.T) agent.Agent {
		n++
		srv := startServer(t, RegistryOptions{})
		startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "conf"})
		waitIdle(t, srv.reg, 1)
		as, err := srv.reg.Acquire("run-conf", 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		return as[0]
	})
}

func TestWrongTokenIsRefusedForGood(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	_, errc := startWorker(t, WorkerOptions{Server: srv.url, Token: "not-the-token", Name: "a1"})
	select {
	case err := <-errc:
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "agent token") {
			t.Fatalf("Run: %v, want ErrRefused naming the agent token", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a worker with a wrong token still runs after 10 s")
	}
}

func TestOtherVersionIsRefusedNamingBoth(t *testing.T) {
	srv := startServer(t, RegistryOptions{Version: "v1.2.0"})
	_, errc := startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: "a1", Version: "v1.1.9"})
	select {
	case err := <-errc:
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "v1.1.9") || !strings.Contains(err.Error(), "v1.2.0") {
			t.Fatalf("Run: %v, want ErrRefused naming v1.1.9 and v1.2.0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a worker of another version still runs after 10 s")
	}
}

func writeUnauthenticated(w http.ResponseWriter, r *http.Request) {
	_ = connect.NewErrorWriter().Write(w, r, connect.NewError(connect.CodeUnauthenticated, errors.New("wrong agent token")))
}
