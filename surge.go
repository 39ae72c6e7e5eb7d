package surge

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/surgeload/surge/internal/report"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
)

// Plan is a validated load test.
type Plan = scenario.Plan

// Summary is a run's result, as in the JSON summary (surge.summary/v1).
type Summary = report.Summary

// Request is the single request of a quick plan.
type Request struct {
	URL     string
	Method  string   // default GET
	Headers []string // "Name: value"
	Body    string
}

// Load is the load of a quick plan. Set Rate for the open model (iterations
// per second) or VUs for the closed model; Duration or Requests bounds it.
type Load struct {
	Rate       float64
	VUs        int
	MaxVUs     int
	Duration   time.Duration
	Requests   int64
	Timeout    time.Duration
	Thresholds []string
}

// QuickPlan builds a plan that sends one request per iteration.
func QuickPlan(r Request, l Load) (Plan, error) {
	var o scenario.Overrides
	if l.Rate > 0 {
		o.Rate = &l.Rate
	}
	if l.VUs > 0 {
		o.VUs = &l.VUs
	}
	if l.MaxVUs > 0 {
		o.MaxVUs = &l.MaxVUs
	}
	if l.Duration > 0 {
		o.Duration = &l.Duration
	}
	if l.Requests > 0 {
		o.Iterations = &l.Requests
	}
	if l.Timeout > 0 {
		o.Timeout = &l.Timeout
	}
	o.Thresholds = l.Thresholds
	method := r.Method
	if method == "" {
		method = "GET"
	}
	return scenario.Quick(scenario.QuickRequest{URL: r.URL, Method: method, Headers: r.Headers, Body: r.Body}, o)
}

// Run runs plan in this process and returns its summary.
func Run(ctx context.Context, plan Plan) (*Summary, error) {
	if err := plan.Validate(); err != nil {
		return nil, err
	}
	sess := run.New(plan, run.Options{})
	if err := sess.Start(ctx); err != nil {
		return nil, fmt.Errorf("surge: running: %w", err)
	}
	res, err := sess.Wait()
	if err != nil {
		return nil, fmt.Errorf("surge: running: %w", err)
	}
	s := sess.Summary(res.Started.UTC().Format("20060102-150405.000"), res, runtime.GOMAXPROCS(0))
	return &s, nil
}
