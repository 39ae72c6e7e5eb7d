package report_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites golden files instead of comparing with them:
// go test ./internal/report/ -update
var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden compares got with testdata/<test name>.golden, or rewrites that
// file when -update is set. Subtest names have their slashes replaced by
// underscores.
func checkGolden(t testing.TB, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (go test -update creates it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, firstDiff(want, got))
	}
}

// firstDiff describes the first line where want and got differ, clipped to
// the neighbourhood of the first differing byte (some lines are long).
func firstDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		if i >= len(w) || i >= len(g) {
			return fmt.Sprintf("line %d: want %d lines, got %d", i+1, len(w), len(g))
		}
		if w[i] == g[i] {
			continue
		}
		col := 0
		for col < min(len(w[i]), len(g[i])) && w[i][col] == g[i][col] {
			col++
		}
		from := max(0, col-80)
		clip := func(s string) string { return s[min(from, len(s)):min(col+160, len(s))] }
		return fmt.Sprintf("line %d, byte %d:\n  want: %s\n  got:  %s", i+1, col+1, clip(w[i]), clip(g[i]))
	}
	return "(no line differs)"
}
