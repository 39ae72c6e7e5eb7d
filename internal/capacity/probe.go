package capacity

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Probe defaults: a health endpoint is sampled twice a second, each probe
// given 2 s; more than 10/s would be load, not a probe.
const (
	DefaultProbeRate    = 2.0
	DefaultProbeTimeout = 2 * time.Second
	maxProbeRate        = 10.0
	// maxProbeSamples bounds what a prober keeps: 10/s for the CLI's
	// longest search (20 min) is 12,000.
	maxProbeSamples = 1 << 14
	// maxProbeBody is how much of a probe's answer is read (and dropped)
	// so that its connection can be reused.
	maxProbeBody = 64 << 10
)

// ProbeSample is one probe of the health endpoint: when it was sent (on
// the search's clock), how long its answer took, and why it failed ("" when
// it answered 2xx or 3xx in time).
type ProbeSample struct {
	T       time.Time
	Latency time.Duration
	Err     string
}

// Prober samples a health endpoint throughout a search, off the load: its
// own goroutine, client and connections, so that its requests are not in
// the search's figures. Samples returns what it measured in [from, to).
type Prober interface {
	Samples(from, to time.Time) []ProbeSample
}

// httpProber is the Prober of Options.Probe: a GET every 1/rate seconds,
// each on a goroutine of its own, so that a probe stuck behind a queue does
// not delay the next one (a starving health check shows as latency, not as
// fewer samples). Each has the probe timeout, so at most rate × timeout + 1
// are in flight. A probe still in flight counts with the time it has waited
// so far (a lower bound of its latency); when the search ends, the prober
// stops sending and waits for those in flight, so the result's figures are
// final.
type httpProber struct {
	url     string
	client  *http.Client
	clock   Clock
	every   time.Duration
	timeout time.Duration

	mu      sync.Mutex
	samples []probeRec
	dropped int // probes past maxProbeSamples, not sent
	wg      sync.WaitGroup
}

type probeRec struct {
	ProbeSample
	sent time.Time // wall clock, for the latency so far
	done bool
}

// checkProbeURL says what is wrong with a probe URL, or "".
func checkProbeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("probe %q: want an http:// or https:// URL, e.g. http://127.0.0.1:8080/health", raw)
	}
	return ""
}

func newHTTPProber(o Options) *httpProber {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: int(math.Ceil(o.ProbeRate*o.ProbeTimeout.Seconds())) + 1,
		IdleConnTimeout:     30 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: o.ProbeInsecure}, //nolint:gosec // the user's --insecure
	}
	return &httpProber{
		url:     o.Probe,
		client:  &http.Client{Transport: tr, Timeout: o.ProbeTimeout},
		clock:   o.Clock,
		every:   time.Duration(float64(time.Second) / o.ProbeRate),
		timeout: o.ProbeTimeout,
	}
}

// start probes until stop is called; stop waits for the probes in flight
// (each at most the probe timeout).
func (p *httpProber) start() (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(p.every)
		defer t.Stop()
		p.launch()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				p.launch()
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
		p.wg.Wait()
		p.client.CloseIdleConnections()
	}
}

func (p *httpProber) launch() {
	p.mu.Lock()
	if len(p.samples) >= maxProbeSamples {
		p.dropped++
		p.mu.Unlock()
		return
	}
	i := len(p.samples)
	p.samples = append(p.samples, probeRec{ProbeSample: ProbeSample{T: p.clock.Now()}, sent: time.Now()})
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		lat, err := p.probe()
		p.mu.Lock()
		p.samples[i].Latency, p.samples[i].Err, p.samples[i].done = lat, err, true
		p.mu.Unlock()
	}()
}

// probe sends one GET and measures it: its latency, and why it failed
// ("" for an answer below 400 in time).
func (p *httpProber) probe() (time.Duration, string) {
	t0 := time.Now()
	req, err := http.NewRequest(http.MethodGet, p.url, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("User-Agent", "surge-capacity-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return time.Since(t0), fmt.Sprintf("no answer within %v", p.timeout)
		}
		return time.Since(t0), err.Error()
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxProbeBody)
	_ = resp.Body.Close()
	lat := time.Since(t0)
	if resp.StatusCode >= 400 {
		return lat, fmt.Sprintf("status %d", resp.StatusCode)
	}
	return lat, ""
}

// Samples returns the probes sent in [from, to); one still in flight has
// the latency it has waited so far.
func (p *httpProber) Samples(from, to time.Time) []ProbeSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ProbeSample
	for _, s := range p.samples {
		if !within(s.T, from, to) {
			continue
		}
		if !s.done {
			s.Latency = time.Since(s.sent)
		}
		out = append(out, s.ProbeSample)
	}
	return out
}

// probeStats are a step's probes in numbers: exact percentiles of the
// answered probes' latencies (a failed probe's time says only how long it
// took to fail), and the failures.
type probeStats struct {
	n, errors, answered int
	p50, p99            float64 // ms; 0 without an answered probe
	lastErr             string
}

func statsOf(samples []ProbeSample) probeStats {
	st := probeStats{n: len(samples)}
	var lat []float64
	for _, s := range samples {
		if s.Err != "" {
			st.errors++
			st.lastErr = s.Err
			continue
		}
		lat = append(lat, ms(s.Latency))
	}
	sort.Float64s(lat)
	st.answered = len(lat)
	st.p50, st.p99 = rank(lat, 0.5), rank(lat, 0.99)
	return st
}

// rank is the nearest-rank q-quantile of sorted values (0 when empty).
func rank(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// probeStep sets st's probe figures from the probes sent during its
// window.
func (sr *searcher) probeStep(st *Step) {
	if sr.probe == nil || st.Start.IsZero() {
		return
	}
	ps := statsOf(sr.probe.Samples(st.Start, st.End))
	n, errs := ps.n, ps.errors
	st.ProbeN, st.ProbeErrors, st.ProbeP50, st.ProbeP99 = &n, &errs, nil, nil
	if ps.answered > 0 {
		p50, p99 := round(ps.p50, 3), round(ps.p99, 3)
		st.ProbeP50, st.ProbeP99 = &p50, &p99
	}
	st.probeLastErr = ps.lastErr
}

// probeStarved says how the health probe fared at the bounding step
// against the baseline: "" when it held up (within 3× the baseline's p99
// plus 20 ms, with no failure) or nothing was probed.
func (sr *searcher) probeStarved(bound *Step) string {
	if sr.probe == nil || bound == nil || bound.ProbeN == nil || *bound.ProbeN == 0 {
		return ""
	}
	base := 0.0
	if sr.base != nil && sr.base.ProbeP99 != nil {
		base = *sr.base.ProbeP99
	}
	slow := bound.ProbeP99 != nil && *bound.ProbeP99 > 3*base+20
	failed := *bound.ProbeErrors > 0
	if !slow && !failed {
		return ""
	}
	s := "the health probe starved under load: "
	if bound.ProbeP99 != nil {
		s += fmt.Sprintf("p99 %s at %.1f/s against %s at the baseline %.1f/s", fmtMS(*bound.ProbeP99), bound.Rate, fmtMS(base), baseRate(sr.base))
	} else {
		s += fmt.Sprintf("no probe answered at %.1f/s (%s at the baseline %.1f/s)", bound.Rate, fmtMS(base), baseRate(sr.base))
	}
	if failed {
		s += fmt.Sprintf(", %d of %d probes failed (%s)", *bound.ProbeErrors, *bound.ProbeN, bound.probeLastErr)
	}
	return s
}
