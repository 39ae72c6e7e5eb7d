package scenario

import (
	"encoding/json"
	"time"

	"github.com/surgeload/surge/internal/engine"
)

// A plan's JSON speaks the words of scenario files and the CLI: the model
// as "open" or "closed" (engine.Model), stages as [{"duration": "5s",
// "target": 200}] (engine.Stage), and every duration as text ("20s",
// "1m30s"). Plans written before this form (a model as a number,
// durations as nanoseconds) still read: run histories keep them.
//
// Each method below marshals through an alias of its type (which has the
// fields but not the methods, so it does not recurse) embedded in a struct
// whose own engine.Duration fields, of the same JSON names, shadow the
// durations (a shallower field wins). Fields added to
// the types later marshal as their tags say, with nothing to change here.

// MarshalJSON implements json.Marshaler.
func (p Plan) MarshalJSON() ([]byte, error) {
	type alias Plan
	return json.Marshal(struct {
		alias
		Timeout engine.Duration `json:"timeout"`
	}{alias(p), engine.Duration(p.Timeout)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type alias Plan
	aux := struct {
		*alias
		Timeout engine.Duration `json:"timeout"`
	}{(*alias)(p), engine.Duration(p.Timeout)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.Timeout = time.Duration(aux.Timeout)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (l Load) MarshalJSON() ([]byte, error) {
	type alias Load
	return json.Marshal(struct {
		alias
		Duration engine.Duration `json:"duration,omitempty"`
	}{alias(l), engine.Duration(l.Duration)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *Load) UnmarshalJSON(b []byte) error {
	type alias Load
	aux := struct {
		*alias
		Duration engine.Duration `json:"duration,omitempty"`
	}{(*alias)(l), engine.Duration(l.Duration)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	l.Duration = time.Duration(aux.Duration)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (s Step) MarshalJSON() ([]byte, error) {
	type alias Step
	return json.Marshal(struct {
		alias
		Timeout  engine.Duration `json:"timeout,omitempty"`
		Think    engine.Duration `json:"think,omitempty"`
		ThinkMax engine.Duration `json:"think_max,omitempty"`
		Every    engine.Duration `json:"every,omitempty"`
		Within   engine.Duration `json:"within,omitempty"`
	}{alias(s), engine.Duration(s.Timeout), engine.Duration(s.Think), engine.Duration(s.ThinkMax),
		engine.Duration(s.Every), engine.Duration(s.Within)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *Step) UnmarshalJSON(b []byte) error {
	type alias Step
	aux := struct {
		*alias
		Timeout  engine.Duration `json:"timeout,omitempty"`
		Think    engine.Duration `json:"think,omitempty"`
		ThinkMax engine.Duration `json:"think_max,omitempty"`
		Every    engine.Duration `json:"every,omitempty"`
		Within   engine.Duration `json:"within,omitempty"`
	}{(*alias)(s), engine.Duration(s.Timeout), engine.Duration(s.Think), engine.Duration(s.ThinkMax),
		engine.Duration(s.Every), engine.Duration(s.Within)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	s.Timeout, s.Think, s.ThinkMax = time.Duration(aux.Timeout), time.Duration(aux.Think), time.Duration(aux.ThinkMax)
	s.Every, s.Within = time.Duration(aux.Every), time.Duration(aux.Within)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (c Check) MarshalJSON() ([]byte, error) {
	type alias Check
	return json.Marshal(struct {
		alias
		MaxLatency engine.Duration `json:"max_latency,omitempty"`
	}{alias(c), engine.Duration(c.MaxLatency)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Check) UnmarshalJSON(b []byte) error {
	type alias Check
	aux := struct {
		*alias
		MaxLatency engine.Duration `json:"max_latency,omitempty"`
	}{(*alias)(c), engine.Duration(c.MaxLatency)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	c.MaxLatency = time.Duration(aux.MaxLatency)
	return nil
}
