package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
)

// A body or data file that is a device, or larger than the limit, is
// refused with its name instead of being read without end.
func TestBodyAndDataFilesAreReadBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(scenario.MaxDataFileSize + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	cases := []struct{ name, top, steps, want string }{
		{"device body", "", "[{post: /x, body_file: /dev/zero}]", "/dev/zero is not a regular file"},
		{"huge data", "data: {rows: {json: " + big + "}}\n", "[{get: /x}]", "more than the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "target: http://127.0.0.1:1\nload: {vus: 1, duration: 1s}\n" + tc.top +
				"flows:\n  - name: f\n    steps: " + tc.steps + "\n"
			done := make(chan error, 1)
			go func() {
				_, err := scenario.Parse("t.yaml", []byte(src), scenario.Options{Dir: dir})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("reading the file did not end")
			}
		})
	}
}
