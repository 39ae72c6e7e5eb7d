package http_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	nethttp "net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

// setCookies parses Set-Cookie header values as a response's.
func setCookies(lines ...string) []*nethttp.Cookie {
	return (&nethttp.Response{Header: nethttp.Header{"Set-Cookie": lines}}).Cookies()
}

// names lists the names of cookies, in order, as "a b c".
func names(cs []*nethttp.Cookie) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+"="+c.Value)
	}
	return strings.Join(out, " ")
}

// TestJarMatchesCookiejar holds the jar to net/http/cookiejar (with no
// public suffix list, what Surge used before) on every ordinary case:
// within the limits, the two store and send the same cookies in the same
// order.
func TestJarMatchesCookiejar(t *testing.T) {
	type set struct {
		url   string
		lines []string
	}
	tests := []struct {
		name string
		sets []set
		gets []string
	}{
		{"host cookie", []set{{"http://127.0.0.1:8080/login", []string{"sid=abc; Path=/; HttpOnly"}}},
			[]string{"http://127.0.0.1:8080/", "http://127.0.0.1:9090/me", "http://127.0.0.2:8080/"}},
		{"default path", []set{{"http://h.test/a/b/login", []string{"x=1"}}},
			[]string{"http://h.test/a/b/c", "http://h.test/a/bc", "http://h.test/a", "http://h.test/"}},
		{"path scoping and order", []set{{"http://h.test/", []string{"a=1; Path=/", "b=2; Path=/admin", "c=3; Path=/admin/x", "d=4; Path=/adm"}}},
			[]string{"http://h.test/admin/x/y", "http://h.test/admin", "http://h.test/administrator", "http://h.test/"}},
		{"domain cookie", []set{{"http://a.shop.test/", []string{"d=1; Domain=shop.test", "h=2", "e=3; Domain=.SHOP.test"}}},
			[]string{"http://b.shop.test/", "http://a.shop.test/", "http://shop.test/", "http://other.test/"}},
		{"foreign domain refused", []set{{"http://a.shop.test/", []string{"x=1; Domain=evil.test", "y=2; Domain=b.shop.test", "z=3; Domain=.", "w=4; Domain=shop.test."}}},
			[]string{"http://a.shop.test/", "http://evil.test/", "http://b.shop.test/"}},
		{"ip domain", []set{{"http://10.0.0.1/", []string{"a=1; Domain=10.0.0.1", "b=2; Domain=10.0.0.2"}}},
			[]string{"http://10.0.0.1/"}},
		{"replace keeps order", []set{
			{"http://h.test/", []string{"a=1", "b=2"}},
			{"http://h.test/", []string{"a=3"}},
		}, []string{"http://h.test/"}},
		{"max-age=0 and past expiry delete", []set{
			{"http://h.test/", []string{"a=1", "b=2", "c=3", "d=4; Max-Age=60"}},
			{"http://h.test/", []string{"a=; Max-Age=0", "b=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "d=5"}},
		}, []string{"http://h.test/"}},
		{"same name, other path", []set{{"http://h.test/", []string{"a=1; Path=/", "a=2; Path=/x"}}},
			[]string{"http://h.test/x", "http://h.test/"}},
		{"secure", []set{
			{"http://h.test/", []string{"s=1; Secure", "p=2"}},
			{"http://localhost:1/", []string{"s=3; Secure"}},
			{"http://127.0.0.1:1/", []string{"s=4; Secure"}},
		}, []string{"http://h.test/", "https://h.test/", "http://localhost:1/", "http://127.0.0.1:2/"}},
		{"quoted value", []set{{"http://h.test/", []string{`q="a b"`, `r="plain"`}}}, []string{"http://h.test/"}},
		{"case and trailing dot of host", []set{{"http://WWW.H.test./", []string{"a=1"}}}, []string{"http://www.h.test/", "http://www.H.TEST/"}},
		{"not http", []set{{"ftp://h.test/", []string{"a=1"}}}, []string{"ftp://h.test/", "http://h.test/"}},
		{"ipv6", []set{{"http://[::1]:8080/", []string{"a=1"}}}, []string{"http://[::1]:9/", "http://[::2]:8080/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var jar surgehttp.Jar
			ref, _ := cookiejar.New(nil)
			for _, s := range tc.sets {
				u := mustURL(t, s.url)
				jar.SetCookies(u, setCookies(s.lines...))
				ref.SetCookies(u, setCookies(s.lines...))
			}
			for _, g := range tc.gets {
				u := mustURL(t, g)
				got, want := names(jar.Cookies(u)), names(ref.Cookies(u))
				if got != want {
					t.Errorf("cookies for %s: %q, cookiejar sends %q", g, got, want)
				}
				for i, c := range jar.Cookies(u) {
					if w := ref.Cookies(u)[i]; c.Quoted != w.Quoted || c.String() != w.String() {
						t.Errorf("cookie %s: %q, cookiejar %q", c.Name, c.String(), w.String())
					}
				}
			}
			if jar.Dropped() != 0 {
				t.Errorf("dropped %d within the limits", jar.Dropped())
			}
		})
	}
}

// filler returns Set-Cookie values for n cookies named prefix0, prefix1, …
func filler(prefix string, from, n int, attrs string) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Sprintf("%s%d=%s%s", prefix, i, strings.Repeat("v", 32), attrs))
	}
	return out
}

