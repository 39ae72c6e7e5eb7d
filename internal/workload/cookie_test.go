package workload_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

// cookieSite is a target with a login, a page that needs its session
// cookie, a logout, a page scoped to /admin, and a page that sets n new
// cookies per response. It records the Cookie header of every request by
// path.
type cookieSite struct {
	mu    sync.Mutex
	n     int
	sent  map[string][]string
	flood int // new cookies per /flood response
}

func (c *cookieSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = map[string][]string{}
	}
	c.sent[r.URL.Path] = append(c.sent[r.URL.Path], strings.Join(r.Header.Values("Cookie"), "; "))
	switch r.URL.Path {
	case "/login":
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cret", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "adm", Value: "yes", Path: "/admin"})
	case "/logout":
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1}) // Max-Age=0
	case "/me":
		if ck, err := r.Cookie("sid"); err != nil || ck.Value != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	case "/flood":
		for range c.flood {
			w.Header().Add("Set-Cookie", fmt.Sprintf("f%d=%s; Path=/", c.n, strings.Repeat("x", 64)))
			c.n++
		}
	}
}

func (c *cookieSite) cookies(path string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent[path]...)
}

// TestCookiesAsBefore: the session cookie set by a login is sent back,
// cookie: extraction reads it, Path scopes a cookie, and Max-Age=0 deletes
// one, as with net/http's cookie jar before the jar got its limits.
func TestCookiesAsBefore(t *testing.T) {
	site := &cookieSite{}
	srv := httptest.NewServer(site)
	defer srv.Close()
	p := load(t, srv.URL, `
target: TARGET
load: {vus: 1, iterations: 1}
setup:
  - {name: login, post: /login, extract: {sid: "cookie:sid"}, check: {status: 200}}
flows:
  - steps:
      - {name: me, get: /me, check: {status: 200}}
      - {name: echo, get: "/echo?sid={{sid}}"}
      - {name: admin, get: /admin/users}
      - {name: logout, post: /logout}
      - {name: again, get: /me, check: {status: 401}}
`)
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.wantCheck(t, "login: extract sid", 1, 0)
	r.wantCheck(t, "me: status 200", 1, 0)
	r.wantCheck(t, "again: status 401", 1, 0)
	if got := site.cookies("/echo"); len(got) != 1 || got[0] != "sid=s3cret" {
		t.Errorf("/echo got cookies %q, want the session cookie only", got)
	}
	if got := site.cookies("/admin/users"); len(got) != 1 || got[0] != "adm=yes; sid=s3cret" {
		t.Errorf("/admin/users got cookies %q, want the /admin one first, then the session", got)
	}
	if got := site.cookies("/me"); len(got) != 2 || got[0] != "sid=s3cret" || got[1] != "" {
		t.Errorf("/me got cookies %q: want the session, then none after logout", got)
	}
	if r.snap.CookiesDropped != 0 {
		t.Errorf("CookiesDropped %d, want 0", r.snap.CookiesDropped)
	}
}

// TestCookieFloodIsBounded: a target that sets 50 new cookies per response
// cannot grow a VU's jar past its limit; the Cookie header stays bounded and
// every cookie the jar could not keep is counted in CookiesDropped.
func TestCookieFloodIsBounded(t *testing.T) {
	const iterations = 200
	site := &cookieSite{flood: 50}
	srv := httptest.NewServer(site)
	defer srv.Close()
	p := load(t, srv.URL, fmt.Sprintf(`
target: TARGET
load: {vus: 1, iterations: %d}
setup:
  - {name: login, post: /login}
flows:
  - steps: [{name: flood, get: /flood, check: {status: 200}}]
`, iterations))
	r := run(t, p)
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.wantCheck(t, "flood: status 200", iterations, 0)
	// After the login the jar holds sid (adm is for /admin, but counts):
	// the first flood fills it to 50 and evicts 2, every later one
	// evicts 50.
	if want := int64(2 + (iterations-1)*50); r.snap.CookiesDropped != want {
		t.Errorf("CookiesDropped %d, want %d", r.snap.CookiesDropped, want)
	}
	sent := site.cookies("/flood")
	if len(sent) != iterations {
		t.Fatalf("%d /flood requests, want %d", len(sent), iterations)
	}
	for i, h := range sent {
		if n := strings.Count(h, "="); n > surgehttp.MaxCookiesPerDomain {
			t.Fatalf("request %d sent %d cookies, more than the jar keeps (%d)", i+1, n, surgehttp.MaxCookiesPerDomain)
		}
		if len(h) > surgehttp.MaxCookieHeader || len(h) > surgehttp.MaxCookiesPerDomain*(2+6+64) {
			t.Fatalf("request %d sent a Cookie header of %d bytes", i+1, len(h))
		}
	}
	if n := strings.Count(sent[len(sent)-1], ";") + 1; n != surgehttp.MaxCookiesPerDomain {
		t.Errorf("the last request sent %d cookies, want a full jar's %d", n, surgehttp.MaxCookiesPerDomain)
	}
}
