package remote

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrRefused is wrapped by a Worker's Run when the server turned the
// agent away for good: a wrong token, another Surge version, a malformed
// registration. Retrying would not help; the agent's configuration must
// change.
var ErrRefused = errors.New("refused by the server")

// TooFewError is Acquire's error when fewer idle agents match than were
// asked for.
type TooFewError struct {
	Want, Idle int               // asked for; idle agents that match
	Connected  int               // every connected agent, whatever its state
	Labels     map[string]string // the labels asked for, if any
}

func (e *TooFewError) Error() string {
	match := "idle"
	if len(e.Labels) > 0 {
		parts := make([]string, 0, len(e.Labels))
		for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
			parts = append(parts, k+"="+e.Labels[k])
		}
		match = "idle with labels " + strings.Join(parts, ",")
	}
	return fmt.Sprintf("%d %s asked for, but %d %s %s (of %d connected)",
		e.Want, plural(e.Want, "agent", "agents"), e.Idle, plural(e.Idle, "agent is", "agents are"), match, e.Connected)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
