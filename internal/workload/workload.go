package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	nethttp "net/http"
	"net/url"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/feeder"
	"github.com/surgeload/surge/internal/grpcschema"
	"github.com/surgeload/surge/internal/metrics"
	surgegrpc "github.com/surgeload/surge/internal/protocol/grpc"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/protocol/ws"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/template"
)

// KeepBody is how much of a response body is kept for checks and
// extraction, for steps that look at the body; the rest is read and
// counted but not kept.
const KeepBody = 1 << 20

// ErrDataExhausted is returned by a VU's Iterate when a unique data source
// with on_exhausted: stop has no row left for it: that VU is done.
var ErrDataExhausted = fmt.Errorf("data source ran out of rows: %w", engine.ErrVUDone)

// Program is a compiled plan.
type Program struct {
	flows     []flow
	weights   []int // cumulative flow weights
	setup     []node
	endpoints []metrics.EndpointKey
	checks    []string
	flowNames []string // Flows(), each once
	pollNames []string // Polls(), each once

	ws         bool   // a step speaks WebSocket: VUs get a socket session
	grpc       bool   // a step is a gRPC call: VUs get a gRPC session
	grpcTarget string // the server gRPC steps call
	insecure   bool   // the plan's TLS verification, for WebSocket's dialer
	// open is the open model: an iteration's first request counts from
	// its due time, and its wait for a VU is its queued phase.
	open bool

	nvars    int
	initVars []template.Value // by slot
	initHas  []bool
	sources  []source
}

type flow struct {
	steps []node
	idx   int // index into Program.flowNames
}

// node is a step, or a block of steps that runs only when cond holds (nil:
// always) and repeat times.
type node struct {
	step   *compiledStep
	cond   *template.CompiledCond
	repeat int
	body   []node
}

type source struct {
	name string
	rows [][]template.Value
	feed *feeder.Feeder
	per  scenario.DataScope
}

type compiledStep struct {
	think, thinkMax time.Duration // a pause when think > 0
	endpoint        int           // index into Program.endpoints
	req             request
	timeout         time.Duration
	keepBody        bool

	checks      []check
	extracts    []extraction
	statusCheck bool // a status check decides whether the status is an error
	soft        bool
	// varChecks are the "STEP: VAR is set" checks of variables this step
	// reads that an extraction may have left unset, by variable name.
	varChecks map[string]int
	// urlCheck is the "STEP: valid URL" check of a step whose URL starts
	// with a variable, so that only a rendered URL can be checked; -1 if none.
	urlCheck int
	poll     *poll // a poll step's until; nil for a plain request

	proto int       // protoHTTP, protoWS or protoGRPC: the VU's session that runs it
	ws    *wsStep   // a WebSocket step's own; nil for HTTP
	grpc  *grpcStep // a gRPC step's own
}

// wsStep is what a WebSocket step does once its socket is open (the
// socket's URL and handshake headers are the step's req).
type wsStep struct {
	close        bool // ws_close: close the VU's socket, nothing else
	send         bool // a message to send: msg, or msgTmpl rendered
	msg          []byte
	msgTmpl      *template.Compiled
	expect       []cond        // wait for a message on which all hold
	desc         string        // "matching json type == \"welcome\" within 2s"
	check        int           // the "STEP: expect … within D" check; -1 without expect
	within       time.Duration // how long to wait for it
	keep         int           // how much of each message is kept for expect and extract
	openEndpoint int           // the endpoint the handshake is recorded under
}

// exchanges reports whether the step sends or awaits a message (rather
// than only opening its socket).
func (w *wsStep) exchanges() bool { return w.send || len(w.expect) > 0 }

// poll is what makes a step poll: it is sent again, every apart, until
// every condition holds or within has passed since its first attempt.
type poll struct {
	until         []cond
	every, within time.Duration
	desc          string // "until json status == \"done\" within 30s"
	check         int    // the "STEP: until … within D" check, once per poll
	idx           int    // index into Program.pollNames
}

