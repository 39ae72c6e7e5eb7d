package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
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

// send makes an API request with the secret and returns its status and body.
func send(t *testing.T, method, url, secret string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The dashboard steers a run that `surge run --server` makes: a PATCH of
// the rate reaches the target within an interval or so, and a stop ends
// the CLI as a graceful stop does (summary and outputs written), exit 1.
func TestDashboardSteersRecordedRun(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := startSurgeServer(t, nil, "--data", t.TempDir(), "--secret", "s3cret")
	out := &syncBuffer{}
	local := filepath.Join(t.TempDir(), "summary.json")
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(context.Background(), cli.Env{
			// Bounded: 30 s at most, a few hundred requests.
			Args:   []string{"run", "-q", "-u", tb.URL() + "/api/items", "--rate", "10", "--duration", "30s", "--server", s.url, "--secret", "s3cret", "--out", "json=" + local},
			Stdout: out, Stderr: out,
		})
	}()
	var id string
	waitUntil(t, "the recorded run", 10*time.Second, func() bool {
		var list struct{ Runs []struct{ ID, Status string } }
		get(t, s.url+"/api/v1/runs", "s3cret", &list)
		if len(list.Runs) == 1 && list.Runs[0].Status == "running" {
			id = list.Runs[0].ID
		}
		return id != ""
	})
	api := s.url + "/api/v1/runs/" + id
	// Bad input is refused as for the server's own runs.
	if status, body := send(t, "PATCH", api, "s3cret", map[string]any{"vus": 3}); status != http.StatusBadRequest || !strings.Contains(body, "open model") {
		t.Errorf("PATCH vus of an open-model recorded run: %d %s, want 400", status, body)
	}
	if status, body := send(t, "PATCH", api, "s3cret", map[string]any{"rate": 100}); status != http.StatusOK {
		t.Fatalf("PATCH rate of a recorded run: %d %s", status, body)
	}
	waitUntil(t, "the CLI to take the new rate", 5*time.Second, func() bool {
		return strings.Contains(out.String(), "the server's dashboard set the load to 100/s")
	})
	// The target sees the new rate: ~100 requests in a second, not ~10.
	time.Sleep(200 * time.Millisecond)
	before := tb.Count()
	time.Sleep(time.Second)
	if got := tb.Count() - before; got < 40 { // 10/s would give ~10; leave room for a loaded machine
		t.Errorf("the target received %d requests in the second after the new rate of 100/s", got)
	}

	status, body := send(t, "POST", api+"/stop", "s3cret", nil)
	if status != http.StatusOK || !strings.Contains(body, `"status":"stopped"`) {
		t.Errorf("POST stop of a recorded run: %d %s, want 200 and the stopped run", status, body)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the CLI did not stop:\n%s", out.String())
	}
	if !errors.Is(err, cli.ErrStoppedRemotely) || cli.ExitCode(err) != cli.ExitFailure {
		t.Errorf("CLI ended with %v (exit %d), want ErrStoppedRemotely and exit 1", err, cli.ExitCode(err))
	}
	if !strings.Contains(out.String(), "surge: stopping: stopped from the dashboard") {
		t.Errorf("the CLI did not say it was stopped:\n%s", out.String())
	}
	var mine report.Summary
	if b, err := os.ReadFile(local); err != nil || json.Unmarshal(b, &mine) != nil {
		t.Fatalf("local summary not written: %v", err)
	}
	if mine.Run.Status != "stopped" || mine.Totals.Requests != tb.Count() {
		t.Errorf("local summary: status %q, %d requests; the target received %d", mine.Run.Status, mine.Totals.Requests, tb.Count())
	}
	var kinds []string
	for _, e := range mine.Events {
		kinds = append(kinds, e.Kind+" "+e.Detail)
	}
	if len(mine.Events) != 2 || mine.Events[0].Kind != "rate" || mine.Events[0].Value != 100 ||
		mine.Events[1].Kind != "stop" || mine.Events[1].Detail != "stopped from the dashboard" {
		t.Errorf("local summary's events: %q, want the new rate and the stop", kinds)
	}
	var d struct {
		Status string
		Events []struct{ Kind, Detail string }
	}
	get(t, api, "s3cret", &d)
	if d.Status != "stopped" || len(d.Events) != 2 || d.Events[0].Kind != "adjust" || d.Events[1].Detail != "stopped from the dashboard" {
		t.Errorf("the server's run: %+v", d)
	}
	var sum report.Summary
	get(t, api+"/summary", "s3cret", &sum)
	if sum.Totals.Requests != mine.Totals.Requests {
		t.Errorf("server summary: %d requests; local: %d", sum.Totals.Requests, mine.Totals.Requests)
	}
	// An ended run takes no more control.
	if status, _ := send(t, "PATCH", api, "s3cret", map[string]any{"rate": 5}); status != http.StatusConflict {
		t.Errorf("PATCH of the ended run: %d, want 409", status)
	}
}

// A recorded run stopped by Ctrl-C is recorded as stopped, with the
// signal as its reason, and exits 130 as before.
func TestInterruptedRecordedRunIsStopped(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	s := startSurgeServer(t, nil, "--data", t.TempDir(), "--secret", "s3cret")
	out := &syncBuffer{}
	sig := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(context.Background(), cli.Env{
			Args:   []string{"run", "-q", "-u", tb.URL() + "/api/items", "--rate", "20", "--duration", "30s", "--server", s.url, "--secret", "s3cret"},
			Stdout: out, Stderr: out, Signals: sig,
		})
	}()
	waitUntil(t, "the first requests", 10*time.Second, func() bool { return tb.Count() > 5 })
	sig <- os.Interrupt
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the CLI did not stop:\n%s", out.String())
	}
	if cli.ExitCode(err) != cli.ExitInterrupted {
		t.Errorf("CLI ended with %v (exit %d), want 130", err, cli.ExitCode(err))
	}
	var list struct{ Runs []struct{ ID, Status string } }
	get(t, s.url+"/api/v1/runs", "s3cret", &list)
	if len(list.Runs) != 1 || list.Runs[0].Status != "stopped" {
		t.Fatalf("runs: %+v, want one stopped", list.Runs)
	}
	var sum report.Summary
	get(t, s.url+"/api/v1/runs/"+list.Runs[0].ID+"/summary", "s3cret", &sum)
	if sum.Run.Status != "stopped" || sum.Totals.Requests != tb.Count() {
		t.Errorf("server summary: status %q, %d requests; the target received %d", sum.Run.Status, sum.Totals.Requests, tb.Count())
	}
}
