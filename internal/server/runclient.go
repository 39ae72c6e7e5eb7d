package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/scenario"
)

// Limits of a RemoteRun's reading of the server's answers.
const (
	// remoteAnswerMax bounds one JSON answer (a run's summary with its
	// timeline: a few hundred bytes per interval, so hours of intervals).
	remoteAnswerMax = 64 << 20
	// remoteEventMax bounds one line of the live event stream (an interval
	// with the summary so far).
	remoteEventMax = 16 << 20
	// remoteRequestTimeout bounds every request but the event stream.
	remoteRequestTimeout = 30 * time.Second
)

// RemoteStart is what `surge run --server URL --agents N` asks of a
// server: run plan, built and validated by the CLI, on N of the agents
// connected to the server (those with every label of AgentLabels).
type RemoteStart struct {
	Plan        scenario.Plan
	Agents      int
	AgentLabels map[string]string
	OnAgentLoss string // rebalance (""), continue or abort
}

// RemoteRun is a run this process started on a server and follows.
type RemoteRun struct {
	base, secret string
	client       *http.Client // no timeout: the event stream lasts the run
	id           string
}

// StartRemote starts s on the server at baseURL and returns the run to
// follow. It fails, before any load is sent, when the server cannot be
// reached, refuses the secret or the plan, or has too few agents.
func StartRemote(ctx context.Context, baseURL, secret string, s RemoteStart) (*RemoteRun, error) {
	r := &RemoteRun{base: strings.TrimRight(baseURL, "/"), secret: secret, client: &http.Client{}}
	body, err := remoteStartBody(s)
	if err != nil {
		return nil, err
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := r.do(ctx, http.MethodPost, "/api/v1/runs", body, &created); err != nil {
		return nil, fmt.Errorf("starting the run on %s: %w", r.base, err)
	}
	if created.ID == "" {
		return nil, fmt.Errorf("starting the run on %s: the answer has no run id", r.base)
	}
	r.id = created.ID
	return r, nil
}

// remoteStartBody is the start request of POST /api/v1/runs for s: the
// whole plan (data rows, bodies read from files, the values of the
// {{env.*}} it reads and monitor tokens travel with it).
func remoteStartBody(s RemoteStart) ([]byte, error) {
	wire, err := scenario.ToWire(s.Plan)
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	return json.Marshal(struct {
		scenario.WirePlan
		Agents      int               `json:"agents,omitempty"`
		AgentLabels map[string]string `json:"agent_labels,omitempty"`
		OnAgentLoss string            `json:"on_agent_loss,omitempty"`
	}{wire, s.Agents, s.AgentLabels, s.OnAgentLoss})
}

// ID is the run's id on the server.
func (r *RemoteRun) ID() string { return r.id }

// URL is the run's page in the server's dashboard.
func (r *RemoteRun) URL() string { return r.base + "/#/runs/" + r.id }

// Follow streams the run's live intervals to each until the run ends or ctx
// is done. A dropped stream is reopened (the server starts it again with
// the run's state, whose intervals each has seen are not repeated).
func (r *RemoteRun) Follow(ctx context.Context, each func(Interval)) error {
	seen := -1
	return r.followEvents(ctx, "run "+r.id, func(name string, data []byte) (bool, error) {
		switch name {
		case "interval":
			var iv Interval
			if err := json.Unmarshal(data, &iv); err != nil {
				return false, fmt.Errorf("reading an interval: %w", err)
			}
			if iv.Seq > seen {
				seen = iv.Seq
				each(iv)
			}
		case "end":
			return true, nil
		case "state":
			var st struct {
				Run struct {
					Status string `json:"status"`
				} `json:"run"`
			}
			if err := json.Unmarshal(data, &st); err == nil && runEnded(st.Run.Status) {
				return true, nil
			}
		}
		return false, nil
	})
}

// Stop asks the server to stop the run gracefully, as Ctrl-C stops a
// local one; it returns once the server has answered.
func (r *RemoteRun) Stop(ctx context.Context) error {
	if err := r.do(ctx, http.MethodPost, "/api/v1/runs/"+r.id+"/stop", nil, nil); err != nil {
		return fmt.Errorf("stopping run %s: %w", r.id, err)
	}
	return nil
}

// Status is the run's status on the server (running, passed, failed, …)
// and, for a failed run, what failed.
func (r *RemoteRun) Status(ctx context.Context) (status, failure string, err error) {
	var d struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := r.do(ctx, http.MethodGet, "/api/v1/runs/"+r.id, nil, &d); err != nil {
		return "", "", fmt.Errorf("reading run %s: %w", r.id, err)
	}
	return d.Status, d.Error, nil
}

// Summary is the run's summary, built by the server from the run's merged
// snapshots exactly as `surge run` builds a local run's.
func (r *RemoteRun) Summary(ctx context.Context) (report.Summary, error) {
	var s report.Summary
	if err := r.do(ctx, http.MethodGet, "/api/v1/runs/"+r.id+"/summary", nil, &s); err != nil {
		return s, fmt.Errorf("reading the summary of run %s: %w", r.id, err)
	}
	return s, nil
}

func (r *RemoteRun) auth(req *http.Request) {
	if r.secret != "" {
		req.Header.Set("Authorization", "Bearer "+r.secret)
	}
}

func (r *RemoteRun) do(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, remoteRequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r.auth(req)
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return answerError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, remoteAnswerMax+1))
	if err != nil {
		return err
	}
	if len(data) > remoteAnswerMax {
		return fmt.Errorf("the server's answer is over %d MiB", remoteAnswerMax>>20)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("reading the server's answer: %w", err)
		}
	}
	return nil
}

// answerError is the error a non-2xx answer carries, in the server's
// words (a 400's "error" names every field at fault).
func answerError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e errorBody
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	if resp.StatusCode == http.StatusUnauthorized {
		e.Error += " (give the server's secret with --secret or SURGE_SECRET)"
	}
	return &statusError{status: resp.StatusCode, msg: e.Error}
}
