package http

import (
	"fmt"
	nethttp "net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The jar's rules that a plain sequence of SetCookies and Cookies does not
// reach: expiry of cookies stored in the past, the order of eviction when
// cookies were used at the same moment, attribute limits at exactly their
// size, and host names in every case.

func jarURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// sent is what the jar puts in the Cookie header of a request to u.
func sent(j *Jar, u *url.URL) string {
	b, _ := j.appendCookies(nil, u, false)
	return string(b)
}

// TestJarExpiresCookiesStoredEarlier: a cookie stored two hours ago with
// an hour to live is not sent now, however the cookies of its domain were
// created, replaced or changed from session to persistent before.
func TestJarExpiresCookiesStoredEarlier(t *testing.T) {
	u := jarURL(t, "http://h.test/")
	then := time.Now().Add(-2 * time.Hour)
	hour := func(name, value string) *nethttp.Cookie {
		return &nethttp.Cookie{Name: name, Value: value, MaxAge: 3600}
	}
	session := func(name, value string) *nethttp.Cookie { return &nethttp.Cookie{Name: name, Value: value} }
	tests := []struct {
		name  string
		steps [][]*nethttp.Cookie // each stored two hours ago, in turn
		want  string
	}{
		{"a persistent cookie", [][]*nethttp.Cookie{{hour("p", "1")}}, ""},
		{"beside a session cookie", [][]*nethttp.Cookie{{session("s", "1"), hour("p", "1")}}, "s=1"},
		{"a session cookie made persistent", [][]*nethttp.Cookie{{session("p", "1")}, {hour("p", "2")}}, ""},
		{"a session cookie replaced by a session cookie", [][]*nethttp.Cookie{{hour("p", "1"), session("s", "1")}, {session("s", "2")}}, "s=2"},
		{"a persistent cookie replaced by a persistent one", [][]*nethttp.Cookie{{hour("p", "1"), session("s", "1")}, {hour("p", "2")}}, "s=1"},
		{"a new session cookie after it", [][]*nethttp.Cookie{{hour("p", "1")}, {session("s", "1")}, {session("t", "1")}}, "s=1; t=1"},
		{"after another persistent one was deleted", [][]*nethttp.Cookie{{hour("p", "1"), hour("q", "1"), session("s", "1")}, {{Name: "q", MaxAge: -1}}}, "s=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j Jar
			for _, cs := range tt.steps {
				j.set(u, cs, then)
			}
			if got := sent(&j, u); got != tt.want {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
			if got := names(j.Cookies(u)); got != strings.ReplaceAll(tt.want, "; ", " ") {
				t.Errorf("Cookies gives %q, want %q", got, tt.want)
			}
		})
	}
}

func names(cs []*nethttp.Cookie) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return strings.Join(out, " ")
}

// TestJarEvictionOrder: when a domain is full, the least recently used
// cookie goes; a lookup counts as a use; among cookies used by the same
// lookup, the oldest goes.
func TestJarEvictionOrder(t *testing.T) {
	u := jarURL(t, "http://h.test/")
	now := time.Now()
	t.Run("a lookup is a use", func(t *testing.T) {
		var j Jar
		j.set(u, []*nethttp.Cookie{{Name: "a", Value: "1", Path: "/a"}, {Name: "b", Value: "1", Path: "/b"}}, now)
		if got := sent(&j, jarURL(t, "http://h.test/a")); got != "a=1" {
			t.Fatalf("sent %q to /a", got)
		}
		for i := range MaxCookiesPerDomain - 2 {
			j.set(u, []*nethttp.Cookie{{Name: fmt.Sprint("f", i), Value: "1", Path: "/f"}}, now)
		}
		if n := j.set(u, []*nethttp.Cookie{{Name: "new", Value: "1"}}, now); n != 1 {
			t.Fatalf("set reported %d dropped, want 1", n)
		}
		if got := sent(&j, jarURL(t, "http://h.test/a")); got != "a=1; new=1" {
			t.Errorf("a, used after b was set, was evicted: /a gets %q", got)
		}
		if got := sent(&j, jarURL(t, "http://h.test/b")); got != "new=1" {
			t.Errorf("b, the least recently used, is still sent: %q", got)
		}
	})
	t.Run("used together, the oldest goes", func(t *testing.T) {
		var j Jar
		for i := range MaxCookiesPerDomain {
			j.set(u, []*nethttp.Cookie{{Name: fmt.Sprint("f", i), Value: "1"}}, now)
		}
		sent(&j, u) // every cookie used at once
		j.set(u, []*nethttp.Cookie{{Name: "new", Value: "1"}}, now)
		got := sent(&j, u)
		if strings.Contains(got, "f0=") || !strings.Contains(got, "f1=") || !strings.Contains(got, fmt.Sprintf("f%d=", MaxCookiesPerDomain-1)) || !strings.Contains(got, "new=") {
			t.Errorf("sent %q: want f0, the oldest of those used together, evicted and the rest kept", got)
		}
	})
}

