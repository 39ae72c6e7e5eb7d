package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/cli"
)

// The HTTP version asked for reaches the requests of surge run: to an
// https:// server that offers h2 and HTTP/1.1, the default is its choice
// (h2), defaults.http: 1 is HTTP/1.1, and --http2 and --http2=false
// override the file.
func TestRunHTTPVersionOverTLS(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Proto]++
		mu.Unlock()
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	file := func(http string) string {
		p := filepath.Join(dir, "h"+http+".yaml")
		y := "name: versions\ntarget: " + srv.URL + "\ndefaults: {insecure: true" + http + "}\nload: {vus: 1, iterations: 3}\nflows:\n  - steps:\n      - get: /\n"
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the server's choice", []string{file("")}, "HTTP/2.0"},
		{"defaults.http: 1", []string{file(", http: 1")}, "HTTP/1.1"},
		{"defaults.http: 2", []string{file(", http: 2")}, "HTTP/2.0"},
		{"--http2 over http: 1", []string{file(", http: 1"), "--http2"}, "HTTP/2.0"},
		{"--http2=false over http: 2", []string{file(", http: 2"), "--http2=false"}, "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := cli.Main(ctx, cli.Env{Args: append([]string{"run", "-q"}, tc.args...), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
			if code := cli.ExitCode(err); code != cli.ExitOK {
				t.Fatalf("exit %d\n%s", code, out.String())
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[tc.want] != 3 || len(seen) != 1 {
				t.Errorf("the server saw %v; want 3 requests of %s", seen, tc.want)
			}
		})
	}
}