func TestJarLimits(t *testing.T) {
	u := mustURL(t, "http://app.shop.test/")
	t.Run("cookie size", func(t *testing.T) {
		var jar surgehttp.Jar
		// name + value of exactly MaxCookieSize is kept, one byte more is
		// refused; attributes do not count.
		ok := "n=" + strings.Repeat("v", surgehttp.MaxCookieSize-1) + "; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
		big := "b=" + strings.Repeat("v", surgehttp.MaxCookieSize)
		jar.SetCookies(u, setCookies(ok, big))
		if got := names(jar.Cookies(u)); !strings.HasPrefix(got, "n=vvv") || strings.Contains(got, "b=") || jar.Dropped() != 1 {
			t.Errorf("kept %d cookies, dropped %d: want the one of %d bytes kept and the longer refused", jar.Len(), jar.Dropped(), surgehttp.MaxCookieSize)
		}
	})
	t.Run("long attribute ignored", func(t *testing.T) {
		var jar surgehttp.Jar
		long := strings.Repeat("x", surgehttp.MaxCookieAttr)
		jar.SetCookies(mustURL(t, "http://app.shop.test/a/login"), setCookies("p=1; Path=/"+long, "d=2; Domain="+long+".shop.test"))
		if got := names(jar.Cookies(mustURL(t, "http://app.shop.test/a/x"))); got != "p=1 d=2" || jar.Dropped() != 0 {
			t.Errorf("sent %q, dropped %d: want both kept, with the default path and host-only", got, jar.Dropped())
		}
		if got := names(jar.Cookies(mustURL(t, "http://other.shop.test/a/x"))); got != "" {
			t.Errorf("another host got %q: the over-long Domain must be ignored", got)
		}
	})
	t.Run("per domain, least recently used evicted", func(t *testing.T) {
		var jar surgehttp.Jar
		// sid is sent on /app, the fillers on /static only: sid is used
		// last, so the fillers made before it are evicted first.
		jar.SetCookies(u, setCookies("sid=1; Path=/app"))
		jar.SetCookies(u, setCookies(filler("f", 0, surgehttp.MaxCookiesPerDomain-1, "; Path=/static")...))
		if got := jar.Cookies(mustURL(t, "http://app.shop.test/app")); names(got) != "sid=1" {
			t.Fatalf("sent %q", names(got))
		}
		jar.SetCookies(u, setCookies(filler("g", 0, 10, "; Path=/static")...))
		if jar.Len() != surgehttp.MaxCookiesPerDomain || jar.Dropped() != 10 {
			t.Errorf("jar holds %d, dropped %d; want %d and 10", jar.Len(), jar.Dropped(), surgehttp.MaxCookiesPerDomain)
		}
		static := names(jar.Cookies(mustURL(t, "http://app.shop.test/static")))
		if strings.Contains(static, "f0=") || strings.Contains(static, "f9=") || !strings.Contains(static, "f10=") || !strings.Contains(static, "g9=") {
			t.Errorf("fillers kept %q: want f0..f9 evicted, f10 and g0..g9 kept", static)
		}
		if got := names(jar.Cookies(mustURL(t, "http://app.shop.test/app"))); got != "sid=1" {
			t.Errorf("sid evicted (%q): it was used after the fillers", got)
		}
		// Subdomains share their domain's limit: they are one site.
		jar.SetCookies(mustURL(t, "http://cdn.shop.test/"), setCookies(filler("h", 0, 5, "")...))
		if jar.Len() != surgehttp.MaxCookiesPerDomain || jar.Dropped() != 15 {
			t.Errorf("after a subdomain's cookies: %d kept, %d dropped; want %d, 15", jar.Len(), jar.Dropped(), surgehttp.MaxCookiesPerDomain)
		}
	})
	t.Run("replacing and deleting are not new", func(t *testing.T) {
		var jar surgehttp.Jar
		jar.SetCookies(u, setCookies(filler("f", 0, surgehttp.MaxCookiesPerDomain, "")...))
		for i := range 100 {
			jar.SetCookies(u, setCookies(fmt.Sprintf("f1=%d", i), "f2=; Max-Age=0"))
			jar.SetCookies(u, setCookies("f2=back"))
		}
		if jar.Len() != surgehttp.MaxCookiesPerDomain || jar.Dropped() != 0 {
			t.Errorf("%d kept, %d dropped; want %d, 0", jar.Len(), jar.Dropped(), surgehttp.MaxCookiesPerDomain)
		}
	})
	t.Run("whole jar", func(t *testing.T) {
		var jar surgehttp.Jar
		domains := surgehttp.MaxCookies/surgehttp.MaxCookiesPerDomain + 2
		for d := range domains {
			jar.SetCookies(mustURL(t, fmt.Sprintf("http://site%d.test/", d)), setCookies(filler("f", 0, surgehttp.MaxCookiesPerDomain, "")...))
		}
		extra := domains*surgehttp.MaxCookiesPerDomain - surgehttp.MaxCookies
		if jar.Len() != surgehttp.MaxCookies || jar.Dropped() != int64(extra) {
			t.Errorf("%d kept, %d dropped; want %d, %d", jar.Len(), jar.Dropped(), surgehttp.MaxCookies, extra)
		}
		// The least recently used went: the first site's.
		if got := jar.Cookies(mustURL(t, "http://site0.test/")); len(got) != 0 {
			t.Errorf("site0 still has %d cookies; it was the least recently used", len(got))
		}
		if got := jar.Cookies(mustURL(t, fmt.Sprintf("http://site%d.test/", domains-1))); len(got) != surgehttp.MaxCookiesPerDomain {
			t.Errorf("the last site has %d cookies, want %d", len(got), surgehttp.MaxCookiesPerDomain)
		}
	})
}