// TestJarValues: a cookie's value is sent as it was last set, quoted or
// not, and an empty value is a cookie too.
func TestJarValues(t *testing.T) {
	u := jarURL(t, "http://h.test/")
	now := time.Now()
	tests := []struct {
		name  string
		steps []*nethttp.Cookie
		want  string
	}{
		{"empty value", []*nethttp.Cookie{{Name: "e", Value: ""}}, "e="},
		{"quoted, then plain", []*nethttp.Cookie{{Name: "q", Value: "v", Quoted: true}, {Name: "q", Value: "v"}}, "q=v"},
		{"plain, then quoted", []*nethttp.Cookie{{Name: "q", Value: "v"}, {Name: "q", Value: "v", Quoted: true}}, `q="v"`},
		{"set again unchanged", []*nethttp.Cookie{{Name: "q", Value: "v"}, {Name: "q", Value: "v"}}, "q=v"},
		{"empty, then a value", []*nethttp.Cookie{{Name: "e", Value: ""}, {Name: "e", Value: "x"}}, "e=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j Jar
			for _, c := range tt.steps {
				j.set(u, []*nethttp.Cookie{c}, now)
			}
			if got := sent(&j, u); got != tt.want {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
			if got := names(j.Cookies(u)); got != tt.want {
				t.Errorf("Cookies gives %q, want %q", got, tt.want)
			}
		})
	}
}

// TestJarAttributeLimits: a Path or Domain of exactly MaxCookieAttr bytes
// is honoured; one byte more is ignored (the cookie is kept with the
// default path, or host-only).
func TestJarAttributeLimits(t *testing.T) {
	now := time.Now()
	path := func(n int) string { return "/" + strings.Repeat("p", n-1) }
	// domain returns a domain name of n bytes ending in .shop.test.
	domain := func(n int) string {
		var b strings.Builder
		for b.Len() < n-len("shop.test") {
			b.WriteString("a.")
		}
		s := b.String() + "shop.test"
		s = s[len(s)-n:]
		if s[0] == '.' {
			s = "b" + s[1:]
		}
		return s
	}
	for _, n := range []int{MaxCookieAttr - 1, MaxCookieAttr, MaxCookieAttr + 1} {
		t.Run(fmt.Sprintf("path of %d", n), func(t *testing.T) {
			var j Jar
			p := path(n)
			j.set(jarURL(t, "http://h.test/x/login"), []*nethttp.Cookie{{Name: "c", Value: "1", Path: p}}, now)
			atPath, atDefault := sent(&j, jarURL(t, "http://h.test"+p)), sent(&j, jarURL(t, "http://h.test/x/y"))
			if honoured := n <= MaxCookieAttr; honoured && (atPath != "c=1" || atDefault != "") || !honoured && (atPath != "" || atDefault != "c=1") {
				t.Errorf("sent %q at its path, %q at the default path; want the path honoured: %v", atPath, atDefault, honoured)
			}
		})
		t.Run(fmt.Sprintf("domain of %d", n), func(t *testing.T) {
			var j Jar
			d := domain(n)
			if len(d) != n || d[0] == '.' {
				t.Fatalf("bad test domain %q (%d bytes)", d, len(d))
			}
			j.set(jarURL(t, "http://www."+d+"/"), []*nethttp.Cookie{{Name: "c", Value: "1", Domain: d}}, now)
			sibling := sent(&j, jarURL(t, "http://other."+d+"/"))
			if honoured := n <= MaxCookieAttr; honoured && sibling != "c=1" || !honoured && sibling != "" {
				t.Errorf("a sibling host gets %q; want the Domain honoured: %v", sibling, honoured)
			}
			if got := sent(&j, jarURL(t, "http://www."+d+"/")); got != "c=1" {
				t.Errorf("the host that set it gets %q", got)
			}
		})
	}
}

