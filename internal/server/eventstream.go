package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// followEvents reads the live stream of run r (GET /api/v1/runs/{id}/events,
// server-sent events) and gives each event's name and data to on, until on
// says the run has ended or ctx is done. A stream that drops, or an event
// on cannot read, is reopened up to five times, waiting half a second more
// each time; the server starts a reopened stream with the run's state, so
// on must pass over what it has seen. what names the run in the error.
func (r *RemoteRun) followEvents(ctx context.Context, what string, on func(name string, data []byte) (ended bool, err error)) error {
	for attempt := 0; ; attempt++ {
		ended, err := r.readEvents(ctx, on)
		switch {
		case ended:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case attempt >= 5:
			return fmt.Errorf("following %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
}

// readEvents reads one event stream; ended says on saw the run's end.
func (r *RemoteRun) readEvents(ctx context.Context, on func(name string, data []byte) (bool, error)) (ended bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/api/v1/runs/"+r.id+"/events", nil)
	if err != nil {
		return false, err
	}
	r.auth(req)
	resp, err := r.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, answerError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), remoteEventMax)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if ended, err := on(name, []byte(strings.TrimPrefix(line, "data: "))); ended || err != nil {
				return ended, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, io.ErrUnexpectedEOF
}

// runEnded reads a state event's run status: a run not running has ended.
func runEnded(status string) bool { return status != "running" && status != "" }
