package scenario

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// readBounded reads a file of exactly the limit whole, and refuses one
// byte more; a file that reports a small size but holds more (as files in
// /proc do) is cut off at the limit and refused, not read to its end.
func TestReadBoundedAtTheLimit(t *testing.T) {
	dir := t.TempDir()
	const limit = 10
	for _, c := range []struct {
		size int
		want string // "": read whole
	}{{limit - 1, ""}, {limit, ""}, {limit + 1, "is 11 bytes, more than the limit of 10"}} {
		name := filepath.Join(dir, "f")
		content := strings.Repeat("x", c.size-1) + "y" // the last byte shows a cut
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := readBounded(name, limit)
		switch {
		case c.want == "" && (err != nil || string(b) != content):
			t.Errorf("%d bytes: read %q, %v; want it whole", c.size, b, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%d bytes: got %v, want %q", c.size, err, c.want)
		}
	}
	if runtime.GOOS == "linux" {
		// /proc/self/maps is a regular file of size 0 that holds far more
		// than 10 bytes.
		if _, err := readBounded("/proc/self/maps", limit); err == nil || !strings.Contains(err.Error(), "grew past the limit of 10 bytes") {
			t.Errorf("/proc/self/maps: got %v, want it cut off at the limit", err)
		}
	}
}

// within says whether a problem's path is a field or inside it: what the
// loader's problems hide of Validate's (cascades).
func TestWithin(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"flows[1]", "flows[1]", true},
		{"flows[1].url", "flows[1]", true},
		{"flows[1][\"wieght\"]", "flows[1]", true},
		{"flows[10]", "flows[1]", false},
		{"flowsx", "flows", false},
		{"flows", "flows[1]", false},
		{"flows[0].steps[2]", "", true},
		{"", "", true},
	} {
		if got := within(c.a, c.b); got != c.want {
			t.Errorf("within(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