// compiler holds what Compile needs while it works.
type compiler struct {
	plan      *scenario.Plan
	base      *url.URL
	slots     map[string]int
	extracted map[string]bool
	prog      *Program
	epIndex   map[metrics.EndpointKey]int
	chIndex   map[string]int
	cache     map[string]*template.Compiled
	protos    *grpcschema.Files // the plan's .proto files, compiled by its first gRPC step
}

// Compile prepares p, which must be valid, for running: every template is
// parsed and bound here, once.
func Compile(p scenario.Plan) (*Program, error) {
	c := &compiler{
		plan: &p, prog: &Program{insecure: p.Insecure, open: p.Load.Model == engine.Open}, slots: map[string]int{}, extracted: map[string]bool{},
		epIndex: map[metrics.EndpointKey]int{}, chIndex: map[string]int{}, cache: map[string]*template.Compiled{},
	}
	if p.Target != "" {
		u, err := url.Parse(p.Target)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		c.base = u
	}
	// A validated plan has flows, each with a positive weight; a plan that
	// came over the wire (a remote agent's segment) is checked here too,
	// since a VU picks among the flows by weight.
	if len(p.Flows) == 0 {
		return nil, fmt.Errorf("the plan has no flows: nothing to send")
	}
	for _, f := range p.Flows {
		if f.Weight <= 0 {
			return nil, fmt.Errorf("flow %q: weight %d: want a positive weight", f.Name, f.Weight)
		}
	}
	prog := c.prog
	for i, name := range p.VarNames() {
		c.slots[name] = i
	}
	prog.nvars = len(c.slots)
	prog.initVars = make([]template.Value, prog.nvars)
	prog.initHas = make([]bool, prog.nvars)
	for _, v := range p.Vars {
		prog.initVars[c.slots[v.Name]] = template.Value{S: v.Value, JSON: v.JSON}
		prog.initHas[c.slots[v.Name]] = true
	}
	for _, s := range append(append([]scenario.Step(nil), p.Setup...), allSteps(p.Flows)...) {
		for _, e := range s.Extract {
			c.extracted[e.Var] = true
		}
	}
	for _, d := range p.Data {
		src := source{name: d.Name, per: d.Per, feed: feeder.New(len(d.Rows), d.Mode, d.OnExhausted)}
		for _, r := range d.Rows {
			row := make([]template.Value, len(r))
			for i, cell := range r {
				row[i] = template.Value{S: cell}
				if d.JSON {
					row[i] = template.Value{S: feeder.Text(cell), JSON: len(cell) == 0 || cell[0] != '"'}
				}
			}
			src.rows = append(src.rows, row)
		}
		prog.sources = append(prog.sources, src)
	}
	var err error
	if prog.setup, err = c.stepList(p.Setup); err != nil {
		return nil, fmt.Errorf("setup %w", err)
	}
	total := 0
	for _, f := range p.Flows {
		cf := flow{idx: index(&prog.flowNames, f.Name)}
		if cf.steps, err = c.stepList(f.Steps); err != nil {
			return nil, fmt.Errorf("flow %q: %w", f.Name, err)
		}
		total += f.Weight
		prog.flows = append(prog.flows, cf)
		prog.weights = append(prog.weights, total)
	}
	return prog, nil
}

// index returns the position of name in *names, appending it when absent.
func index(names *[]string, name string) int {
	for i, n := range *names {
		if n == name {
			return i
		}
	}
	*names = append(*names, name)
	return len(*names) - 1
}

// stepList compiles a list of steps and the if/repeat blocks over them
// into a tree.
func (c *compiler) stepList(steps []scenario.Step) ([]node, error) {
	compiled := make([]compiledStep, len(steps))
	for i := range steps {
		cs, err := c.step(&steps[i])
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		compiled[i] = cs
	}
	nodes, _, err := c.tree(steps, compiled, 0, len(steps), 0)
	return nodes, err
}

