package capacity

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// Defaults of Options: a search of a target with a capacity in the
// hundreds of requests/s takes about 12 steps of 6 s, plus recoveries:
// about two minutes (docs/capacity.md has measurements).
const (
	DefaultStart     = 10.0            // iterations/s of the first step
	DefaultMax       = 5000.0          // the search never offers more
	DefaultGrowth    = 2.0             // factor between growth steps
	DefaultPrecision = 0.05            // bisect until hi-lo ≤ 5 % of lo
	DefaultWarmup    = 3 * time.Second // unjudged hold at the start rate
	DefaultSettle    = 2 * time.Second // after each rate change, before the window
	DefaultWindow    = 4 * time.Second // the judged, steady window of a step
	DefaultConfirm   = 8 * time.Second // the confirming hold of the result
	DefaultRecover   = 10 * time.Second
	DefaultInterval  = time.Second // the session's snapshot interval
	// maxSteps bounds a search whatever its options: growth from 0.1/s
	// to 1e6/s is 24 doublings, bisection to 1 % another 7.
	maxSteps = 48
	// confirmTries bounds the step-downs of a failed confirmation.
	confirmTries = 3
)

// Options configure a search. SLO is required; every other zero value
// takes its default.
type Options struct {
	SLO       []metrics.Threshold // every one must hold for a step to pass
	Start     float64             // first rate, iterations/s
	Max       float64             // highest rate offered
	Growth    float64             // > 1
	Precision float64             // in (0, 1)
	Warmup    time.Duration
	Settle    time.Duration
	Window    time.Duration
	Confirm   time.Duration
	Recover   time.Duration
	Interval  time.Duration // the session's interval (how often Live grows)
	// Cores is the generator's CPU budget (GOMAXPROCS); 0 skips the CPU
	// test of the generator. MaxVUs is the run's open-model VU cap; 0
	// skips the VU-cap test.
	Cores  int
	MaxVUs int
	Clock  Clock
	// Progress, when set, is called after each step from the search's
	// goroutine, with an estimate of the time left.
	Progress func(s Step, left time.Duration)
	// Target names what was searched, for the result.
	Target string
	// Probe is a health endpoint's URL, sampled at ProbeRate (default
	// 2/s, at most 10/s) with ProbeTimeout (default 2s) each, throughout
	// the search, on a client of its own: its latency is reported per step
	// and is evidence that the health check starves under load, and the
	// recovery between steps waits for it to come back near its baseline.
	// ProbeInsecure skips its TLS verification. Prober, when set, is used
	// instead of an HTTP prober of Probe (a caller's own sampler).
	Probe         string
	ProbeRate     float64
	ProbeTimeout  time.Duration
	ProbeInsecure bool
	Prober        Prober
	// LinkBytesPerSec is the network link's capacity in bytes/s, each way
	// (0: read it from a monitor's node_network_speed_bytes, if any): a
	// monitored host's network traffic near it is evidence of a network
	// bottleneck.
	LinkBytesPerSec float64
}

func (o Options) withDefaults() (Options, error) {
	var probs []string
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Start, DefaultStart)
	def(&o.Max, DefaultMax)
	def(&o.Growth, DefaultGrowth)
	def(&o.Precision, DefaultPrecision)
	defd(&o.Warmup, DefaultWarmup)
	defd(&o.Settle, DefaultSettle)
	defd(&o.Window, DefaultWindow)
	defd(&o.Confirm, DefaultConfirm)
	defd(&o.Recover, DefaultRecover)
	defd(&o.Interval, DefaultInterval)
	if o.Probe != "" || o.Prober != nil {
		def(&o.ProbeRate, DefaultProbeRate)
		defd(&o.ProbeTimeout, DefaultProbeTimeout)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	if len(o.SLO) == 0 {
		bad("no objective: give at least one, e.g. p99<250ms")
	}
	for _, t := range o.SLO {
		if t.Monitor != "" {
			bad("objective %q: a capacity search judges the load's own figures; monitor thresholds are not objectives (give the monitor with --monitor: its CPU is evidence of the bottleneck)", t.Expr)
		}
	}
	switch {
	case !(o.Start > 0) || math.IsInf(o.Start, 0):
		bad("start rate %v: want a rate > 0", o.Start)
	case !(o.Max >= o.Start) || math.IsInf(o.Max, 0):
		bad("max rate %v: want a rate ≥ the start rate %v", o.Max, o.Start)
	}
	if !(o.Growth > 1) {
		bad("growth %v: want a factor > 1", o.Growth)
	}
	if !(o.Precision > 0 && o.Precision < 1) {
		bad("precision %v: want a fraction in (0, 1)", o.Precision)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"warm-up", o.Warmup}, {"settle", o.Settle}, {"window", o.Window}, {"confirm", o.Confirm}, {"recover", o.Recover}, {"interval", o.Interval}} {
		if d.v < 0 {
			bad("%s %v: want a duration ≥ 0", d.name, d.v)
		}
	}
	if o.Probe != "" {
		if why := checkProbeURL(o.Probe); why != "" {
			bad("%s", why)
		}
	}
	if o.Probe != "" || o.Prober != nil {
		if !(o.ProbeRate > 0 && o.ProbeRate <= maxProbeRate) {
			bad("probe rate %v: want a rate in (0, %v] per second (a probe, not load)", o.ProbeRate, maxProbeRate)
		}
		if o.ProbeTimeout < 0 {
			bad("probe timeout %v: want a duration > 0", o.ProbeTimeout)
		}
	}
	if !(o.LinkBytesPerSec >= 0) || math.IsInf(o.LinkBytesPerSec, 0) {
		bad("link speed %v: want bytes/s ≥ 0", o.LinkBytesPerSec)
	}
	if o.Window < 2*o.Interval {
		bad("window %v: want at least two intervals (%v)", o.Window, 2*o.Interval)
	}
	if len(probs) > 0 {
		return o, fmt.Errorf("%w: %s", ErrOptions, joinProbs(probs))
	}
	return o, nil
}

// ErrOptions marks options a search cannot run with.
var ErrOptions = errors.New("capacity: bad options")

func joinProbs(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

// StepTime is how long one step of a search with o takes at most (the
// window extended once), without recovery: for estimates.
func (o Options) StepTime() time.Duration { return o.Settle + o.Window }
