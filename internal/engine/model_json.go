package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Plans are stored and served as JSON in the words of the CLI and of
// scenario files: "model": "open", durations like "1m30s". Plans written
// before (a model as 0 or 1, durations as nanoseconds, stages with
// "Duration"/"Target" keys) still read: users' run histories hold them.

// MarshalText writes "open" or "closed".
func (m Model) MarshalText() ([]byte, error) {
	switch m {
	case Open, Closed:
		return []byte(m.String()), nil
	}
	return nil, fmt.Errorf("unknown load model %d", int(m))
}

// UnmarshalText reads "open" or "closed".
func (m *Model) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "open":
		*m = Open
	case "closed":
		*m = Closed
	default:
		return fmt.Errorf("unknown load model %q: want open or closed", b)
	}
	return nil
}

// UnmarshalJSON reads "open" or "closed", or the numbers older plans hold
// (0 closed, 1 open).
func (m *Model) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return m.UnmarshalText([]byte(s))
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || (Model(n) != Open && Model(n) != Closed) {
		return fmt.Errorf("unknown load model %s: want \"open\" or \"closed\"", b)
	}
	*m = Model(n)
	return nil
}

// Duration is a time.Duration that marshals as its text ("1m30s") and
// reads that, or a number of nanoseconds as older JSON holds.
type Duration time.Duration

// MarshalJSON writes the duration as text, e.g. "20s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "20s" or 20000000000.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("bad duration %q: want e.g. \"30s\" or \"1m30s\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("bad duration %s: want e.g. \"30s\"", b)
	}
	*d = Duration(n)
	return nil
}

// stageJSON is a Stage on the wire: {"duration": "5s", "target": 200}.
type stageJSON struct {
	Duration Duration `json:"duration"`
	Target   float64  `json:"target"`
}

// MarshalJSON writes {"duration": "5s", "target": 200}.
func (s Stage) MarshalJSON() ([]byte, error) {
	return json.Marshal(stageJSON{Duration(s.Duration), s.Target})
}

// UnmarshalJSON reads the form MarshalJSON writes, and the older
// {"Duration": 5000000000, "Target": 200} (keys match in any case).
func (s *Stage) UnmarshalJSON(b []byte) error {
	var j stageJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	*s = Stage{Duration: time.Duration(j.Duration), Target: j.Target}
	return nil
}