// tree builds the nodes of steps [from, to), the first of which has its
// first skip blocks opened already. It returns the nodes and how many
// steps, repeats multiplied out, one pass runs (a plan from the wire is
// held to scenario.MaxRepeatedSteps here, as Validate holds a file).
func (c *compiler) tree(steps []scenario.Step, compiled []compiledStep, from, to, skip int) ([]node, int64, error) {
	var out []node
	var total int64
	for i := from; i < to; skip = 0 {
		if bs := steps[i].Blocks; skip < len(bs) {
			b := bs[skip]
			if b.Len < 1 || i+b.Len > to || b.Repeat < 0 || b.Repeat > scenario.MaxRepeat {
				return nil, 0, fmt.Errorf("step %d: block %+v does not fit", i+1, b)
			}
			n := node{repeat: max(b.Repeat, 1)}
			if b.If != "" {
				t, err := template.ParseCond(b.If)
				if err != nil {
					return nil, 0, fmt.Errorf("step %d: if %q: %w", i+1, b.If, err)
				}
				if n.cond, err = template.CompileCond(t, c.bind); err != nil {
					return nil, 0, fmt.Errorf("step %d: if %q: %w", i+1, b.If, err)
				}
			}
			body, inner, err := c.tree(steps, compiled, i, i+b.Len, skip+1)
			if err != nil {
				return nil, 0, err
			}
			n.body = body
			out = append(out, n)
			total += inner * int64(n.repeat)
			i += b.Len
		} else {
			out = append(out, node{step: &compiled[i]})
			total++
			i++
		}
		if total > scenario.MaxRepeatedSteps {
			return nil, 0, fmt.Errorf("with its repeats, one pass runs more than %d steps", scenario.MaxRepeatedSteps)
		}
	}
	return out, total, nil
}

func allSteps(flows []scenario.Flow) []scenario.Step {
	var out []scenario.Step
	for _, f := range flows {
		out = append(out, f.Steps...)
	}
	return out
}

func (c *compiler) step(s *scenario.Step) (compiledStep, error) {
	if s.IsThink() {
		return compiledStep{think: s.Think, thinkMax: s.ThinkMax}, nil
	}
	if s.Method == scenario.MethodWS && s.WSClose {
		c.prog.ws = true
		return compiledStep{proto: protoWS, ws: &wsStep{close: true, check: -1}, endpoint: -1, urlCheck: -1}, nil
	}
	cs := compiledStep{endpoint: -1, timeout: s.Timeout, soft: s.SoftChecks, urlCheck: -1}
	if s.IsGRPC() {
		if cs.timeout == 0 {
			cs.timeout = c.plan.Timeout
		}
		c.varChecks(s, &cs)
		return cs, c.compileGRPC(s, &cs)
	}
	if s.Method != scenario.MethodWS {
		cs.endpoint = c.endpoint(s.Name, s.Method)
	}
	if cs.timeout == 0 {
		cs.timeout = c.plan.Timeout
	}
	c.varChecks(s, &cs)
	var err error
	if cs.req, err = c.compileRequest(s); err != nil {
		return cs, err
	}
	if t, err := template.Parse(s.URL); err == nil && len(t.Parts) > 0 && t.Parts[0].Expr != nil && t.Parts[0].Expr.Name != "" {
		cs.urlCheck = c.checkIndex(s.Name + ": valid URL")
	}
	if s.Method == scenario.MethodWS {
		if err := c.compileWS(s, &cs); err != nil {
			return cs, err
		}
		return cs, c.compileExtracts(s, &cs)
	}
	if err := c.compileChecks(s, &cs); err != nil {
		return cs, err
	}
	return cs, nil
}

// varChecks gives the variables step s reads that an extraction may have
// left unset a check of their own.
func (c *compiler) varChecks(s *scenario.Step, cs *compiledStep) {
	s.Templates(func(_, src string) {
		t, err := template.Parse(src)
		if err != nil {
			return
		}
		for _, e := range t.Vars() {
			if c.extracted[e.Name] {
				if cs.varChecks == nil {
					cs.varChecks = map[string]int{}
				}
				if _, ok := cs.varChecks[e.Name]; !ok {
					cs.varChecks[e.Name] = c.checkIndex(s.Name + ": " + e.Name + " is set")
				}
			}
		}
	})
}

