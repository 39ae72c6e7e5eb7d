package workload_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
)

// A target that answers with a huge token cannot grow later requests past
// the sizes checked at load: a value longer than MaxExtractedValue fails
// its extraction, and the step that needs it is not sent.
func TestExtractedValuesAreBounded(t *testing.T) {
	var echoed int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Write([]byte(`{"token":"` + strings.Repeat("s", 100) + `"}`))
		case "/huge":
			w.Write([]byte(`{"token":"` + strings.Repeat("h", scenario.MaxExtractedValue+1) + `"}`))
		default:
			echoed = max(echoed, len(r.Header.Get("X-Token")))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path       string
		wantPasses int64
	}{{"/small", 3}, {"/huge", 0}} {
		t.Run(tc.path, func(t *testing.T) {
			p := load(t, srv.URL, `
target: TARGET
load: {vus: 1, iterations: 3}
flows:
  - steps:
      - {name: get, get: `+tc.path+`, extract: {token: "json:token"}}
      - {name: use, get: /use, headers: {X-Token: "{{token}}"}}
`)
			r := run(t, p)
			if r.err != nil {
				t.Fatal(r.err)
			}
			r.wantCheck(t, "get: extract token", tc.wantPasses, 3-tc.wantPasses)
			if use := r.endpoint(t, "use"); use.Requests != tc.wantPasses {
				t.Fatalf("use sent %d times, want %d", use.Requests, tc.wantPasses)
			}
		})
	}
	if echoed > scenario.MaxExtractedValue {
		t.Fatalf("a %d-byte token was sent on", echoed)
	}
}
