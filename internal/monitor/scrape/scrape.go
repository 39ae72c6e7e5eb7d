package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Limits and defaults (docs/limits.md says why).
const (
	// DefaultTimeout bounds a scrape when neither Options.Timeout nor an
	// interval says otherwise: the default interval of a run.
	DefaultTimeout = time.Second
	// DefaultMaxBody is the most of a body read: node_exporter's answer is
	// 50–300 KB, a large application's a few MB.
	DefaultMaxBody = 16 << 20
	// DefaultMaxSeries is the most series one monitor keeps (derived
	// series are not counted); the rest are dropped and named in Stats.
	DefaultMaxSeries = 2000
	// MaxSampleLines is the most sample lines a body may have, after the
	// allow-list, before it is parsed: beyond it the scrape fails instead
	// of making the parser build the series (50,000 lines cost about
	// 80 MB of garbage and a quarter of a CPU-second per scrape).
	MaxSampleLines = 50_000
	// maxDroppedNames bounds Stats.DroppedNames.
	maxDroppedNames = 20
)

// acceptHeader asks for the Prometheus text format, which expfmt's text
// parser reads; an endpoint that only speaks OpenMetrics sends that, and
// its plain counters and gauges parse too (docs/monitor.md).
const acceptHeader = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// A Target is an endpoint to scrape.
type Target struct {
	Name  string   // shown in outputs; defaults to the URL's host:port
	URL   string   // http:// or https://, e.g. http://10.0.0.5:9100/metrics
	Token string   // sent as "Authorization: Bearer TOKEN" when set
	Allow []string // metric names kept ("node_cpu_seconds_total", or a prefix "node_network_*"); empty keeps all
}

// Options tune a Monitor. The zero value uses the defaults above.
type Options struct {
	Timeout   time.Duration // per scrape; Run caps it at the interval
	MaxBody   int64
	MaxSeries int
	// Client sends the scrapes; nil means a client of the Monitor's own
	// that ignores proxy variables (targets are usually on a private
	// network the proxy cannot reach).
	Client *http.Client
	Now    func() time.Time // the clock; nil means time.Now
}

// A Monitor scrapes one Target and turns each scrape into a Sample: rates
// from the previous successful scrape, gauges, quantiles and derived series.
// Its methods are safe for concurrent use, but scrapes take turns: rates
// need them in order.
type Monitor struct {
	t       Target
	o       Options
	client  *http.Client
	own     *http.Transport // the client's transport when the Monitor made it
	mu      sync.Mutex
	prev    *parsed         // the last successful scrape, for rates
	kept    map[string]bool // series admitted under MaxSeries
	stats   Stats
	dropped map[string]bool // metric names in stats.DroppedNames
}

// New checks t and returns a Monitor for it. Its errors are the user's and
// name the field.
func New(t Target, o Options) (*Monitor, error) {
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("monitor url %q: want http://HOST:PORT/PATH or https://…", t.URL)
	}
	if t.Name == "" {
		t.Name = u.Host
	}
	for _, a := range t.Allow {
		if strings.TrimSuffix(a, "*") == "" || strings.Contains(strings.TrimSuffix(a, "*"), "*") {
			return nil, fmt.Errorf("monitor %s: allow %q: want a metric name or a prefix ending in *", t.Name, a)
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = DefaultMaxSeries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Monitor{t: t, o: o, client: o.Client, kept: map[string]bool{}, dropped: map[string]bool{}}
	if m.client == nil {
		m.own = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: o.Timeout,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     90 * time.Second,
		}
		m.client = &http.Client{Transport: m.own}
	}
	return m, nil
}

// Target returns the target, its name filled in.
func (m *Monitor) Target() Target { return m.t }

// Stats returns the counts so far.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.DroppedNames = append([]string(nil), s.DroppedNames...)
	return s
}

// Close releases idle connections of the Monitor's own client.
func (m *Monitor) Close() {
	if m.own != nil {
		m.own.CloseIdleConnections()
	}
}

// Run scrapes every interval until ctx is done and hands each Sample to
// emit, from Run's goroutine; emit must not block for long. It is
// RunAligned with intervals counted from now.
func (m *Monitor) Run(ctx context.Context, interval time.Duration, emit func(Sample)) error {
	return m.RunAligned(ctx, m.o.Now(), interval, emit)
}