// endpoint returns the index of the endpoint (name, method), adding it.
func (c *compiler) endpoint(name, method string) int {
	key := metrics.EndpointKey{Name: name, Method: method}
	ep, ok := c.epIndex[key]
	if !ok {
		ep = len(c.prog.endpoints)
		c.epIndex[key] = ep
		c.prog.endpoints = append(c.prog.endpoints, key)
	}
	return ep
}

func (c *compiler) checkIndex(name string) int {
	i, ok := c.chIndex[name]
	if !ok {
		i = len(c.prog.checks)
		c.chIndex[name] = i
		c.prog.checks = append(c.prog.checks, name)
	}
	return i
}

// compile parses and binds one template (identical sources share the
// compiled form).
func (c *compiler) compile(src string, esc template.Escape) (*template.Compiled, error) {
	key := string(rune('0'+esc)) + src
	if t, ok := c.cache[key]; ok {
		return t, nil
	}
	t, err := template.Parse(src)
	if err != nil {
		return nil, err
	}
	ct, err := template.Compile(t, c.bind, esc)
	if err != nil {
		return nil, err
	}
	c.cache[key] = ct
	return ct, nil
}

// bind turns a variable name into a Getter over a VU's State.
func (c *compiler) bind(name string) (template.Getter, error) {
	ref, err := c.plan.Resolve(name)
	if err != nil {
		return nil, err
	}
	switch ref.Kind {
	case scenario.RefVar:
		slot := c.slots[name]
		return func(st *template.State) (template.Value, bool) {
			return st.Vars[slot], st.Has[slot]
		}, nil
	case scenario.RefData:
		src, col := ref.Source, ref.Column
		return func(st *template.State) (template.Value, bool) {
			row := st.Rows[src]
			if row == nil {
				return template.Value{}, false
			}
			return row[col], true
		}, nil
	case scenario.RefEnv:
		v := template.Value{S: c.plan.Env[ref.Name]}
		return func(*template.State) (template.Value, bool) { return v, true }, nil
	}
	return nil, fmt.Errorf("variable %q cannot be bound", name)
}

// Endpoints lists the plan's endpoints in the order a Recorder indexes them.
func (p *Program) Endpoints() []metrics.EndpointKey { return p.endpoints }

// Checks lists the plan's check names in the order a Recorder indexes them.
func (p *Program) Checks() []string { return p.checks }

// Flows lists the plan's flow names (each once) in the order a
// FlowRecorder given to WithFlows indexes them.
func (p *Program) Flows() []string { return p.flowNames }

// Polls lists the names of the plan's poll steps (each once) in the order
// a FlowRecorder given to WithPolls indexes them.
func (p *Program) Polls() []string { return p.pollNames }

// An Option adds to what a Workload records.
type Option func(*work)

// WithFlows records every flow iteration's duration into fr, which must
// have been made with Program.Flows(): from the first request's start (its
// due time in the open model, as latency counts) to the last response,
// less the think time between them. Iterations that sent no request are
// not recorded, those a stopping run cut short are counted as cut
// (metrics.Flow.Cut), and an iteration in which a step failed counts as
// an error.
func WithFlows(fr *metrics.FlowRecorder) Option { return func(w *work) { w.flows = fr } }

// WithPolls records every poll (a poll step's run, until its condition
// held or it timed out) into pr, which must have been made with
// Program.Polls(): its attempts, whether it timed out, and the time from
// its first attempt's start until the condition held.
func WithPolls(pr *metrics.FlowRecorder) Option { return func(w *work) { w.polls = pr } }

// WithWebSocket opens the plan's WebSocket steps' sockets with d rather
// than with a dialer of the plan's own (which skips TLS verification as
// the plan's insecure says).
func WithWebSocket(d *ws.Dialer) Option { return func(w *work) { w.dialer = d } }

