package grpcschema

import (
	"fmt"
	"net"
	"net/url"

	"google.golang.org/grpc/codes"
)

// Address parses a target, http://host:port (plaintext HTTP/2) or
// https://host:port (TLS), into its host:port (port 80 or 443 by default)
// and whether it uses TLS.
func Address(target string) (addr string, useTLS bool, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", false, fmt.Errorf("target %q: %v", target, err)
	}
	switch u.Scheme {
	case "http", "grpc":
	case "https", "grpcs":
		useTLS = true
	default:
		return "", false, fmt.Errorf("target %q: want http://host:port (plaintext) or https://host:port (TLS)", target)
	}
	if u.Host == "" {
		return "", false, fmt.Errorf("target %q: no host", target)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return "", false, fmt.Errorf("target %q: a gRPC target is a host and port, with no path or query", target)
	}
	addr = u.Host
	if u.Port() == "" {
		port := "80"
		if useTLS {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return addr, useTLS, nil
}

// ParseCode parses a status code: its name as gRPC spells it ("NotFound",
// "OK"), in upper snake case ("NOT_FOUND"), or its number (0 to 16).
func ParseCode(s string) (codes.Code, bool) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if s == c.String() || s == snake(c.String()) || s == fmt.Sprint(uint32(c)) {
			return c, true
		}
	}
	return 0, false
}

// snake spells a code name in upper snake case: NotFound → NOT_FOUND.
func snake(name string) string {
	var b []byte
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch >= 'A' && ch <= 'Z' && i > 0 && name != "OK" {
			b = append(b, '_')
		}
		if ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		b = append(b, ch)
	}
	return string(b)
}
