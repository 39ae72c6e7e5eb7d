package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	nethttp "net/http"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
	"github.com/surgeload/surge/internal/scenario"
)

// Program is a compiled plan.
type Program struct {
	flows     []flow
	weights   []int // cumulative flow weights
	endpoints []metrics.EndpointKey
	checks    []string
}

type flow struct {
	name  string
	steps []step
}

type step struct {
	think, thinkMax time.Duration // a pause when think > 0
	endpoint        int           // index into Program.endpoints
	req             surgehttp.Request
}

// Compile prepares p, which must be valid, for running.
func Compile(p scenario.Plan) (*Program, error) {
	prog := &Program{}
	epIndex := map[metrics.EndpointKey]int{}
	total := 0
	for _, f := range p.Flows {
		cf := flow{name: f.Name}
		for i, s := range f.Steps {
			if s.IsThink() {
				cf.steps = append(cf.steps, step{think: s.Think, thinkMax: s.ThinkMax})
				continue
			}
			u, err := p.ResolveURL(s.URL)
			if err != nil {
				return nil, fmt.Errorf("flow %q: step %d: %w", f.Name, i+1, err)
			}
			key := metrics.EndpointKey{Name: s.Name, Method: s.Method}
			ep, ok := epIndex[key]
			if !ok {
				ep = len(prog.endpoints)
				epIndex[key] = ep
				prog.endpoints = append(prog.endpoints, key)
			}
			h := nethttp.Header{}
			for _, kv := range append(append([]scenario.Header(nil), p.Headers...), s.Headers...) {
				h.Set(kv.Name, kv.Value)
			}
			timeout := s.Timeout
			if timeout == 0 {
				timeout = p.Timeout
			}
			cf.steps = append(cf.steps, step{endpoint: ep, req: surgehttp.Request{
				Method: s.Method, URL: u, Header: h, Body: []byte(s.Body), Timeout: timeout,
			}})
		}
		total += f.Weight
		prog.flows = append(prog.flows, cf)
		prog.weights = append(prog.weights, total)
	}
	return prog, nil
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
	return &vu{
		w: w, id: id, hard: hard,
		session: w.client.NewSession(),
		rng:     rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano()))),
		timer:   time.NewTimer(time.Hour),
	}
}

type vu struct {
	w       *work
	id      int
	hard    context.Context
	session *surgehttp.Session
	rng     *rand.Rand
	res     surgehttp.Response
	timer   *time.Timer // for think time, reused
}

// Iterate runs one flow. The first request's latency counts from it.Due, so
// in the open model the time an iteration waited for a VU is in it.
func (v *vu) Iterate(ctx context.Context, it engine.Iteration) error {
	f := &v.w.prog.flows[v.pick()]
	from := it.Due
	for i := range f.steps {
		if i > 0 && ctx.Err() != nil {
			return nil // stopping: start no new step (the first always runs: the engine started it)
		}
		s := &f.steps[i]
		if s.think > 0 {
			v.sleep(ctx, s.think, s.thinkMax)
			from = time.Time{}
			continue
		}
		if from.IsZero() {
			from = time.Now()
		}
		v.session.Do(v.hard, &s.req, &v.res)
		o := metrics.Outcome{
			Class:         v.res.Class,
			Latency:       time.Since(from),
			BytesSent:     v.res.BytesSent,
			BytesReceived: v.res.BytesReceived,
		}
		if v.res.Err != nil {
			o.Message = surgehttp.Message(v.res.Err)
		} else if o.Class != metrics.OK {
			o.Message = nethttp.StatusText(v.res.Status)
			if o.Message == "" {
				o.Message = fmt.Sprintf("status %d", v.res.Status)
			} else {
				o.Message = fmt.Sprintf("%d %s", v.res.Status, o.Message)
			}
		}
		v.w.rec.Record(v.id, s.endpoint, o)
		from = time.Time{}
	}
	return nil
}

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
