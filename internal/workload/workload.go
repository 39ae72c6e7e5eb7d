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
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
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
	setup     []compiledStep
	endpoints []metrics.EndpointKey
	checks    []string

	nvars    int
	initVars []template.Value // by slot
	initHas  []bool
	sources  []source
}

type flow struct {
	steps []compiledStep
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
}

// Compile prepares p, which must be valid, for running: every template is
// parsed and bound here, once.
func Compile(p scenario.Plan) (*Program, error) {
	c := &compiler{
		plan: &p, prog: &Program{}, slots: map[string]int{}, extracted: map[string]bool{},
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
	for i := range p.Setup {
		cs, err := c.step(&p.Setup[i])
		if err != nil {
			return nil, fmt.Errorf("setup step %d: %w", i+1, err)
		}
		prog.setup = append(prog.setup, cs)
	}
	total := 0
	for _, f := range p.Flows {
		var cf flow
		for i := range f.Steps {
			cs, err := c.step(&f.Steps[i])
			if err != nil {
				return nil, fmt.Errorf("flow %q: step %d: %w", f.Name, i+1, err)
			}
			cf.steps = append(cf.steps, cs)
		}
		total += f.Weight
		prog.flows = append(prog.flows, cf)
		prog.weights = append(prog.weights, total)
	}
	return prog, nil
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
	key := metrics.EndpointKey{Name: s.Name, Method: s.Method}
	ep, ok := c.epIndex[key]
	if !ok {
		ep = len(c.prog.endpoints)
		c.epIndex[key] = ep
		c.prog.endpoints = append(c.prog.endpoints, key)
	}
	cs := compiledStep{endpoint: ep, timeout: s.Timeout, soft: s.SoftChecks, urlCheck: -1}
	if cs.timeout == 0 {
		cs.timeout = c.plan.Timeout
	}
	// Variables this step reads that may be unset get a check of their own.
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
	var err error
	if cs.req, err = c.compileRequest(s); err != nil {
		return cs, err
	}
	if t, err := template.Parse(s.URL); err == nil && len(t.Parts) > 0 && t.Parts[0].Expr != nil && t.Parts[0].Expr.Name != "" {
		cs.urlCheck = c.checkIndex(s.Name + ": valid URL")
	}
	if err := c.compileChecks(s, &cs); err != nil {
		return cs, err
	}
	return cs, nil
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

// Workload binds the program to a client and a recorder.
func (p *Program) Workload(c *surgehttp.Client, rec *metrics.Recorder) engine.Workload {
	return &work{prog: p, client: c, rec: rec}
}

type work struct {
	prog   *Program
	client *surgehttp.Client
	rec    *metrics.Recorder
}

func (w *work) NewVU(hard context.Context, id int) engine.VU {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	v := &vu{
		w: w, id: id, hard: hard,
		session: w.client.NewSession(),
		rng:     rng,
		timer:   time.NewTimer(time.Hour),
		header:  nethttp.Header{},
		st: template.State{
			Vars: append([]template.Value(nil), w.prog.initVars...),
			Has:  append([]bool(nil), w.prog.initHas...),
			Rows: make([][]template.Value, len(w.prog.sources)),
			VU:   id + 1,
			Rand: rng,
		},
	}
	v.timer.Stop()
	return v
}

// vu is one virtual user: its cookie jar, its variables (which live as
// long as it does, across iterations) and its data rows.
type vu struct {
	w       *work
	id      int
	hard    context.Context
	session *surgehttp.Session
	rng     *rand.Rand
	st      template.State
	ready   bool // setup done
	req     surgehttp.Request
	res     surgehttp.Response
	buf     []byte         // scratch for rendering
	header  nethttp.Header // reused for templated headers
	timer   *time.Timer    // for think time, reused
}

// Iterate runs setup (until it succeeds once) and then one flow. The first
// request's latency counts from it.Due, so in the open model the time an
// iteration waited for a VU is in it.
func (v *vu) Iterate(ctx context.Context, it engine.Iteration) error {
	v.st.Iter = it.Num
	if err := v.draw(); err != nil {
		return err
	}
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
	v.steps(&r, v.w.prog.flows[v.pick()].steps, false)
	return nil
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
}

// steps runs steps in order and reports whether every request succeeded;
// with abort set it stops at the first that fails. Once the run is
// stopping, no new step starts (but the iteration's first always runs: the
// engine started it).
func (v *vu) steps(r *run, steps []compiledStep, abort bool) bool {
	ok := true
	for i := range steps {
		if r.started && r.ctx.Err() != nil {
			return false
		}
		s := &steps[i]
		if s.think > 0 {
			v.sleep(r.ctx, s.think, s.thinkMax)
			r.from = time.Time{}
			continue
		}
		r.started = true
		if !v.do(s, r.from) {
			ok = false
			if abort {
				return false
			}
		}
		r.from = time.Time{}
	}
	return ok
}

// do sends one step's request, runs its checks and extractions, records
// the outcome, and reports whether the request succeeded.
func (v *vu) do(s *compiledStep, from time.Time) bool {
	rec := v.w.rec
	v.req.Timeout = s.timeout
	v.req.KeepBody = 0
	if s.keepBody {
		v.req.KeepBody = KeepBody
	}
	missing, err := s.req.build(v, &v.req)
	if missing != "" {
		// Not sent, so not a request: the step's "VAR is set" check fails.
		if idx, ok := s.varChecks[missing]; ok {
			rec.RecordCheck(v.id, idx, false)
		}
		return false
	}
	for _, idx := range s.varChecks {
		rec.RecordCheck(v.id, idx, true)
	}
	if s.urlCheck >= 0 {
		rec.RecordCheck(v.id, s.urlCheck, err == nil)
	}
	if err != nil {
		return false
	}
	if from.IsZero() {
		from = time.Now()
	}
	v.session.Do(v.hard, &v.req, &v.res)
	if n := v.res.CookiesDropped; n > 0 {
		rec.CookiesDropped(int64(n)) // the target set more cookies than a browser keeps
	}
	o := metrics.Outcome{
		Class:         v.res.Class,
		Latency:       time.Since(from),
		BytesSent:     v.res.BytesSent,
		BytesReceived: v.res.BytesReceived,
	}
	transport := v.res.Err != nil
	if transport {
		o.Message = surgehttp.Message(v.res.Err)
	}
	failed, statusOK := v.evaluate(s, o.Latency, transport)
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
		o.Message = statusMessage(v.res.Status)
	}
	rec.Record(v.id, s.endpoint, o)
	return o.Class == metrics.OK
}

// evaluate runs s's checks and extractions. It returns a description of
// the first that failed ("" when all passed) and whether the status check
// (if any) passed. After a transport error every check and extraction fails.
func (v *vu) evaluate(s *compiledStep, latency time.Duration, transport bool) (failed string, statusOK bool) {
	if len(s.checks) == 0 && len(s.extracts) == 0 {
		return "", false
	}
	rec := v.w.rec
	ec := evalCtx{latency: latency, res: &responseView{
		status: v.res.Status, header: v.res.Header, body: v.res.Body,
		url: func() []*nethttp.Cookie { return v.session.Jar().Cookies(v.req.URL) },
	}}
	if ec.res.header == nil {
		ec.res.header = nethttp.Header{}
	}
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
