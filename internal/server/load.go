package server

import (
	"encoding/json"

	"github.com/surgeload/surge/internal/scenario"
)

// planLoad reads the load of a stored plan; ok is false when the plan
// cannot be read.
func planLoad(raw json.RawMessage) (l scenario.Load, ok bool) {
	var p struct {
		Load scenario.Load `json:"load"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil {
		return l, false
	}
	return p.Load, true
}
