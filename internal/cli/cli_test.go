package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	if !strings.Contains(s, "latency    min") {
		t.Fatalf("no summary in:\n%s", s)
	}
}

func TestNoProgressLineWhenQuietOrNotATerminal(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	for _, tc := range []struct {
		name     string
		terminal bool
		args     []string
	}{
		{"not a terminal", false, nil},
		{"quiet", true, []string{"-q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"run", "-u", tb.URL() + "/hello", "--vus", "1", "--duration", "1200ms"}, tc.args...)
			if err := cli.Main(context.Background(), cli.Env{Args: args, Stdout: &out, Stderr: &out, Terminal: tc.terminal}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "\r") {
				t.Fatalf("progress line printed:\n%q", out.String())
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