// flood answers every request with perResponse new cookies, and records
// the Cookie header of every request.
type flood struct {
	perResponse int
	mu          sync.Mutex
	n           int
	sent        []string // Cookie header per request
}

func (f *flood) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	f.mu.Lock()
	f.sent = append(f.sent, strings.Join(r.Header.Values("Cookie"), "; "))
	for range f.perResponse {
		w.Header().Add("Set-Cookie", fmt.Sprintf("c%d=%s; Path=/", f.n, strings.Repeat("x", 64)))
		f.n++
	}
	f.mu.Unlock()
}

// TestCookieFlood: a target that sets 50 new cookies per response keeps
// each session's jar within its limits, and the Cookie header with it,
// through both clients; every cookie beyond them is counted.
func TestCookieFlood(t *testing.T) {
	const (
		perResponse = 50
		requests    = 200
	)
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			f := &flood{perResponse: perResponse}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := surgehttp.NewClient(cl.opts)
			defer c.Close()
			s := c.NewSession()
			req := &surgehttp.Request{URL: mustURL(t, srv.URL+"/"), Timeout: 5 * time.Second,
				Header: nethttp.Header{"Cookie": {"mine=1"}}}
			var res surgehttp.Response
			dropped := 0
			for range requests {
				s.Do(context.Background(), req, &res)
				if res.Status != 200 {
					t.Fatalf("status %d: %v", res.Status, res.Err)
				}
				dropped += res.CookiesDropped
				if n := s.Jar().Len(); n > surgehttp.MaxCookiesPerDomain {
					t.Fatalf("jar holds %d cookies, over %d", n, surgehttp.MaxCookiesPerDomain)
				}
			}
			if want := (requests - 1) * perResponse; dropped != want || s.Jar().Dropped() != int64(want) {
				t.Errorf("CookiesDropped %d, jar says %d; want %d", dropped, s.Jar().Dropped(), want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			longest := 0
			for i, h := range f.sent {
				longest = max(longest, len(h))
				if n := strings.Count(h, "; ") + 1; i > 0 && n != surgehttp.MaxCookiesPerDomain+1 {
					t.Fatalf("request %d sent %d cookies, want the jar's %d and the request's own", i+1, n, surgehttp.MaxCookiesPerDomain)
				}
				if !strings.HasPrefix(h, "mine=1") {
					t.Fatalf("request %d: the request's own cookie is not first: %.40q", i+1, h)
				}
			}
			// Each filler is "cNNNN=" and 64 bytes: the header stays near
			// 50 of them, nowhere near the 10,000 the target set.
			if limit := len("mine=1") + surgehttp.MaxCookiesPerDomain*(2+6+64); longest > limit || longest > surgehttp.MaxCookieHeader {
				t.Errorf("longest Cookie header %d bytes, want <= %d", longest, limit)
			}
			// The newest cookies are the ones kept.
			last := f.sent[len(f.sent)-1]
			if !strings.Contains(last, fmt.Sprintf("c%d=", (requests-1)*perResponse-1)) || strings.Contains(last, "c0=") {
				t.Errorf("last request sent the wrong cookies: %.80q…", last)
			}
		})
	}
}