// Workload binds the program to a client and a recorder.
func (p *Program) Workload(c *surgehttp.Client, rec *metrics.Recorder, opts ...Option) engine.Workload {
	w := &work{prog: p, rec: rec}
	for _, o := range opts {
		o(w)
	}
	w.protos[protoHTTP] = httpProtocol{c}
	if p.ws {
		if w.dialer == nil {
			w.dialer = ws.NewDialer(ws.Options{Insecure: p.insecure})
		}
		w.protos[protoWS] = wsProtocol{w.dialer}
	}
	if p.grpc {
		w.protos[protoGRPC] = &grpcProtocol{target: p.grpcTarget, opts: surgegrpc.Options{Insecure: p.insecure}}
	}
	return w
}

type work struct {
	prog   *Program
	protos [numProtos]protocol // nil: no step speaks it
	dialer *ws.Dialer
	rec    *metrics.Recorder
	flows  *metrics.FlowRecorder // nil: flow durations are not recorded
	polls  *metrics.FlowRecorder // nil: polls are not recorded
}

func (w *work) NewVU(hard context.Context, id int) engine.VU {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	v := &vu{
		w: w, id: id, hard: hard,
		rng:    rng,
		timer:  time.NewTimer(time.Hour),
		header: nethttp.Header{},
		st: template.State{
			Vars: append([]template.Value(nil), w.prog.initVars...),
			Has:  append([]bool(nil), w.prog.initHas...),
			Rows: make([][]template.Value, len(w.prog.sources)),
			VU:   id + 1,
			Rand: rng,
		},
	}
	v.timer.Stop()
	for i, p := range w.protos {
		if p != nil {
			v.sessions[i] = p.newSession(v)
		}
	}
	return v
}

// vu is one virtual user: its cookie jar, its variables (which live as
// long as it does, across iterations) and its data rows.
type vu struct {
	w        *work
	id       int
	hard     context.Context
	sessions [numProtos]session // by compiledStep.proto; nil: no step speaks it
	rng      *rand.Rand
	st       template.State
	ready    bool           // setup done
	view     responseView   // the latest response, as checks and extractions see it
	x        exchange       // the latest step's, reused
	buf      []byte         // scratch for rendering
	wsMsg    []byte         // scratch for a WebSocket message
	header   nethttp.Header // reused for templated headers
	timer    *time.Timer    // for think time, reused
}

// Iterate runs setup (until it succeeds once) and then one flow. The first
// request's latency counts from it.Due, so in the open model the time an
// iteration waited for a VU is in it.
func (v *vu) Iterate(ctx context.Context, it engine.Iteration) error {
	v.st.Iter = it.Num
	if err := v.draw(); err != nil {
		return err
	}
	defer v.endIteration(ctx)
	r := run{ctx: ctx, from: it.Due}
	if !v.ready {
		// A failed setup step (an error, a failed check) leaves the VU not
		// ready: it skips the rest of setup and its flow, and tries setup
		// again next iteration.
		if !v.steps(&r, v.w.prog.setup, true) {
			return nil
		}
		v.ready = true
	}
	// The flow's duration starts with its own first request, not setup's.
	r.first, r.think, r.active, r.requests = time.Time{}, 0, 0, 0
	f := &v.w.prog.flows[v.pick()]
	ok := v.steps(&r, f.steps, false)
	switch {
	case v.w.flows == nil || r.requests == 0:
	case r.cut:
		v.w.flows.RecordCut(v.id, f.idx, r.requests)
	default:
		v.w.flows.Record(v.id, f.idx, r.active, r.requests, !ok, true)
	}
	return nil
}

// endIteration tells the VU's sessions that an iteration ended.
func (v *vu) endIteration(ctx context.Context) {
	for _, s := range v.sessions {
		if s != nil {
			s.endIteration(ctx)
		}
	}
}

