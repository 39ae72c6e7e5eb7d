package remote

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/surgeload/surge/internal/agent/agentpb"
	"github.com/surgeload/surge/internal/agent/agentpb/agentpbconnect"
)

func TestTooFewErrorSaysWhatIsThere(t *testing.T) {
	for _, c := range []struct {
		e    TooFewError
		want string
	}{
		{TooFewError{Want: 3, Idle: 2, Connected: 4}, "3 agents asked for, but 2 agents are idle (of 4 connected)"},
		{TooFewError{Want: 1, Idle: 0, Connected: 0}, "1 agent asked for, but 0 agents are idle (of 0 connected)"},
		{TooFewError{Want: 2, Idle: 1, Connected: 3, Labels: map[string]string{"zone": "eu", "disk": "ssd"}},
			"2 agents asked for, but 1 agent is idle with labels disk=ssd,zone=eu (of 3 connected)"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

// Acquire with n == 0 takes every idle agent that matches, in name order.
func TestAcquireEveryMatchingAgent(t *testing.T) {
	srv := startServer(t, RegistryOptions{})
	for _, name := range []string{"b2", "a1", "c3"} {
		zone := "eu"
		if name == "c3" {
			zone = "us"
		}
		startWorker(t, WorkerOptions{Server: srv.url, Token: srv.token, Name: name, Labels: map[string]string{"zone": zone}})
	}
	waitIdle(t, srv.reg, 3)
	as, err := srv.reg.Acquire("r", 0, map[string]string{"zone": "eu"})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[0].Name() != "a1" || as[1].Name() != "b2" {
		t.Fatalf("Acquire(0, zone=eu) = %v, want a1 and b2 in that order", names(as))
	}
	srv.reg.Release(as)
	as, err = srv.reg.Acquire("r2", 3, nil)
	if err != nil || as[0].Name() != "a1" || as[1].Name() != "b2" || as[2].Name() != "c3" {
		t.Fatalf("Acquire(3) = %v, %v: want a1, b2, c3", names(as), err)
	}
	srv.reg.Release(as)
	if _, err := srv.reg.Acquire("r3", 0, map[string]string{"zone": "mars"}); err == nil {
		t.Error("Acquire(0) with no agent matching succeeded")
	}
}

func names(as []*Agent) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name()
	}
	return out
}

// Lost agents stay listed for lostRetention, then are forgotten.
func TestLostAgentsAreForgottenLater(t *testing.T) {
	r := NewRegistry(RegistryOptions{})
	now := time.Now()
	r.agents["old"] = &conn{reg: r, name: "old", state: StateLost, lastSeen: now.Add(-lostRetention - time.Second)}
	r.agents["recent"] = &conn{reg: r, name: "recent", state: StateLost, lastSeen: now.Add(-lostRetention + time.Minute)}
	r.agents["idle"] = &conn{reg: r, name: "idle", state: StateIdle, lastSeen: now.Add(-lostRetention - time.Hour)}
	got := r.List()
	if len(got) != 2 || got[0].Name != "idle" || got[1].Name != "recent" {
		t.Errorf("listed %+v, want idle and recent", got)
	}
}

func TestValidName(t *testing.T) {
	long := strings.Repeat("a", maxName)
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"lg-1", true}, {"LG_2.eu", true}, {"a", true}, {"0", true}, {"z", true}, {"Z", true}, {"9", true},
		{long, true}, {long + "a", false}, {"", false}, {"a b", false}, {"a/b", false}, {"ä", false},
		{"a:b", false}, {"@", false}, {"[", false}, {"`", false}, {"{", false},
	} {
		if got := validName(c.s); got != c.ok {
			t.Errorf("validName(%q) = %v, want %v", c.s, got, c.ok)
		}
	}
}

