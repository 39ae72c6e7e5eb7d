package http

import (
	"fmt"
	nethttp "net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestJarExpiredMakeRoom: a full domain with an expired cookie makes room
// by dropping that one, which is not counted as dropped by a limit.
func TestJarExpiredMakeRoom(t *testing.T) {
	u, _ := url.Parse("http://h.test/")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var j Jar
	for i := range MaxCookiesPerDomain - 1 {
		j.set(u, []*nethttp.Cookie{{Name: fmt.Sprint("f", i), Value: "v"}}, now)
	}
	j.set(u, []*nethttp.Cookie{{Name: "short", Value: "v", MaxAge: 60}}, now)
	if n := j.set(u, []*nethttp.Cookie{{Name: "new", Value: "v"}}, now.Add(61*time.Second)); n != 0 || j.Len() != MaxCookiesPerDomain || j.Dropped() != 0 {
		t.Errorf("set reported %d dropped; jar holds %d, dropped %d; want 0, %d, 0", n, j.Len(), j.Dropped(), MaxCookiesPerDomain)
	}
	for _, c := range j.Cookies(u) {
		if c.Name == "short" {
			t.Error("the expired cookie is still sent")
		}
	}
	// Without an expired one, the least recently used goes, and is counted.
	if n := j.set(u, []*nethttp.Cookie{{Name: "newer", Value: "v"}}, now.Add(62*time.Second)); n != 1 || j.Len() != MaxCookiesPerDomain {
		t.Errorf("set reported %d dropped, jar holds %d; want 1, %d", n, j.Len(), MaxCookiesPerDomain)
	}
}

// TestJarCopiesStrings: a stored cookie must not keep the response's
// header text (up to a megabyte) alive for as long as the cookie lives.
func TestJarCopiesStrings(t *testing.T) {
	u, _ := url.Parse("http://h.test/a/b")
	head := "sid=" + strings.Repeat("v", 100) + "; Path=/a; Domain=h.test"
	cs := (&nethttp.Response{Header: nethttp.Header{"Set-Cookie": {head}}}).Cookies()
	var j Jar
	j.SetCookies(u, cs)
	lo := uintptr(unsafe.Pointer(unsafe.StringData(head)))
	hi := lo + uintptr(len(head))
	for _, d := range j.domains {
		for _, e := range d.cookies {
			for _, s := range []string{e.name, e.value, e.pair, e.path, e.domain, d.key} {
				if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
					t.Errorf("%q shares the header's memory", s)
				}
			}
		}
	}
	if j.Len() != 1 {
		t.Fatalf("jar holds %d", j.Len())
	}
}

// TestJarRoomFromEmptiedDomain: when making room empties the very domain
// the new cookie goes to, the cookie is still kept (and found).
func TestJarRoomFromEmptiedDomain(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("all expired", func(t *testing.T) {
		u, _ := url.Parse("http://h.test/")
		var j Jar
		for i := range MaxCookiesPerDomain {
			j.set(u, []*nethttp.Cookie{{Name: fmt.Sprint("f", i), Value: "v", MaxAge: 1}}, now)
		}
		j.set(u, []*nethttp.Cookie{{Name: "new", Value: "v"}}, now.Add(time.Hour))
		if got := j.Cookies(u); len(got) != 1 || got[0].Name != "new" || j.Len() != 1 {
			t.Errorf("sent %v, jar holds %d: want the new cookie alone", got, j.Len())
		}
	})
	t.Run("its only cookie is the least recently used of a full jar", func(t *testing.T) {
		var j Jar
		last, _ := url.Parse("http://last.test/")
		j.set(last, []*nethttp.Cookie{{Name: "old", Value: "v"}}, now)
		for d := 0; j.Len() < MaxCookies; d++ {
			u, _ := url.Parse(fmt.Sprintf("http://site%d.test/", d))
			for i := 0; i < MaxCookiesPerDomain && j.Len() < MaxCookies; i++ {
				j.set(u, []*nethttp.Cookie{{Name: fmt.Sprint("f", i), Value: "v"}}, now)
			}
		}
		j.set(last, []*nethttp.Cookie{{Name: "new", Value: "v"}}, now)
		if got := j.Cookies(last); len(got) != 1 || got[0].Name != "new" || j.Len() != MaxCookies || j.Dropped() != 1 {
			t.Errorf("sent %v, jar holds %d, dropped %d: want the new cookie, %d, 1", got, j.Len(), j.Dropped(), MaxCookies)
		}
	})
}
