//go:build linux

package scenario_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/scenario"
)

// bombs are 120 KB files that nest deeply; before the depth pre-scan each
// took gigabytes inside the YAML parser.
func bombs() map[string]string {
	const n = 60_000
	var block strings.Builder
	for i := 0; block.Len() < 120_000; i++ {
		block.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	return map[string]string{
		"brackets": strings.Repeat("[", n) + strings.Repeat("]", n),
		"mappings": "flows:\n  - steps: " + strings.Repeat("{a: ", n/2) + strings.Repeat("}", n/2),
		"dashes":   strings.Repeat("- ", n),
		"block":    block.String(),
	}
}

const bombChild = "SURGE_SCENARIO_BOMB"

// bombResult is what the child process reports.
type bombResult struct {
	Err   string
	Alloc uint64
	Took  time.Duration
}

// TestNestingBombIsRefusedCheaply parses each bomb in a child process
// whose address space may grow by 1 GiB at most, so that a regression kills the
// child, not the machine, and checks that it is refused with a position
// while allocating less than 4 MiB.
func TestNestingBombIsRefusedCheaply(t *testing.T) {
	if name := os.Getenv(bombChild); name != "" {
		runBomb(name)
		return
	}
	for name := range bombs() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestNestingBombIsRefusedCheaply$")
			cmd.Env = append(os.Environ(), bombChild+"="+name)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child failed (out of memory?): %v\n%.2000s", err, out)
			}
			line, _, _ := strings.Cut(string(out), "\n")
			var r bombResult
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("child said %q: %v", out, err)
			}
			if !strings.Contains(r.Err, "nesting deeper than 64 levels") || !strings.HasPrefix(r.Err, "bomb.yaml:") {
				t.Errorf("error %q, want a positioned nesting error", r.Err)
			}
			if r.Alloc > 4<<20 {
				t.Errorf("refusing it allocated %d bytes, want < 4 MiB", r.Alloc)
			}
			t.Logf("refused in %v, %d KiB allocated: %s", r.Took, r.Alloc>>10, r.Err)
		})
	}
}

func runBomb(name string) {
	// The runtime reserves address space it has not used yet: allow 1 GiB
	// more than the process has mapped now.
	limit := uint64(vmSize()) + 1<<30
	lim := syscall.Rlimit{Cur: limit, Max: limit}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
		fmt.Println(`{"Err":"setrlimit: ` + err.Error() + `"}`)
		os.Exit(0)
	}
	src := []byte(bombs()[name])
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := scenario.Parse("bomb.yaml", src, scenario.Options{})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	r := bombResult{Alloc: after.TotalAlloc - before.TotalAlloc, Took: took}
	if err != nil {
		r.Err = err.Error()
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	os.Exit(0)
}

// vmSize is the process's mapped address space in bytes, from /proc.
func vmSize() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmSize:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