func TestRegisterRefusesBadHellos(t *testing.T) {
	labels := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "v"
		}
		return m
	}
	for _, c := range []struct {
		name   string
		hello  *agentpb.Hello
		reason agentpb.Refused_Reason
		msg    string
	}{
		{"no hello", nil, agentpb.Refused_REASON_BAD_HELLO, "must be its Hello"},
		{"other version", &agentpb.Hello{Name: "a", Version: "v9"}, agentpb.Refused_REASON_VERSION, "agent version v9 does not match server version v1"},
		{"bad name", &agentpb.Hello{Name: "a b", Version: "v1"}, agentpb.Refused_REASON_BAD_HELLO, `agent name "a b"`},
		{"too many labels", &agentpb.Hello{Name: "a", Version: "v1", Labels: labels(maxLabels + 1)}, agentpb.Refused_REASON_BAD_HELLO, "65 labels"},
		{"bad label key", &agentpb.Hello{Name: "a", Version: "v1", Labels: map[string]string{"a b": "v"}}, agentpb.Refused_REASON_BAD_HELLO, `label "a b"`},
		{"long label value", &agentpb.Hello{Name: "a", Version: "v1", Labels: map[string]string{"k": strings.Repeat("v", maxLabelValue+1)}}, agentpb.Refused_REASON_BAD_HELLO, "at most 256 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewRegistry(RegistryOptions{Version: "v1"})
			got, refused := r.register(c.hello, "127.0.0.1:1", func(error) {})
			if got != nil || refused == nil || refused.GetReason() != c.reason || !strings.Contains(refused.GetMessage(), c.msg) {
				t.Errorf("register: %v, %v; want refused %v saying %q", got, refused, c.reason, c.msg)
			}
		})
	}
	r := NewRegistry(RegistryOptions{Version: "v1", MaxAgents: 1})
	ok := &agentpb.Hello{Name: "a", Version: "v1", Labels: labels(maxLabels)}
	ok.Labels["k0"] = strings.Repeat("v", maxLabelValue)
	if c, refused := r.register(ok, "127.0.0.1:1", func(error) {}); c == nil {
		t.Fatalf("a Hello at every bound was refused: %v", refused)
	}
	if _, refused := r.register(&agentpb.Hello{Name: "a", Version: "v1"}, "127.0.0.1:2", func(error) {}); refused.GetReason() != agentpb.Refused_REASON_NAME_TAKEN {
		t.Errorf("a second agent named a: %v, want name taken", refused)
	}
	if _, refused := r.register(&agentpb.Hello{Name: "b", Version: "v1"}, "127.0.0.1:3", func(error) {}); refused.GetReason() != agentpb.Refused_REASON_FULL {
		t.Errorf("an agent past MaxAgents: %v, want full", refused)
	}
}

// An agent still measuring its clock has the hello timeout, not 3
// heartbeats, to become ready.
func TestConnectingAgentHasTheHelloTimeout(t *testing.T) {
	const hb = 50 * time.Millisecond
	srv := startServer(t, RegistryOptions{Heartbeat: hb})
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	client := agentpbconnect.NewAgentServiceClient(&http.Client{Transport: &http.Transport{Protocols: &protos}}, srv.url, connect.WithGRPC())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := client.Connect(ctx)
	st.RequestHeader().Set("Authorization", "Bearer "+srv.token)
	if err := st.Send(&agentpb.AgentMessage{Msg: &agentpb.AgentMessage_Hello{Hello: &agentpb.Hello{Name: "slow", Version: testVersion}}}); err != nil {
		t.Fatal(err)
	}
	if m, err := st.Receive(); err != nil || m.GetWelcome() == nil {
		t.Fatalf("no welcome: %v %v", m, err)
	}
	time.Sleep(10 * hb) // well past 3 heartbeats, well within the hello timeout
	if got := srv.reg.List(); len(got) != 1 || got[0].State != StateConnecting {
		t.Errorf("a connecting agent after %v: %+v, want still connecting", 10*hb, got)
	}
}
