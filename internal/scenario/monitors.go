package scenario

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// A Monitor is a Prometheus/OpenMetrics text endpoint scraped during the
// run (a `surge monitor`, node_exporter, the application's /metrics): the
// scenario key `monitors:` or `surge run --monitor [NAME=]URL`.
type Monitor struct {
	// Name is shown in the outputs; it defaults to the URL's host:port.
	Name string `json:"name"`
	URL  string `json:"url"`
	// Token is sent as "Authorization: Bearer TOKEN". Like Plan.Env it is
	// not serialised: plans are stored in the run history.
	Token string `json:"-"`
	// Allow lists the metric names kept (a name, or a prefix ending in *);
	// empty keeps every series (up to the scraper's cap).
	Allow []string `json:"allow,omitempty"`
}

// MaxMonitors bounds the monitors of one run: each is a goroutine and a
// scrape per interval (docs/limits.md).
const MaxMonitors = 16

// maxMonitorName bounds a monitor's name: it is a key of every timeline
// point of the JSON summary.
const maxMonitorName = 64

var monitorKeys = []string{"name", "url", "token", "allow"}

// envToken is a token read from the environment: "{{env.NAME}}".
var envToken = regexp.MustCompile(`^\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$`)

// monitors reads the scenario key `monitors:`, a list of
// {name, url, token, allow}.
func (l *loader) monitors(n *node) []Monitor {
	var out []Monitor
	for i, mn := range l.list(n, "monitors", "monitors", false) {
		path := fmt.Sprintf("monitors[%d]", len(out))
		l.mark(path, mn)
		f := l.fields(mn, entry("monitors", fmt.Sprint(i)), "a monitor", monitorKeys...)
		if f == nil {
			continue
		}
		var m Monitor
		if v := f["name"]; v != nil {
			m.Name, _ = l.str(v, path+".name", "name")
		}
		if v := f["url"]; v != nil {
			m.URL, _ = l.str(v, path+".url", "url")
		} else {
			l.errorf(mn, path+".url", "a monitor needs a `url`, e.g. http://10.0.0.5:9100/metrics")
		}
		if v := f["token"]; v != nil {
			if tok, ok := l.str(v, path+".token", "token"); ok {
				m.Token = l.token(v, path+".token", tok)
			}
		}
		if v := f["allow"]; v != nil {
			for j, a := range l.list(v, path+".allow", "allow", true) {
				if s, ok := l.str(a, fmt.Sprintf("%s.allow[%d]", path, j), "allow"); ok {
					m.Allow = append(m.Allow, s)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// token resolves a monitor's token: plain text as written, or
// "{{env.NAME}}" from the environment (so that the file holds no secret).
func (l *loader) token(n *node, path, tok string) string {
	if !strings.Contains(tok, "{{") {
		return tok
	}
	m := envToken.FindStringSubmatch(tok)
	if m == nil {
		l.errorf(n, path, "token %q: want plain text or {{env.NAME}} (no other template)", tok)
		return ""
	}
	v := ""
	if l.opts.Getenv != nil {
		v = l.opts.Getenv(m[1])
	}
	if v == "" {
		l.errorf(n, path, "environment variable `%s` of the monitor token is not set", m[1])
	}
	return v
}

// validateMonitors fills in the monitors' default names and checks them:
// http(s) URLs with a host, unique names, allow-lists of names or
// prefixes.
func (p *Plan) validateMonitors(v *validator) {
	if len(p.Monitors) > MaxMonitors {
		v.add("monitors", "%d monitors: at most %d (see docs/limits.md)", len(p.Monitors), MaxMonitors)
	}
	seen := map[string]int{}
	for i := range p.Monitors {
		m := &p.Monitors[i]
		path := fmt.Sprintf("monitors[%d]", i)
		if err := CheckMonitorURL(m.URL); err != nil {
			v.add(path+".url", "%v", err)
		} else if m.Name == "" {
			u, _ := url.Parse(m.URL)
			m.Name = u.Host
		}
		if m.Name != "" {
			if err := checkMonitorName(m.Name); err != nil {
				v.add(path+".name", "%v", err)
			} else if j, dup := seen[m.Name]; dup {
				v.add(path+".name", "monitor name %q is taken by monitor %d: give each monitor its own name", m.Name, j+1)
			} else {
				seen[m.Name] = i
			}
		}
		for j, a := range m.Allow {
			if pre := strings.TrimSuffix(a, "*"); pre == "" || strings.Contains(pre, "*") || strings.ContainsFunc(pre, unicode.IsSpace) {
				v.add(fmt.Sprintf("%s.allow[%d]", path, j), "allow %q: want a metric name or a prefix ending in *, e.g. node_cpu_seconds_total or node_network_*", a)
			}
		}
	}
}

// CheckMonitorURL checks a monitor's URL: http:// or https:// with a host.
func CheckMonitorURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return fmt.Errorf("monitor url is empty: want e.g. http://10.0.0.5:9100/metrics")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Errorf("monitor url %q: want an http:// or https:// URL", raw)
	case u.Host == "":
		return fmt.Errorf("monitor url %q: no host", raw)
	}
	return nil
}

func checkMonitorName(name string) error {
	switch {
	case len(name) > maxMonitorName:
		return fmt.Errorf("monitor name %q: at most %d bytes", name[:maxMonitorName]+"…", maxMonitorName)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' }):
		return fmt.Errorf("monitor name %q: no spaces, control characters or quotes", name)
	}
	return nil
}

// ParseMonitorFlag parses `--monitor URL` or `--monitor NAME=URL`.
func ParseMonitorFlag(s string) (Monitor, error) {
	m := Monitor{URL: s}
	if name, rest, ok := strings.Cut(s, "="); ok && !strings.Contains(name, "://") && !strings.Contains(name, "/") {
		if name == "" {
			return Monitor{}, fmt.Errorf("--monitor %s: the name before = is empty (want NAME=URL or URL)", s)
		}
		m.Name, m.URL = name, rest
	}
	if err := CheckMonitorURL(m.URL); err != nil {
		return Monitor{}, fmt.Errorf("--monitor %s: %w", s, err)
	}
	if m.Name != "" {
		if err := checkMonitorName(m.Name); err != nil {
			return Monitor{}, fmt.Errorf("--monitor %s: %w", s, err)
		}
	}
	return m, nil
}