// TestJarMatchesCookiejarRandom replays random sequences of Set-Cookie
// and lookups, within the limits, on both jars.
func TestJarMatchesCookiejarRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 15))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	for seq := range 20 {
		var jar surgehttp.Jar
		ref, _ := cookiejar.New(nil)
		for op := range 300 {
			u := mustURL(t, pick("http", "https")+"://"+pick("a.shop.test", "b.shop.test", "shop.test", "127.0.0.1:8080")+pick("", "/", "/x", "/x/y", "/xy"))
			if rng.IntN(2) == 0 {
				line := pick("a", "b", "c") + "=" + pick("1", "2", `"q q"`) + pick("", "; Path=/", "; Path=/x", "; Path=/x/y", "; Path=x") +
					pick("", "", "; Domain=shop.test", "; Domain=a.shop.test", "; Domain=evil.test", "; Domain=127.0.0.1") +
					pick("", "", "; Max-Age=0", "; Max-Age=600", "; Expires=Thu, 01 Jan 1970 00:00:00 GMT") + pick("", "; Secure")
				jar.SetCookies(u, setCookies(line))
				ref.SetCookies(u, setCookies(line))
				continue
			}
			if got, want := names(jar.Cookies(u)), names(ref.Cookies(u)); got != want {
				t.Fatalf("sequence %d, op %d: cookies for %s: %q, cookiejar sends %q", seq, op, u, got, want)
			}
		}
	}
}

// TestTooManySetCookieLines: net/http parses no cookie at all from a
// response with more than 3000 Set-Cookie lines; each of them is counted
// as dropped, through both clients.
func TestTooManySetCookieLines(t *testing.T) {
	const lines = 3001
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		for i := range lines {
			w.Header().Add("Set-Cookie", fmt.Sprintf("c%d=1", i))
		}
	}))
	defer srv.Close()
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			c := surgehttp.NewClient(cl.opts)
			defer c.Close()
			s := c.NewSession()
			var res surgehttp.Response
			s.Do(context.Background(), &surgehttp.Request{URL: mustURL(t, srv.URL+"/"), Timeout: 5 * time.Second}, &res)
			if res.Status != 200 || res.CookiesDropped != lines || s.Jar().Len() != 0 || s.Jar().Dropped() != lines {
				t.Errorf("status %d (%v), CookiesDropped %d, jar holds %d, dropped %d; want 200, %d, 0, %d",
					res.Status, res.Err, res.CookiesDropped, s.Jar().Len(), s.Jar().Dropped(), lines, lines)
			}
		})
	}
}