// TestJarHostNames: host names are matched without regard to case (ASCII
// or not), port or trailing dot; odd names neither crash the jar nor
// reach other hosts.
func TestJarHostNames(t *testing.T) {
	now := time.Now()
	tests := []struct {
		set, get string
		want     string
	}{
		{"http://A.test/", "http://a.test/", "c=1"},
		{"http://a.test/", "http://A.test/", "c=1"},
		{"http://Z.test/", "http://z.test/", "c=1"},
		{"http://LOCALHOST:8080/", "http://localhost:9/", "c=1"},
		{"http://AZ/", "http://az/", "c=1"},
		{"http://ÜÖ/", "http://üö/", "c=1"},
		{"http://www.ÜÖ.test/", "http://www.üö.test/", "c=1"},
		{"http://.test/", "http://.test/", "c=1"},
		{"http://.test/", "http://test/", ""},
		{"http://a.test/", "http://b.test/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.set+" "+tt.get, func(t *testing.T) {
			var j Jar
			j.set(jarURL(t, tt.set), []*nethttp.Cookie{{Name: "c", Value: "1"}}, now)
			if got := sent(&j, jarURL(t, tt.get)); got != tt.want {
				t.Errorf("set at %s, %s gets %q; want %q", tt.set, tt.get, got, tt.want)
			}
		})
	}
}

// TestJarRefusesNonASCIIDomain: a Domain attribute with any byte from
// 0x80 up is not punycode and is refused: the cookie is not kept at all.
func TestJarRefusesNonASCIIDomain(t *testing.T) {
	now := time.Now()
	for _, d := range []string{"bücher.test", "\x80.test", "a\xff.test"} {
		var j Jar
		host := "www." + d
		u := &url.URL{Scheme: "http", Host: host, Path: "/"}
		n := j.set(u, []*nethttp.Cookie{{Name: "c", Value: "1", Domain: d}}, now)
		if j.Len() != 0 || n != 0 {
			t.Errorf("Domain=%q from %q: jar holds %d, dropped %d; want it refused (0, and not counted)", d, host, j.Len(), n)
		}
	}
	// An ASCII one of the same shape is kept.
	var j Jar
	j.set(jarURL(t, "http://www.buecher.test/"), []*nethttp.Cookie{{Name: "c", Value: "1", Domain: "buecher.test"}}, now)
	if got := sent(&j, jarURL(t, "http://shop.buecher.test/")); got != "c=1" {
		t.Errorf("an ASCII domain cookie: sibling gets %q", got)
	}
}

// TestSetCookieLineLimit: net/http parses up to maxSetCookies Set-Cookie
// lines; beyond that none is parsed and all count as dropped. Exactly at
// the limit, lines that are no cookies are not counted as dropped.
func TestSetCookieLineLimit(t *testing.T) {
	u := jarURL(t, "http://h.test/")
	junk := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "no cookie here"
		}
		return out
	}
	for _, tt := range []struct {
		lines []string
		want  int
	}{
		{junk(maxSetCookies - 1), 0},
		{junk(maxSetCookies), 0},
		{junk(maxSetCookies + 1), maxSetCookies + 1},
		{append(junk(maxSetCookies-1), "c=1"), 0},
	} {
		s := NewClient(Options{}).NewSession()
		if got := s.storeCookies(u, tt.lines); got != tt.want || s.jar.Dropped() != int64(tt.want) {
			t.Errorf("%d lines: %d dropped (jar says %d), want %d", len(tt.lines), got, s.jar.Dropped(), tt.want)
		}
	}
}
