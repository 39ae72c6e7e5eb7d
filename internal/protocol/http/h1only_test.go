package http_test

import (
	"context"
	nethttp "net/http"
	"testing"
	"time"

	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

// Over TLS to a server that offers h2 and HTTP/1.1, the server's choice
// is h2 by default; HTTP1 makes it HTTP/1.1 (defaults.http: 1), and HTTP2
// wins over it.
func TestHTTP1OnlyOverTLS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    surgehttp.Options
		want string
	}{
		{"default: the server's choice", surgehttp.Options{}, "HTTP/2.0"},
		{"HTTP1", surgehttp.Options{HTTP1: true}, "HTTP/1.1"},
		{"HTTP2 over HTTP1", surgehttp.Options{HTTP1: true, HTTP2: true}, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startProtoServer(t, true, func(p *nethttp.Protocols) { p.SetHTTP1(true); p.SetHTTP2(true) })
			tc.o.Insecure = true
			c := surgehttp.NewClient(tc.o)
			defer c.Close()
			s := c.NewSession()
			r := &surgehttp.Request{Method: "GET", URL: mustURL(t, srv.url+"/x"), Timeout: 5 * time.Second}
			var res surgehttp.Response
			for range 3 {
				s.Do(context.Background(), r, &res)
				if res.Err != nil {
					t.Fatalf("request failed: %v", res.Err)
				}
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.protos[tc.want] != 3 || len(srv.protos) != 1 {
				t.Errorf("the server saw %v; want 3 requests of %s", srv.protos, tc.want)
			}
		})
	}
}