// draw takes this iteration's data rows: a new row of every per-iteration
// source, and a first row of per-VU sources.
func (v *vu) draw() error {
	for i := range v.w.prog.sources {
		s := &v.w.prog.sources[i]
		if s.per == scenario.PerVU && v.st.Rows[i] != nil {
			continue
		}
		r, ok := s.feed.Next(v.rng)
		if !ok {
			return fmt.Errorf("%w: %q has no row left for VU %d", ErrDataExhausted, s.name, v.st.VU)
		}
		v.st.Rows[i] = s.rows[r]
	}
	return nil
}

// run is the state of one iteration.
type run struct {
	ctx     context.Context
	from    time.Time // when the next request's latency starts; zero: when it is sent
	started bool      // a request was sent (or skipped) in this iteration
	cut     bool      // the run stopped before every step ran

	// The flow's duration so far: first is its first request's start,
	// think the think time since, active the time from first to the
	// latest response less think; requests counts what was sent.
	first    time.Time
	think    time.Duration
	active   time.Duration
	requests int64
	last     time.Time // when the latest response arrived
}

// sent notes one request that started at start and ended at end.
func (r *run) sent(start, end time.Time) {
	if r.first.IsZero() {
		r.first, r.think = start, 0
	}
	r.requests++
	r.last = end
	// Think time after the latest response (a trailing pause) is not
	// subtracted: only pauses that came before a response are in think.
	r.active = end.Sub(r.first) - r.think
}

// steps runs steps in order and reports whether every request succeeded;
// with abort set it stops at the first that fails. A block runs its steps
// repeat times when its condition holds (checked once, as the block
// starts), and is skipped otherwise. Once the run is stopping, no new step
// starts (but the iteration's first always runs: the engine started it).
func (v *vu) steps(r *run, steps []node, abort bool) bool {
	ok := true
	for i := range steps {
		n := &steps[i]
		if n.step == nil {
			if n.cond != nil && !n.cond.Eval(&v.st) {
				continue
			}
			for range n.repeat {
				if r.started && r.ctx.Err() != nil {
					r.cut = true
					return false
				}
				if !v.steps(r, n.body, abort) {
					ok = false
					if abort {
						return false
					}
				}
			}
			continue
		}
		if r.started && r.ctx.Err() != nil {
			r.cut = true
			return false
		}
		s := n.step
		if s.think > 0 {
			t0 := time.Now()
			v.sleep(r.ctx, s.think, s.thinkMax)
			if !r.first.IsZero() {
				r.think += time.Since(t0)
			}
			r.from = time.Time{}
			continue
		}
		r.started = true
		if !v.do(r, s) {
			ok = false
			if abort {
				return false
			}
		}
		r.from = time.Time{}
	}
	return ok
}

// do sends one step's request (a poll step's, until its condition holds),
// runs its checks and extractions, records the outcome, and reports
// whether the request succeeded.
func (v *vu) do(r *run, s *compiledStep) bool {
	if s.poll != nil {
		return v.poll(r, s)
	}
	o, transport, sent := v.send(r, s, true, r.from)
	if !sent {
		return v.x.none
	}
	failed, statusOK := v.evaluate(s, o.Latency, transport)
	v.classify(s, &o, transport, failed, statusOK)
	v.w.rec.Record(v.id, v.x.endpoint, o)
	return o.Class == metrics.OK
}

// send builds s's request and sends it. sent is false when it could not be
// built (a variable is unset, the rendered URL is bad): then nothing went
// out and nothing is recorded but the step's checks of its variables and
// URL, which only the first attempt of a poll records. The outcome's
// latency counts from from (from the send when zero).
func (v *vu) send(r *run, s *compiledStep, first bool, from time.Time) (o metrics.Outcome, transport, sent bool) {
	rec := v.w.rec
	x := &v.x
	*x = exchange{start: from, endpoint: s.endpoint}
	v.sessions[s.proto].do(v, s, x)
	if x.hasPre {
		rec.Record(v.id, x.preEndpoint, x.pre)
		r.sent(x.preStart, x.preEnd)
	}
	if x.missing != "" {
		// Not sent, so not a request: the step's "VAR is set" check fails.
		if idx, ok := s.varChecks[x.missing]; ok {
			rec.RecordCheck(v.id, idx, false)
		}
		return o, false, false
	}
	if first {
		for _, idx := range s.varChecks {
			rec.RecordCheck(v.id, idx, true)
		}
	}
	if s.urlCheck >= 0 && (first || x.bad != nil) {
		rec.RecordCheck(v.id, s.urlCheck, x.bad == nil)
	}
	if x.bad != nil || x.none {
		return o, false, false
	}
	r.sent(x.start, x.end)
	return x.o, x.transport, true
}

