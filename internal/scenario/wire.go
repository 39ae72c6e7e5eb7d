package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// A plan travels — from `surge run --server URL --agents N` to the server,
// from the server to its agents — whole: its JSON carries the data rows
// and the bodies read from files, and the wire form adds what a plan's
// JSON leaves out so that stored plans never hold it: the values of the
// environment variables its templates read ({{env.NAME}}) and the monitors'
// tokens. The receiver needs no local copy of any file or variable.
type WirePlan struct {
	Plan          json.RawMessage   `json:"plan,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	MonitorTokens map[string]string `json:"monitor_tokens,omitempty"` // by monitor name
}

// MaxWirePlan bounds a plan's JSON in its wire form (the env values and
// tokens beside it have maxWireExtra more): its receiver decodes it in memory,
// and a server hands a copy to every agent. A local run may read more (64
// MiB per data file or body file); a plan that travels carries at most
// this much in all (docs/limits.md).
const MaxWirePlan = 32 << 20

// maxWireExtra bounds what travels beside the plan's JSON: env values and
// monitor tokens, a few short strings.
const maxWireExtra = 1 << 20

// EncodeWire encodes p to travel to a server or an agent.
func EncodeWire(p Plan) ([]byte, error) {
	w, err := ToWire(p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// ToWire is p in its wire form.
func ToWire(p Plan) (WirePlan, error) {
	pj, err := json.Marshal(p)
	if err != nil {
		return WirePlan{}, fmt.Errorf("encoding the plan: %w", err)
	}
	if len(pj) > MaxWirePlan {
		return WirePlan{}, fmt.Errorf("the plan with its data rows and bodies is %.1f MiB: at most %d MiB travel to a server or an agent (docs/limits.md)", float64(len(pj))/(1<<20), MaxWirePlan>>20)
	}
	w := WirePlan{Plan: pj}
	for _, name := range p.EnvNames() {
		if v, ok := p.Env[name]; ok {
			if w.Env == nil {
				w.Env = map[string]string{}
			}
			w.Env[name] = v
		}
	}
	for _, m := range p.Monitors {
		if m.Token != "" {
			if w.MonitorTokens == nil {
				w.MonitorTokens = map[string]string{}
			}
			w.MonitorTokens[m.Name] = m.Token
		}
	}
	return w, nil
}

// DecodeWire decodes and validates a plan encoded by EncodeWire (see
// WirePlan.Decode); it refuses unknown fields and input over MaxWirePlan.
func DecodeWire(b []byte) (Plan, error) {
	if len(b) > MaxWirePlan+maxWireExtra {
		return Plan{}, fmt.Errorf("plan: %d bytes is over the limit of %d MiB", len(b), (MaxWirePlan+maxWireExtra)>>20)
	}
	var w WirePlan
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Plan{}, fmt.Errorf("plan: %w", err)
	}
	return w.Decode()
}

// Decode validates the plan w carries and returns it with its env values
// and monitor tokens. It trusts nothing: the plan is validated as a
// scenario file is, and its problems are returned under their field
// paths (Problems).
func (w WirePlan) Decode() (Plan, error) {
	if len(bytes.TrimSpace(w.Plan)) == 0 || bytes.Equal(bytes.TrimSpace(w.Plan), []byte("null")) {
		return Plan{}, fmt.Errorf("plan: missing")
	}
	if len(w.Plan) > MaxWirePlan {
		return Plan{}, fmt.Errorf("plan: %d bytes is over the limit of %d MiB", len(w.Plan), MaxWirePlan>>20)
	}
	var p Plan
	if err := json.Unmarshal(w.Plan, &p); err != nil {
		return Plan{}, fmt.Errorf("plan: %w", err)
	}
	if len(w.Env) > 0 {
		p.Env = w.Env
	}
	for i := range p.Monitors {
		if t, ok := w.MonitorTokens[p.Monitors[i].Name]; ok {
			p.Monitors[i].Token = t
		}
	}
	if p.Env == nil {
		p.Env = map[string]string{}
	}
	// Validate refuses an {{env.NAME}} whose value did not come with it.
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	return p, nil
}
