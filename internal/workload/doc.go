// Package workload turns a scenario.Plan's flows into the engine's
// Workload: VUs that run setup once, pick a flow by weight, send its
// requests through the HTTP client, over WebSockets or as gRPC calls,
// pause for think
// time, run checks and extractions, and record every outcome and check.
//
// Compile does all parsing once (URLs, headers, templates, checks, data
// rows), so an iteration only renders templates into requests and sends
// them. Compile's Program is immutable and safe to share; each VU is used
// by one goroutine and keeps its cookie jar, variables and data rows for
// its whole life, across iterations.
//
// Cookies a VU's jar drops by its limits (see protocol/http's Jar) are
// counted with metrics.Recorder.CookiesDropped.
//
// Steps run as a tree compiled once: a step's or a group's if (a
// template.Cond) and repeat are blocks over the flat list of steps the plan
// holds. A poll step (until:) sends its request again, every apart, until
// its conditions hold or within passes; each attempt is recorded as a
// request, and a poll that timed out ends in metrics.PollTimeout.
//
// With WithFlows and WithPolls a Workload also records each flow
// iteration's end-to-end duration (first request to last response, think
// time excluded) and each poll, into metrics.FlowRecorders made with
// Program.Flows and Program.Polls:
//
//	flows := metrics.NewFlowRecorder(prog.Flows())
//	w := prog.Workload(client, rec, workload.WithFlows(flows))
//
// A VU speaks to the target through one session per protocol (protocol.go):
// a session does one step (renders what it sends, sends it, waits for the
// answer), returns the outcome, and fills the VU's response view, which
// the step's checks and extractions then read whatever the protocol. HTTP's
// session is the run's protocol/http Session (cookie jar, keep-alive
// connections); a WebSocket step's is the VU's socket (protocol/ws),
// opened by the first step that needs it, kept across the iteration's
// steps, and closed by a ws_close step, by a failure, or as the iteration
// ends. A message exchange is recorded as a request of the step's endpoint
// under WSMethod, a socket it opened as one under WSOpenMethod (the
// connect time). A gRPC step's session is the VU's connection to the gRPC
// target (protocol/grpc), dialed by its first call and closed when the run
// ends (the engine cancels the VUs' hard context then); each call is a
// request under GRPCMethod, its response message (as protojson) the body
// that checks read. Message types come from the plan's .proto files,
// compiled by Compile, or from the server's reflection, asked once per run
// and method and shared by the VUs.
//
// A VU whose unique data ran out (on_exhausted: stop) ends with an error
// wrapping ErrDataExhausted.
package workload
