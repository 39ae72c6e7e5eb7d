package scenario_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/workload"
)

// fakeFiles stands in for data and body files, so the fuzzer never reads
// the disk.
func fakeFiles(name string) ([]byte, error) {
	switch {
	case strings.HasSuffix(name, ".csv"):
		return []byte("name,password\nalice,secret\nbob,secret\n"), nil
	case strings.HasSuffix(name, ".json"):
		return []byte(`[{"id": 1, "name": "x"}, {"id": 2}]`), nil
	case strings.HasSuffix(name, ".bin"):
		return []byte{0, 1, 2}, nil
	}
	return nil, os.ErrNotExist
}

var problemLine = regexp.MustCompile(`^fuzz\.yaml:[1-9][0-9]*:[1-9][0-9]*: .`)

// FuzzLoad checks that any input either loads into a plan that validates
// and compiles, or fails with positioned problems wrapping ErrInvalid, and
// never panics.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/errors/*.yaml", "testdata/valid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	// Small versions of the hostile shapes: deep nesting (flow, block,
	// "- "), an anchor merged into many steps, growing templates, numbers
	// that are not numbers.
	deep := func(open, close string, n int) string { return strings.Repeat(open, n) + strings.Repeat(close, n) }
	var block, merged strings.Builder
	for i := range scenario.MaxDepth + 2 {
		block.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	merged.WriteString("target: http://x\nx-a: &a {headers: {A: b}}\nflows:\n  - steps:\n")
	for i := range 40 {
		fmt.Fprintf(&merged, "      - {<<: *a, get: /%d}\n", i)
	}
	for _, seed := range []string{
		deep("[", "]", scenario.MaxDepth+1),
		"flows: " + deep("{a: ", "}", scenario.MaxDepth),
		strings.Repeat("- ", scenario.MaxDepth+1) + "x",
		block.String(),
		"target: http://x\nflows: [{steps: [{get: /, json: " + deep("[", "]", 40) + "}]}]\n",
		merged.String(),
		"target: http://x\nflows: [{steps: [{post: /, body: \"" + strings.Repeat("{{randString 4096}}", 20) + "\"}]}]\n",
		"target: http://x\nload: {rate: .nan, stages: [{duration: 1s, target: .inf}]}\nflows: [{steps: [{get: /}]}]\n",
		"target: http://x\nload: {vus: 100001}\nflows: [{steps: [{get: /, timeout: 0s}]}]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := scenario.Parse("fuzz.yaml", src, scenario.Options{Getenv: testEnv, ReadFile: fakeFiles})
		if err != nil {
			if !errors.Is(err, scenario.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, l := range strings.Split(err.Error(), "\n") {
				if !problemLine.MatchString(l) {
					t.Fatalf("problem not as file:line:col: message: %q", l)
				}
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("a loaded plan fails Validate: %v", err)
		}
		if _, err := workload.Compile(p); err != nil {
			t.Fatalf("a loaded plan does not compile: %v", err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshalling the plan: %v", err)
		}
		var q scenario.Plan
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatalf("unmarshalling the plan: %v", err)
		}
		q.Env = p.Env
		if err := q.Validate(); err != nil {
			t.Fatalf("the plan read back from JSON fails Validate: %v\n%s", err, b)
		}
	})
}
