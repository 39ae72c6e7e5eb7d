package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/scenario"
)

// planJSON is a plan as the history keeps it: everything that describes the
// test, without the bulk it carries to run — data rows (often test
// accounts, possibly megabytes) and bodies read from files — whose size
// are named instead (rows by count, bodies by file name).
func planJSON(p scenario.Plan) (json.RawMessage, error) {
	rows := make([]int, len(p.Data))
	p.Data = append([]scenario.DataSource(nil), p.Data...)
	for i := range p.Data {
		rows[i] = len(p.Data[i].Rows)
		p.Data[i].Rows = nil
	}
	strip := func(steps []scenario.Step) []scenario.Step {
		out := append([]scenario.Step(nil), steps...)
		for i := range out {
			out[i].RawBody = nil // BodyFile still names it
		}
		return out
	}
	p.Setup = strip(p.Setup)
	p.Flows = append([]scenario.Flow(nil), p.Flows...)
	for i := range p.Flows {
		p.Flows[i].Steps = strip(p.Flows[i].Steps)
	}
	b, err := json.Marshal(p)
	if err != nil || len(rows) == 0 {
		return b, err
	}
	// Say how many rows each source had, where the rows were.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if data, ok := m["data"].([]any); ok {
		for i, d := range data {
			if dm, ok := d.(map[string]any); ok && i < len(rows) {
				delete(dm, "rows")
				dm["row_count"] = rows[i]
			}
		}
	}
	return json.Marshal(m)
}

// servedPlan is a stored plan as the API serves it: in the words of the
// scenario files. Plans recorded before plans were written that way (a
// model as 0 or 1, durations in nanoseconds, stages with Go's field names)
// are rewritten; anything else is served as stored.
func servedPlan(raw json.RawMessage) json.RawMessage {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if len(raw) == 0 || dec.Decode(&m) != nil {
		return raw
	}
	load, _ := m["load"].(map[string]any)
	if _, old := load["model"].(json.Number); !old {
		return raw
	}
	dur := func(obj map[string]any, keys ...string) {
		for _, k := range keys {
			if n, ok := obj[k].(json.Number); ok {
				if v, err := n.Int64(); err == nil {
					obj[k] = time.Duration(v).String()
				}
			}
		}
	}
	if n, _ := load["model"].(json.Number); n.String() == "1" {
		load["model"] = engine.Open.String()
	} else {
		load["model"] = engine.Closed.String()
	}
	dur(m, "timeout")
	dur(load, "duration")
	if stages, ok := load["stages"].([]any); ok {
		for i, st := range stages {
			if sm, ok := st.(map[string]any); ok {
				out := map[string]any{}
				for k, v := range sm {
					out[strings.ToLower(k)] = v
				}
				dur(out, "duration")
				stages[i] = out
			}
		}
	}
	steps := func(v any) {
		list, _ := v.([]any)
		for _, s := range list {
			if sm, ok := s.(map[string]any); ok {
				dur(sm, "timeout", "think", "think_max")
				if c, ok := sm["check"].(map[string]any); ok {
					dur(c, "max_latency")
				}
			}
		}
	}
	steps(m["setup"])
	if flows, ok := m["flows"].([]any); ok {
		for _, f := range flows {
			if fm, ok := f.(map[string]any); ok {
				steps(fm["steps"])
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}