// RunAligned scrapes once at once (the base for the first rates), then
// once in each interval [start+k·interval, start+(k+1)·interval), a lead
// before its end, until ctx is done, handing each Sample to emit from its
// own goroutine; emit must not block for long. The lead (Lead) leaves
// the scrape time to come back before the interval closes, so that a run
// that takes a snapshot at each interval's end has the sample of that
// interval in hand, and its rates cover nearly that interval. A scrape's
// timeout is at most the interval, so a stalled target costs one interval
// per scrape and scrapes never pile up: a due time passed while a scrape
// was still running is skipped. RunAligned returns ctx's error.
func (m *Monitor) RunAligned(ctx context.Context, start time.Time, interval time.Duration, emit func(Sample)) error {
	if interval <= 0 {
		interval = DefaultTimeout
	}
	timeout := min(m.o.Timeout, interval)
	timer := time.NewTimer(time.Hour) // reset before every wait
	defer timer.Stop()
	// next is the lowest j whose due time, start + j·interval - lead, may
	// come next: the end of interval j-1. The first scrape (the base, at
	// once) leaves the interval it was sent in open to an aligned one;
	// after that, an interval already scraped is not scraped again — a
	// fast scrape after a slow one shortens the lead, and without this its
	// due time could fall in the interval just scraped, a second sample
	// a few ms after the first whose rates are mostly the counters' ticks.
	next := time.Duration(1)
	for first := true; ; first = false {
		s := m.scrape(ctx, timeout)
		if ctx.Err() != nil {
			return ctx.Err() // the run ended during the scrape: no sample, no failure
		}
		emit(s)
		if !first && !s.T.Before(start) {
			next = max(next, s.T.Sub(start)/interval+2)
		}
		// The next due time still ahead: a lead before the end of the
		// interval now is in, or of the one after it once that time has
		// passed (a slow scrape, a start in the past); never before the
		// first interval's, nor in an interval scraped already.
		lead := Lead(interval, s.Took)
		now := m.o.Now()
		j := max(now.Sub(start.Add(-lead))/interval+1, next)
		due := start.Add(j*interval - lead)
		timer.Reset(due.Sub(now))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// Lead is how long before an interval's end RunAligned scrapes, given
// how long the last scrape took: twice that and 10 ms more, at least a
// tenth of the interval and at most half of it.
func Lead(interval, took time.Duration) time.Duration {
	return min(max(2*took+10*time.Millisecond, interval/10), interval/2)
}

// Scrape scrapes the target once, within Options.Timeout. It never returns
// an error: a failure is a Sample with Err set, counted in Stats.Failed. A
// scrape cut short by cancelling ctx has Err set too but is not counted at
// all: the target did nothing wrong.
func (m *Monitor) Scrape(ctx context.Context) Sample {
	return m.scrape(ctx, m.o.Timeout)
}

func (m *Monitor) scrape(ctx context.Context, timeout time.Duration) Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	t0 := m.o.Now()
	s := Sample{Monitor: m.t.Name, T: t0}
	m.stats.Scrapes++
	p, err := m.fetch(ctx, timeout, t0)
	s.Took = m.o.Now().Sub(t0)
	if err != nil && ctx.Err() != nil {
		// Cancelled by the caller, not failed by the target.
		m.stats.Scrapes--
		s.Err = fmt.Sprintf("scraping %s: cancelled: %v", m.t.URL, context.Cause(ctx))
		return s
	}
	if err != nil {
		m.stats.Failed++
		s.Err = err.Error()
		return s
	}
	before := m.stats.DroppedSeries
	s.Values = m.values(p)
	m.stats.DroppedLast = m.stats.DroppedSeries - before
	s.Dropped = m.stats.DroppedLast
	m.prev = m.prune(p)
	return s
}

// fetch gets and parses the body.
func (m *Monitor) fetch(ctx context.Context, timeout time.Duration, t0 time.Time) (*parsed, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.t.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", m.t.URL, err)
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "surge-monitor")
	if m.t.Token != "" {
		req.Header.Set("Authorization", "Bearer "+m.t.Token)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", m.t.URL, timeoutErr(ctx, timeout, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets a small error page keep the connection
		return nil, fmt.Errorf("scraping %s: status %s", m.t.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, m.o.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("scraping %s: reading the body: %w", m.t.URL, timeoutErr(ctx, timeout, err))
	}
	if int64(len(body)) > m.o.MaxBody {
		return nil, fmt.Errorf("scraping %s: body larger than %d bytes", m.t.URL, m.o.MaxBody)
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/vnd.google.protobuf") {
		return nil, fmt.Errorf("scraping %s: protobuf exposition (%s) is not read; serve the text format", m.t.URL, ct)
	}
	p, err := m.parseBody(body, t0)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", m.t.URL, err)
	}
	return p, nil
}

