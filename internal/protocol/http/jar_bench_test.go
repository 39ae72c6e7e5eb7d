package http

import (
	"context"
	nethttp "net/http"
	"testing"
)

// BenchmarkLeanDoCookies is BenchmarkLeanDo for a VU that holds a session:
// "sent" sends two cookies from the jar with every request, "set" also
// gets its session cookie set again by every response (a rolling session).
func BenchmarkLeanDoCookies(b *testing.B) {
	const head = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
	for _, tc := range []struct {
		name, resp string
	}{
		{"sent", head + "\r\nhello world\n"},
		{"set", head + "Set-Cookie: sid=0123456789abcdef0123456789abcdef; Path=/; HttpOnly\r\n\r\nhello world\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := benchRequest(b)
			s := leanSession(r.URL, tc.resp)
			s.Jar().SetCookies(r.URL, []*nethttp.Cookie{
				{Name: "sid", Value: "0123456789abcdef0123456789abcdef", Path: "/"},
				{Name: "csrftoken", Value: "fedcba9876543210", Path: "/"},
			})
			var res Response
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s.Do(ctx, r, &res)
				if res.Status != 200 {
					b.Fatal(res.Status, res.Err)
				}
			}
		})
	}
}
