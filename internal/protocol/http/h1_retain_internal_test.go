package http

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestHugeHeadIsNotKept: after a response with many header lines, the
// session keeps neither the grown Header map nor its backing arrays, nor
// any string of that head, for the next responses.
func TestHugeHeadIsNotKept(t *testing.T) {
	var big strings.Builder
	big.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
	for i := range 5000 {
		fmt.Fprintf(&big, "X-H%d: %d\r\n", i, i)
	}
	big.WriteString("\r\n")
	small := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n"
	r, _ := url.Parse("http://127.0.0.1:1/")
	s := leanSession(r, big.String())
	rc := s.h1.conns[0].nc.(*replayConn)
	var res Response
	s.Do(t.Context(), &Request{URL: r}, &res)
	if res.Status != 200 || len(res.Header) != 5001 {
		t.Fatalf("status %d, %d headers: %v", res.Status, len(res.Header), res.Err)
	}
	bigHeader := res.Header
	rc.resp, rc.off = []byte(small), 0
	s.Do(t.Context(), &Request{URL: r}, &res)
	if res.Status != 200 || res.Header.Get("X-A") != "1" || len(res.Header) != 2 {
		t.Fatalf("status %d, headers %v: %v", res.Status, res.Header, res.Err)
	}
	if fmt.Sprintf("%p", bigHeader) == fmt.Sprintf("%p", res.Header) {
		t.Error("the grown Header map was reused")
	}
	if cap(s.h1.vals) > h1KeepHeaders || cap(s.h1.keys) > h1KeepHeaders {
		t.Errorf("kept header arrays of %d and %d, want at most %d", cap(s.h1.vals), cap(s.h1.keys), h1KeepHeaders)
	}
	// A smaller head after a larger one leaves no stale string behind.
	var medium strings.Builder
	medium.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
	for i := range h1KeepHeaders / 2 {
		fmt.Fprintf(&medium, "X-M%d: %d\r\n", i, i)
	}
	medium.WriteString("\r\n")
	rc.resp, rc.off = []byte(medium.String()), 0
	s.Do(t.Context(), &Request{URL: r}, &res)
	rc.resp, rc.off = []byte(small), 0
	s.Do(t.Context(), &Request{URL: r}, &res)
	if res.Status != 200 || len(res.Header) != 2 {
		t.Fatalf("status %d, headers %v: %v", res.Status, res.Header, res.Err)
	}
	for _, v := range s.h1.vals[len(s.h1.vals):cap(s.h1.vals)] {
		if v != "" {
			t.Errorf("a stale header value %q is kept", v)
		}
	}
}