// classify settles the class of a response whose checks ran: failed is the
// first check that failed ("" if none), statusOK whether the status check
// passed.
func (v *vu) classify(s *compiledStep, o *metrics.Outcome, transport bool, failed string, statusOK bool) {
	if !transport && !s.soft {
		// A passing status check accepts the status, even a 4xx or 5xx;
		// then any failed check or extraction makes the request an error.
		// Without one, an error status keeps its own class.
		if s.statusCheck && statusOK {
			o.Class = metrics.OK
		}
		if failed != "" && o.Class == metrics.OK {
			o.Class, o.Message = metrics.CheckFailed, failed
		}
	}
	if o.Class != metrics.OK && o.Message == "" {
		o.Message = statusMessage(v.view.status)
	}
}

// poll sends a poll step's request until its until conditions hold on a
// response, pausing every between attempts, for at most within from the
// first attempt's start. Every attempt is a request, recorded under the
// step's endpoint. The attempts before the last are classed by their
// transport error or status alone (a status the step's check accepts is
// no error); the last runs the step's checks and extractions like any
// request, and when the condition never held it is of class poll_timeout
// unless a transport error or an error status already classes it. A
// stopping run abandons the poll after the attempt in flight: its attempts
// are counted, the poll's own check is not, and the poll (and its
// iteration) count as cut short.
func (v *vu) poll(r *run, s *compiledStep) bool {
	p, ctx, from := s.poll, r.ctx, r.from
	start := from
	if start.IsZero() {
		start = time.Now()
	}
	for attempts := 1; ; attempts++ {
		o, transport, sent := v.send(r, s, attempts == 1, from)
		if !sent {
			return false
		}
		held := !transport && v.holds(s, o.Latency)
		timedOut := !held && time.Since(start)+p.every > p.within
		if !held && !timedOut {
			// Not the last attempt: its status alone decides its class.
			if !transport && !s.soft && s.statusCheck && v.statusAccepted(s, o.Latency) {
				o.Class = metrics.OK
			}
			if o.Class != metrics.OK && o.Message == "" {
				o.Message = statusMessage(v.view.status)
			}
			v.w.rec.Record(v.id, s.endpoint, o)
			if v.sleep(ctx, p.every, 0); ctx.Err() != nil {
				// The run is stopping: the poll is abandoned, and counted
				// as cut short.
				r.cut = true
				if v.w.polls != nil {
					v.w.polls.RecordCut(v.id, p.idx, int64(attempts))
				}
				return false
			}
			from = time.Time{}
			continue
		}
		failed, statusOK := v.evaluate(s, o.Latency, transport)
		accepted := o.Class == metrics.OK || (!s.soft && s.statusCheck && statusOK)
		if timedOut && !transport && accepted {
			o.Class = metrics.PollTimeout
			o.Message = fmt.Sprintf("%s: %s did not hold after %d attempts", v.w.prog.endpoints[s.endpoint].Name, p.desc, attempts)
		} else {
			v.classify(s, &o, transport, failed, statusOK)
		}
		v.w.rec.RecordCheck(v.id, p.check, held)
		v.w.rec.Record(v.id, s.endpoint, o)
		if v.w.polls != nil {
			// r.last is when the response in which the condition held arrived.
			v.w.polls.Record(v.id, p.idx, r.last.Sub(start), int64(attempts), !held, held)
		}
		return o.Class == metrics.OK
	}
}

