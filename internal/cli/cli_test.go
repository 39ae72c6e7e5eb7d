package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/cli"
	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func TestProgressLineOnATerminal(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	var out, errOut bytes.Buffer
	err := cli.Main(context.Background(), cli.Env{
		Args:   []string{"run", "-u", tb.URL() + "/hello", "--rate", "50", "--duration", "2s"},
		Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Terminal: true,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	s := out.String()
	if !strings.Contains(s, "\r\033[K  1s/2s  vus ") || !strings.Contains(s, "rps ") || !strings.Contains(s, "p99 ") {
		t.Fatalf("no live progress line in:\n%q", s)
	}
	if !progressLine.MatchString(s) {
		t.Fatalf("the live line does not match progressLine (TestNoProgressLineWhenQuietOrNotATerminal relies on it):\n%q", s)
	}
	if !strings.Contains(s, "latency    min") {
		t.Fatalf("no summary in:\n%s", s)
	}
}

// progressLine matches the live line's text, however it is terminated.
var progressLine = regexp.MustCompile(`\d+(\.\d+)?m?s(/\S+)?  vus \d+  rps `)

// Without a terminal, or with -q, the run prints its summary and nothing
// else: stdout is exactly the summary rendered from the run's own JSON
// summary, stderr is empty, and no trace of the live line (its text, a
// carriage return, an erase-line escape) is in either — the run is long
// enough (two intervals) that a live line would have been drawn.
func TestNoProgressLineWhenQuietOrNotATerminal(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	for _, tc := range []struct {
		name     string
		terminal bool
		args     []string
	}{
		{"not a terminal", false, nil},
		{"quiet", true, []string{"-q"}},
		{"--quiet", true, []string{"--quiet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			path := filepath.Join(t.TempDir(), "s.json")
			args := append([]string{"run", "-u", tb.URL() + "/delay?ms=20", "--vus", "1", "--duration", "2200ms", "--out", "json=" + path}, tc.args...)
			if err := cli.Main(context.Background(), cli.Env{Args: args, Stdout: &stdout, Stderr: &stderr, Terminal: tc.terminal}); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			for name, s := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if strings.ContainsAny(s, "\r") || strings.Contains(s, "\033[") || progressLine.MatchString(s) {
					t.Errorf("%s has a progress line:\n%q", name, s)
				}
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr is not empty:\n%q", stderr.String())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var sum report.Summary
			if err := json.Unmarshal(b, &sum); err != nil {
				t.Fatal(err)
			}
			if sum.Totals.Requests == 0 || len(sum.Timeline) < 2 {
				t.Fatalf("%d requests in %d intervals: too short a run to have drawn a live line", sum.Totals.Requests, len(sum.Timeline))
			}
			var want bytes.Buffer
			if err := report.WriteText(&want, &sum); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != want.String() {
				t.Errorf("stdout is not just the summary:\n got %q\nwant %q", stdout.String(), want.String())
			}
		})
	}
}

func TestFirstInterruptStopsGracefully(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{Latency: 50 * time.Millisecond})
	sig := make(chan os.Signal, 1)
	path := filepath.Join(t.TempDir(), "s.json")
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(context.Background(), cli.Env{
			Args:   []string{"run", "-q", "-u", tb.URL() + "/hello", "--vus", "10", "--duration", "1m", "--out", "json=" + path},
			Stdout: &out, Stderr: &out, Signals: sig,
		})
	}()
	for deadline := time.Now().Add(10 * time.Second); tb.Count() < 30; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the target saw %d requests in 10 s, want 30", tb.Count())
		}
	}
	sig <- os.Interrupt
	select {
	case err := <-done:
		if !errors.Is(err, cli.ErrInterrupted) || cli.ExitCode(err) != 130 {
			t.Fatalf("an interrupted run returned %v (exit %d), want ErrInterrupted (exit 130)", err, cli.ExitCode(err))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	// in-flight requests finished and were counted: exactly what the target saw
	if s.Totals.Requests != tb.Count() || s.Totals.Errors != 0 || s.Run.Status != "stopped" {
		t.Fatalf("counted %d (errors %d, status %s), target saw %d", s.Totals.Requests, s.Totals.Errors, s.Run.Status, tb.Count())
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"ok", nil, 0},
		{"thresholds", cli.ErrThresholds, 3},
		{"usage", cli.ErrUsage, 2},
		{"interrupted", fmt.Errorf("run stopped: %w", cli.ErrInterrupted), 130},
		{"other", errors.New("disk full"), 1},
	}
	for _, tt := range tests {
		if got := cli.ExitCode(tt.err); got != tt.want {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}
