package workload

import (
	"fmt"
	"strings"

	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/template"
)

// The methods a WebSocket step's endpoints are recorded under: its message
// exchanges under WSMethod, the handshake of a socket it opened under
// WSOpenMethod, both with the step's name.
const (
	WSMethod     = scenario.MethodWS
	WSOpenMethod = "WS-OPEN"
)

// compileWS compiles what a WebSocket step sends and waits for (its URL
// and headers are its request, compiled already).
func (c *compiler) compileWS(s *scenario.Step, cs *compiledStep) error {
	c.prog.ws = true
	st := &wsStep{check: -1, keep: KeepBody, within: s.Within, openEndpoint: c.endpoint(s.Name, WSOpenMethod)}
	cs.proto, cs.ws = protoWS, st
	if !s.Check.IsZero() || s.IsPoll() {
		return fmt.Errorf("a WebSocket step waits with expect, not check or until")
	}
	var err error
	switch {
	case len(s.SendJSON) > 0:
		st.send = true
		if st.msgTmpl, err = c.compileJSON(s.SendJSON); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	case s.Send != "":
		st.send = true
		if st.msgTmpl, err = c.compile(s.Send, template.Raw); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
	if st.msgTmpl != nil {
		if m, ok := st.msgTmpl.Static(); ok {
			st.msg, st.msgTmpl = []byte(m), nil
		}
	}
	if !s.Expect.IsZero() {
		if len(s.Expect.Status) > 0 || len(s.Expect.Header) > 0 || s.Expect.MaxLatency > 0 {
			return fmt.Errorf("expect: a message has no status or headers, and the latency is known only once it arrived")
		}
		if st.expect, err = conditions(s.Expect); err != nil {
			return fmt.Errorf("expect: %w", err)
		}
		if st.within <= 0 {
			st.within = cs.timeout
		}
		var words []string
		for _, k := range st.expect {
			words = append(words, k.desc)
		}
		st.desc = "matching " + strings.Join(words, " and ") + " within " + st.within.String()
		st.check = c.checkIndex(s.Name + ": expect " + strings.Join(words, " and ") + " within " + st.within.String())
	}
	if st.exchanges() {
		// A step that only opens its socket records its handshake alone.
		cs.endpoint = c.endpoint(s.Name, WSMethod)
	}
	return nil
}
