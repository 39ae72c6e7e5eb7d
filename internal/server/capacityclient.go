package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/capacity"
	"github.com/surgeload/surge/internal/scenario"
)

// CapacityStart is what `surge capacity --server URL` asks of a server: a
// capacity search of plan (built and validated by the CLI; its load is the
// search's), in the server's process or on its agents.
type CapacityStart struct {
	Plan      scenario.Plan
	SLO       []string      // the objectives, as given
	Start     float64       // first rate, /s
	Max       float64       // highest rate, /s
	Step      time.Duration // each step: a third settles, the rest is judged
	Precision float64       // 0: the server's default
	Probe     string        // a health endpoint the server samples; "" none
	// LinkBytesPerSec is the monitored host's link speed; 0: from its monitor.
	LinkBytesPerSec float64
	// Agents, AgentLabels and OnAgentLoss pick connected agents, as
	// RemoteStart does; none: the server runs the search itself.
	Agents      int
	AgentLabels map[string]string
	OnAgentLoss string
}

// RemoteCapacity is a capacity search this process started on a server
// and follows. Its ID, URL and Stop are the run's.
type RemoteCapacity struct {
	*RemoteRun
}

// CapacityProgress is one finished step of a remote search, as its live
// stream tells it.
type CapacityProgress struct {
	Index int // its place in the result's steps, from 0
	Step  capacity.Step
	Left  time.Duration // the search's estimate of the time left
}

// StartCapacity starts cs on the server at baseURL and returns the search
// to follow. It fails, before any load is sent, when the server cannot be
// reached, refuses the secret or the search, has too few agents, or runs
// something else.
func StartCapacity(ctx context.Context, baseURL, secret string, cs CapacityStart) (*RemoteCapacity, error) {
	r := &RemoteCapacity{&RemoteRun{base: strings.TrimRight(baseURL, "/"), secret: secret, client: &http.Client{}}}
	wire, err := scenario.ToWire(cs.Plan)
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	req := struct {
		scenario.WirePlan
		SLO         []string          `json:"slo"`
		Start       float64           `json:"start,omitempty"`
		Max         float64           `json:"max,omitempty"`
		Step        string            `json:"step,omitempty"`
		Precision   float64           `json:"precision,omitempty"`
		Probe       string            `json:"probe,omitempty"`
		Link        float64           `json:"link_bytes_per_s,omitempty"`
		Agents      int               `json:"agents,omitempty"`
		AgentLabels map[string]string `json:"agent_labels,omitempty"`
		OnAgentLoss string            `json:"on_agent_loss,omitempty"`
	}{wire, cs.SLO, cs.Start, cs.Max, "", cs.Precision, cs.Probe, cs.LinkBytesPerSec, cs.Agents, cs.AgentLabels, cs.OnAgentLoss}
	if cs.Step > 0 {
		req.Step = cs.Step.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the search: %w", err)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := r.do(ctx, http.MethodPost, "/api/v1/capacity", body, &created); err != nil {
		return nil, fmt.Errorf("starting the capacity search on %s: %w", r.base, err)
	}
	if created.ID == "" {
		return nil, fmt.Errorf("starting the capacity search on %s: the answer has no run id", r.base)
	}
	r.id = created.ID
	return r, nil
}

// Follow calls each with every step of the search, in order, until the
// search ends or ctx is done. A dropped stream is reopened; the steps the
// state it starts with holds are passed on once.
func (r *RemoteCapacity) Follow(ctx context.Context, each func(CapacityProgress)) error {
	seen := 0 // steps passed on
	pass := func(p CapacityProgress) {
		if p.Index == seen {
			seen++
			each(p)
		}
	}
	// steps passes on the steps of a state or an end: those the stream
	// did not send one by one.
	steps := func(ev capacityEvent) {
		if ev.Capacity == nil {
			return
		}
		for i, s := range ev.Capacity.Steps {
			pass(CapacityProgress{Index: i, Step: s})
		}
	}
	return r.followEvents(ctx, "capacity search "+r.id, func(name string, data []byte) (bool, error) {
		if name != "state" && name != "step" && name != "end" {
			return false, nil // intervals: the step lines say what a search needs
		}
		var ev capacityEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return false, fmt.Errorf("reading the %s event: %w", name, err)
		}
		switch name {
		case "step":
			pass(CapacityProgress{Index: ev.Index, Step: ev.Step, Left: time.Duration(ev.LeftS * float64(time.Second))})
		case "state":
			steps(ev)
			return runEnded(ev.Run.Status), nil
		case "end":
			steps(ev)
			return true, nil
		}
		return false, nil
	})
}

// capacityEvent is what Follow reads of "state", "step" and "end".
type capacityEvent struct {
	Run struct {
		Status string `json:"status"`
	} `json:"run"`
	Index    int           `json:"index"`
	Step     capacity.Step `json:"step"`
	LeftS    float64       `json:"left_s"`
	Capacity *struct {
		Steps []capacity.Step `json:"steps"`
	} `json:"capacity"`
}

// Result is the search's surge.capacity/v1 result as the server keeps it,
// and the run's status (finished, stopped, failed, interrupted, or running
// with the steps so far).
func (r *RemoteCapacity) Result(ctx context.Context) (*capacity.Result, string, error) {
	var s struct {
		capacity.Result
		Status string `json:"status"`
	}
	if err := r.do(ctx, http.MethodGet, "/api/v1/runs/"+r.id+"/summary", nil, &s); err != nil {
		return nil, "", fmt.Errorf("reading the result of capacity search %s: %w", r.id, err)
	}
	if s.Schema != capacity.Schema {
		return nil, "", fmt.Errorf("reading the result of capacity search %s: schema %q, want %s (is the server's surge older?)", r.id, s.Schema, capacity.Schema)
	}
	return &s.Result, s.Status, nil
}