// parseBody filters, bounds and parses one body scraped at t0.
func (m *Monitor) parseBody(body []byte, t0 time.Time) (*parsed, error) {
	body, n := m.filter(openMetricsEOF(body))
	if n > MaxSampleLines {
		return nil, fmt.Errorf("%d sample lines, more than %d (an allow-list keeps fewer)", n, MaxSampleLines)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	p, err := parse(fams, t0)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	return p, nil
}

// timeoutErr says "timed out after D" for a deadline of ours, which
// net/http reports in several shapes.
func timeoutErr(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %v", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err // the URL is already in our message
	}
	return err
}

// filter drops the lines of metrics that neither the allow-list nor a
// derived series needs, before the parser sees them, and counts the sample
// lines left. Without an allow-list it keeps the body as it is.
func (m *Monitor) filter(body []byte) ([]byte, int) {
	filtering := len(m.t.Allow) > 0
	var out []byte
	if filtering {
		out = make([]byte, 0, len(body)/4)
	}
	n := 0
	for rest := body; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		t := bytes.TrimLeft(line, " \t")
		if len(bytes.TrimSpace(t)) == 0 {
			continue
		}
		comment := t[0] == '#'
		if !filtering {
			if !comment {
				n++
			}
			continue
		}
		var name []byte
		if comment {
			if f := bytes.Fields(t); len(f) >= 3 && (string(f[1]) == "HELP" || string(f[1]) == "TYPE") {
				name = f[2]
				if q, ok := quotedName(f[2]); ok {
					name = q
				}
			}
		} else if t[0] == '{' {
			// A quoted (UTF-8) metric name: {"name", label="v"} 1.
			if q, ok := quotedName(bytes.TrimLeft(t[1:], " \t")); ok {
				name = q
			}
		} else {
			name = t
			if i := bytes.IndexAny(t, "{ \t"); i >= 0 {
				name = t[:i]
			}
		}
		if name != nil && m.needed(string(name)) {
			out = append(out, line...)
			if !comment {
				n++
			}
		}
	}
	if !filtering {
		return body, n
	}
	return out, n
}

// quotedName reads the quoted metric name b starts with ("name" …) as
// the exposition format quotes UTF-8 names; ok is false when b does not
// start with a quoted string, or when that string is a label's name
// ("label"="v"), not the metric's.
func quotedName(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' {
		return nil, false
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // an escaped character
		case '"':
			q, err := strconv.Unquote(string(b[:i+1]))
			if err != nil || bytes.HasPrefix(bytes.TrimLeft(b[i+1:], " \t"), []byte("=")) {
				return nil, false
			}
			return []byte(q), true
		}
	}
	return nil, false
}

// needed reports whether the lines of metric name (a histogram's or
// summary's sample names included) are parsed under the allow-list.
func (m *Monitor) needed(name string) bool {
	if derivedInputs[name] || m.allowed(name) {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && m.allowed(base) {
			return true
		}
	}
	return false
}

// openMetricsEOF cuts an OpenMetrics body at its "# EOF" line (the whole
// line, first or not; "# EOFs" is a comment), which the text parser would
// otherwise read as a comment anyway; it keeps anything after it (which
// OpenMetrics forbids) from being parsed or counted.
func openMetricsEOF(b []byte) []byte {
	eof := []byte("# EOF")
	for from := 0; ; {
		i := bytes.Index(b[from:], eof)
		if i < 0 {
			return b
		}
		i += from
		end := i + len(eof)
		atStart := i == 0 || b[i-1] == '\n'
		atEnd := end == len(b) || b[end] == '\n' || (b[end] == '\r' && (end+1 == len(b) || b[end+1] == '\n'))
		if atStart && atEnd {
			return b[:i]
		}
		from = end
	}
}

