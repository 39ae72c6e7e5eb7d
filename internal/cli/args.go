package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// onceString is a string flag that may be given once: pflag would keep the
// last of two -u flags and silently drop the first.
type onceString struct {
	v   string
	set bool
}

func (s *onceString) String() string { return s.v }
func (s *onceString) Type() string   { return "string" }
func (s *onceString) Set(v string) error {
	if s.set {
		return fmt.Errorf("given twice (first %q): give it once", s.v)
	}
	s.v, s.set = v, true
	return nil
}

// isURLArg reports whether a command-line argument is an http(s) URL
// rather than a scenario file.
func isURLArg(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func hasScheme(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// schemeHint says "add http://" for what looks like a URL without its
// scheme (127.0.0.1:8080/api, localhost/x, example.com), and "" otherwise.
func schemeHint(s string) string {
	if strings.Contains(s, "://") || s == "" {
		return ""
	}
	host, _, _ := strings.Cut(s, "/")
	if h, port, err := net.SplitHostPort(host); err == nil {
		if _, err := strconv.Atoi(port); err != nil {
			return ""
		}
		host = h
	}
	switch ext := strings.ToLower(filepath.Ext(host)); {
	case host == "localhost", net.ParseIP(host) != nil:
	case ext == ".yaml" || ext == ".yml" || ext == ".json" || ext == ".csv" || ext == ".txt":
		return ""
	case !hostName.MatchString(host):
		return ""
	}
	return fmt.Sprintf("a URL needs its scheme: add http:// (http://%s)", s)
}

// hostName is a DNS name of at least two labels (example.com).
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

// checkURLFlag refuses a URL without a scheme with the hint to add one.
func checkURLFlag(flag, s string) error {
	if !strings.Contains(s, "://") {
		if hint := schemeHint(s); hint != "" {
			return fmt.Errorf("%s %s: %s", flag, s, hint)
		}
		return fmt.Errorf("%s %q: want an http:// or https:// URL, e.g. http://127.0.0.1:8080/hello", flag, s)
	}
	return nil
}

var errTooLarge = errors.New("too large")

// readBounded reads at most limit bytes of the file at path and fails if it
// holds more, without reading the rest (a /dev/zero costs nothing).
func readBounded(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && st.IsDir() {
		return nil, errors.New("is a directory")
	}
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes: %w", limit, errTooLarge)
	}
	return b, nil
}
