package scenario

import "strings"

// httpVersion reads defaults.http: the HTTP version every request goes
// with, 1 or 2 (also written "1.1", "2", "2.0", "HTTP/1.1", "HTTP/2").
func (l *loader) httpVersion(n *node) int {
	const path = "defaults.http"
	l.mark(path, n)
	switch v := n.value.(type) {
	case int64:
		if v == 1 || v == 2 {
			return int(v)
		}
	case uint64:
		if v == 1 || v == 2 {
			return int(v)
		}
	case float64:
		switch v {
		case 1, 1.1:
			return 1
		case 2:
			return 2
		}
	case string:
		switch strings.ToUpper(strings.TrimSpace(v)) {
		case "1", "1.1", "HTTP/1.1":
			return 1
		case "2", "2.0", "HTTP/2", "HTTP/2.0", "H2":
			return 2
		}
	}
	l.errorf(n, path, "`defaults.http` must be 1 (HTTP/1.1) or 2 (HTTP/2, with prior knowledge to http:// targets), got %s", n.describe())
	return 0
}
