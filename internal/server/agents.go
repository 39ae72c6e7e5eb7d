package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/agent/remote"
	"github.com/surgeload/surge/internal/controller"
)

// AgentOptions configure the endpoint remote agents (`surge agent`)
// connect to. The zero value turns every agent away.
type AgentOptions struct {
	// Token is the agent token agents must present; "" admits none. It
	// is not the access secret: an agent can run load, not read or steer
	// the server's runs.
	Token string
	// Version is the server's Surge version; an agent of another version
	// is refused with a message naming both.
	Version string
	// Heartbeat is how often agents send a heartbeat; one silent for 3 of
	// them (or 3 snapshot intervals in a run) is lost. 0: 1 s.
	Heartbeat time.Duration
}

// shutdownAgentsWait bounds how long a shutting-down server keeps its
// agents' streams for the running run to stop and be recorded.
const shutdownAgentsWait = time.Minute

// maxRunAgents bounds "agents" in a start request: as many as one server
// keeps.
const maxRunAgents = remote.DefaultMaxAgents

// agentHub is the server's side of its agents: the token check, the
// limit on wrong tokens and the registry of connected agents.
type agentHub struct {
	tokenHash [32]byte
	hasToken  bool
	limit     *limiter
	reg       *remote.Registry
}

func newAgentHub(s *Server) *agentHub {
	o := s.opts.Agents
	h := &agentHub{
		limit: newLimiter(authFailures, authWindow),
		reg:   remote.NewRegistry(remote.RegistryOptions{Version: o.Version, Heartbeat: o.Heartbeat, Logger: s.log}),
	}
	if o.Token != "" {
		h.tokenHash, h.hasToken = sha256.Sum256([]byte(o.Token)), true
	}
	go func() {
		// Agents' streams last; a shutdown ends them, so that the
		// listener's graceful close does not wait for them. The running
		// run is stopped first (Close), and its agents send their last
		// intervals: their streams end after it.
		<-s.base.Done()
		s.mu.Lock()
		a := s.active
		s.mu.Unlock()
		if a != nil {
			select {
			case <-a.done:
			case <-time.After(shutdownAgentsWait):
			}
		}
		h.reg.Close()
	}()
	return h
}

// checkToken compares in constant time (hashing first hides the length).
func (h *agentHub) checkToken(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	return h.hasToken && subtle.ConstantTimeCompare(sum[:], h.tokenHash[:]) == 1
}

// agentRoutes adds the agents' stream and GET /api/v1/agents to m.
func (s *Server) agentRoutes(m *http.ServeMux) {
	path, h := s.agents.reg.Handler()
	m.Handle(path, s.requireAgentToken(h))
	m.HandleFunc("GET /api/v1/agents", s.require(s.handleAgents))
}

// requireAgentToken admits requests carrying the agent token as a bearer
// token. Wrong tokens count against the client's attempts as wrong
// secrets do (a limiter of their own: a mistyped agent token does not
// lock the dashboard out). Errors are answered in the agent's protocol,
// so the agent can say what was wrong.
func (s *Server) requireAgentToken(h http.Handler) http.Handler {
	ew := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, now := clientOf(r, s.opts.TrustProxy), time.Now()
		ok, retry := s.agents.limit.begin(client, now)
		if !ok {
			secs := max(int((retry+time.Second-1)/time.Second), 1)
			_ = ew.Write(w, r, connect.NewError(connect.CodeResourceExhausted,
				errors.New("too many wrong agent tokens from this address: wait "+strconv.Itoa(secs)+"s")))
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !s.agents.checkToken(strings.TrimSpace(tok)) {
			msg := "wrong agent token: give the agent the server's agent token (its --agent-token or SURGE_AGENT_TOKEN; a generated one is printed at the server's first start and kept in its data directory, file agent-token)"
			if !s.agents.hasToken {
				msg = "this server takes no agents: it has no agent token"
			}
			_ = ew.Write(w, r, connect.NewError(connect.CodeUnauthenticated, errors.New(msg)))
			return
		}
		s.agents.limit.succeeded(client, now)
		trusted(w) // the stream lasts as long as the agent is connected
		h.ServeHTTP(w, r)
	})
}

// handleAgents: GET /api/v1/agents
func (s *Server) handleAgents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"agents": s.agents.reg.List()})
}

// agentPick is which agents a start request asks for.
type agentPick struct {
	on     bool              // the run goes to agents
	n      int               // how many; 0 (with labels): every idle agent that has them
	labels map[string]string // every one must match
	onLoss controller.LossPolicy
}

// agentPick reads the request's agents, agent_labels and on_agent_loss.
func (q *startRequest) agentPick() (agentPick, error) {
	var p agentPick
	if q.Agents != nil {
		if n := *q.Agents; n < 1 || n > maxRunAgents {
			return p, badRequest("agents", "agents: want 1 to %d agents, got %d", maxRunAgents, n)
		}
		p.on, p.n = true, *q.Agents
	}
	if len(q.AgentLabels) > 0 {
		p.on, p.labels = true, q.AgentLabels
	}
	if q.OnAgentLoss != "" && !p.on {
		return p, badRequest("on_agent_loss", "on_agent_loss is for runs on agents: give agents or agent_labels too")
	}
	policy, err := controller.ParseLossPolicy(q.OnAgentLoss)
	if err != nil {
		return p, badRequest("on_agent_loss", "on_agent_loss: %v", err)
	}
	p.onLoss = policy
	return p, nil
}

// acquireAgents reserves the agents pick asks for, for run id. Without a
// pick the run is local: no agents, and the server's own cores. release
// gives the agents back; call it once the run has ended.
func (s *Server) acquireAgents(id string, pick agentPick) (agents []agent.Agent, cores int, release func(), err error) {
	if !pick.on {
		return nil, s.cores, func() {}, nil
	}
	as, err := s.agents.reg.Acquire(id, pick.n, pick.labels)
	if err != nil {
		var few *remote.TooFewError
		if errors.As(err, &few) {
			return nil, 0, nil, &apiError{Status: http.StatusConflict, Field: "agents", Msg: "too few agents for this run: " + few.Error()}
		}
		return nil, 0, nil, fmt.Errorf("reserving agents: %w", err)
	}
	agents = make([]agent.Agent, len(as))
	for i, a := range as {
		agents[i] = a
		cores += a.Cores()
	}
	return agents, cores, func() { s.agents.reg.Release(as) }, nil
}
