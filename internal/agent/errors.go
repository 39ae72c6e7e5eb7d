package agent

import "errors"

// ErrLost is returned (wrapped) by an Agent's Run when the agent stopped
// answering mid-run: a dead process, a hung host, a cut network. The
// controller marks the agent lost and applies the run's loss policy; what
// the agent sent before it was lost is kept.
var ErrLost = errors.New("agent lost")