// holds reports whether every until condition of s holds on the response.
func (v *vu) holds(s *compiledStep, latency time.Duration) bool {
	ec := v.evalCtx(latency)
	for i := range s.poll.until {
		if ok, _ := s.poll.until[i].eval(&ec); !ok {
			return false
		}
	}
	return true
}

// statusAccepted reports whether the step's status check passes on the
// response, without counting it.
func (v *vu) statusAccepted(s *compiledStep, latency time.Duration) bool {
	ec := v.evalCtx(latency)
	for i := range s.checks {
		if c := &s.checks[i]; c.status {
			ok, _ := c.eval(&ec)
			return ok
		}
	}
	return false
}

func (v *vu) evalCtx(latency time.Duration) evalCtx {
	if v.view.header == nil {
		v.view.header = noHeader // a header check reads no header
	}
	return evalCtx{latency: latency, res: &v.view}
}

// evaluate runs s's checks and extractions. It returns a description of
// the first that failed ("" when all passed) and whether the status check
// (if any) passed. After a transport error every check and extraction fails.
func (v *vu) evaluate(s *compiledStep, latency time.Duration, transport bool) (failed string, statusOK bool) {
	if len(s.checks) == 0 && len(s.extracts) == 0 {
		return "", false
	}
	rec := v.w.rec
	ec := v.evalCtx(latency)
	for i := range s.checks {
		c := &s.checks[i]
		pass, detail := false, "no response"
		if !transport {
			pass, detail = c.eval(&ec)
		}
		rec.RecordCheck(v.id, c.idx, pass)
		if c.status {
			statusOK = pass
		}
		if !pass && failed == "" {
			failed = v.w.prog.checks[c.idx]
			if detail != "" {
				failed += " (" + detail + ")"
			}
		}
	}
	for i := range s.extracts {
		x := &s.extracts[i]
		var val template.Value
		ok := false
		if !transport {
			val, ok = x.get(&ec)
		}
		tooLong := ok && len(val.S) > scenario.MaxExtractedValue
		if tooLong {
			// The request-size check at load (scenario.Validate) counts an
			// extracted value as at most MaxExtractedValue: a longer one
			// would let a hostile target grow every later request past
			// the checked limits. It fails like a missing value.
			val, ok = template.Value{}, false
		}
		rec.RecordCheck(v.id, x.idx, ok)
		// A failed extraction unsets the variable: later steps see it as
		// missing rather than a stale value.
		v.st.Vars[x.slot], v.st.Has[x.slot] = val, ok
		if !ok && failed == "" {
			failed = v.w.prog.checks[x.idx]
			if tooLong {
				failed += fmt.Sprintf(" (value longer than %d bytes)", scenario.MaxExtractedValue)
			}
		}
	}
	return failed, statusOK
}

func statusMessage(status int) string {
	if status >= 100 && status < 600 {
		return statusMessages[status] // precomputed: recording an error allocates nothing
	}
	if status == 0 {
		return ""
	}
	return fmt.Sprintf("status %d", status)
}

// statusMessages holds "503 Service Unavailable"-style messages by status.
var statusMessages = func() (m [600]string) {
	for code := 100; code < 600; code++ {
		if t := nethttp.StatusText(code); t != "" {
			m[code] = fmt.Sprintf("%d %s", code, t)
		} else {
			m[code] = fmt.Sprintf("status %d", code)
		}
	}
	return m
}()

func (v *vu) pick() int {
	ws := v.w.prog.weights
	if len(ws) == 1 {
		return 0
	}
	r := v.rng.IntN(ws[len(ws)-1])
	for i, w := range ws {
		if r < w {
			return i
		}
	}
	return len(ws) - 1
}

func (v *vu) sleep(ctx context.Context, lo, hi time.Duration) {
	d := lo
	if hi > lo {
		d += time.Duration(v.rng.Int64N(int64(hi - lo + 1)))
	}
	v.timer.Reset(d)
	select {
	case <-v.timer.C:
	case <-ctx.Done():
		v.timer.Stop()
	}
}
