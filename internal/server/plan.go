package server

import (
	"encoding/json"

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