// allowed reports whether the allow-list keeps metric name.
func (m *Monitor) allowed(name string) bool {
	if len(m.t.Allow) == 0 {
		return true
	}
	for _, a := range m.t.Allow {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			if strings.HasPrefix(name, p) {
				return true
			}
		} else if a == name {
			return true
		}
	}
	return false
}

// admit reports whether series key of metric name fits under MaxSeries,
// counting it as dropped if not. A series once admitted stays admitted, so
// a run's series do not change from one interval to the next.
func (m *Monitor) admit(name, key string) bool {
	if m.kept[key] {
		return true
	}
	if len(m.kept) < m.o.MaxSeries {
		m.kept[key] = true
		return true
	}
	m.stats.DroppedSeries++
	if !m.dropped[name] && len(m.stats.DroppedNames) < maxDroppedNames {
		m.dropped[name] = true
		m.stats.DroppedNames = append(m.stats.DroppedNames, name)
	}
	return false
}

// prune keeps of p what the next scrape's rates need: the counters and
// histograms that are kept or feed a derived series. The rest would only
// hold memory for an interval.
func (m *Monitor) prune(p *parsed) *parsed {
	out := &parsed{t: p.t, series: map[string]*series{}}
	for _, key := range p.order {
		s := p.series[key]
		if (s.kind == counter || s.kind == histogram) && (m.kept[key] || derivedInputs[s.name]) {
			out.series[key] = s
			out.order = append(out.order, key)
		}
	}
	return out
}

// parsed is one scrape's series by key.
type parsed struct {
	t      time.Time
	series map[string]*series
	order  []string // keys, sorted, so admission under MaxSeries is stable
}

type kind uint8

const (
	counter kind = iota
	gauge
	histogram
	summary
)

type series struct {
	name   string
	labels map[string]string
	kind   kind
	v      float64
	// histograms: cumulative bucket counts by upper bound, and the count;
	// summaries: quantile → value.
	buckets []bucket
	count   float64
	quants  []bucket
}

type bucket struct{ le, n float64 }

// parse turns expfmt's families into series. A series twice in one body
// is an error, as Prometheus makes it: which value is the truth?
func parse(fams map[string]*dto.MetricFamily, t time.Time) (*parsed, error) {
	p := &parsed{t: t, series: map[string]*series{}}
	for name, f := range fams {
		k := kindOf(name, f.GetType())
		for _, mt := range f.GetMetric() {
			labels := make(map[string]string, len(mt.GetLabel()))
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			s := &series{name: name, labels: labels, kind: k}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				s.v = mt.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.v = mt.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := mt.GetHistogram()
				s.count = float64(h.GetSampleCount())
				seen := make(map[float64]bool, len(h.GetBucket()))
				for _, b := range h.GetBucket() {
					if seen[b.GetUpperBound()] {
						return nil, fmt.Errorf("series %s has the bucket le=%g twice", seriesKey(name, labels), b.GetUpperBound())
					}
					seen[b.GetUpperBound()] = true
					s.buckets = append(s.buckets, bucket{b.GetUpperBound(), float64(b.GetCumulativeCount())})
				}
			case dto.MetricType_SUMMARY:
				for _, q := range mt.GetSummary().GetQuantile() {
					s.quants = append(s.quants, bucket{q.GetQuantile(), q.GetValue()})
				}
			default:
				s.v = mt.GetUntyped().GetValue()
			}
			key := seriesKey(name, labels)
			if p.series[key] != nil {
				return nil, fmt.Errorf("series %s appears twice", key)
			}
			p.series[key] = s
			p.order = append(p.order, key)
		}
	}
	sortStrings(p.order)
	return p, nil
}

// kindOf is how a family's values are read. An untyped family is a counter
// when its name says so: "_total", or one of node_exporter's netstat
// counters, which it exports untyped.
func kindOf(name string, t dto.MetricType) kind {
	switch t {
	case dto.MetricType_COUNTER:
		return counter
	case dto.MetricType_GAUGE:
		return gauge
	case dto.MetricType_HISTOGRAM:
		return histogram
	case dto.MetricType_SUMMARY:
		return summary
	}
	if strings.HasSuffix(name, "_total") {
		return counter
	}
	if strings.HasPrefix(name, "node_netstat_") {
		switch {
		case strings.HasSuffix(name, "CurrEstab"), strings.HasSuffix(name, "MaxConn"),
			strings.Contains(name, "_Rto"):
			return gauge
		}
		return counter
	}
	return gauge
}
