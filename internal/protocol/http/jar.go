package http

import (
	"net"
	nethttp "net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The cookie jar's limits, as browsers keep them. A target that sets more
// cookies than this cannot grow a VU's memory, or the Cookie header it
// sends, without bound; what the jar refuses or evicts is counted in
// Response.CookiesDropped. docs/limits.md gives the reasons.
const (
	// MaxCookieSize bounds a cookie's name and value together, in bytes
	// (RFC 6265bis §5.6: a longer cookie is ignored, as Chrome, Firefox
	// and Safari do). A longer one is refused.
	MaxCookieSize = 4096
	// MaxCookieAttr bounds a Path or Domain attribute's value; a longer
	// attribute is ignored, not the cookie (RFC 6265bis §5.6).
	MaxCookieAttr = 1024
	// MaxCookiesPerDomain bounds the cookies kept for one domain (the
	// registrable domain, its last two labels, or an IP address): RFC 6265
	// §6.1's minimum. A new cookie beyond it evicts the least recently
	// used one of that domain.
	MaxCookiesPerDomain = 50
	// MaxCookies bounds a jar's cookies over all domains (RFC 6265 §6.1's
	// minimum, and Firefox's limit); a new cookie beyond it evicts the
	// least recently used one.
	MaxCookies = 3000
)

// MaxCookieHeader bounds the Cookie header the jar adds to a request: the
// cookies sent to a URL are all kept under its host's domain, so there are
// at most MaxCookiesPerDomain of them, each at most MaxCookieSize bytes
// (plus its "=", quotes and "; ").
const MaxCookieHeader = MaxCookiesPerDomain * (MaxCookieSize + 5)

// maxSetCookies is how many Set-Cookie lines net/http parses in one
// response (its httpcookiemaxnum default): a response with more yields no
// cookie at all, and all of them count as dropped.
const maxSetCookies = 3000

// storeCookies stores the cookies of a response to u, given its Set-Cookie
// lines, and returns how many the jar's limits dropped.
func (s *Session) storeCookies(u *url.URL, lines []string) int {
	rc := (&nethttp.Response{Header: nethttp.Header{"Set-Cookie": lines}}).Cookies()
	if len(rc) == 0 && len(lines) > maxSetCookies {
		s.jar.mu.Lock()
		s.jar.dropped += int64(len(lines))
		s.jar.mu.Unlock()
		return len(lines)
	}
	return s.jar.set(u, rc, time.Now())
}

// Jar is a session's cookie jar: RFC 6265 storage and matching like
// net/http/cookiejar with no public suffix list (what Surge used before),
// within the limits above. Its zero value is an empty jar; it is safe for
// concurrent use.
type Jar struct {
	used atomic.Bool // a cookie was ever stored: a jar never used costs no lock per request

	mu      sync.Mutex
	domains map[string]*cookieDomain // by jarKey
	n       int                      // cookies kept
	clock   uint64                   // advances on every store and lookup: the order of last access
	seq     uint64                   // creation order
	dropped int64                    // refused or evicted, ever
	sel     []*cookie                // scratch for a lookup
}

var _ nethttp.CookieJar = (*Jar)(nil)

// cookieDomain holds the cookies kept under one jar key, at most
// MaxCookiesPerDomain, so a linear scan is cheap.
type cookieDomain struct {
	key        string
	cookies    []*cookie
	persistent int // how many have an expiry: a lookup needs the time only then
}

// cookie is one stored cookie. Its strings are copies: a cookie parsed
// from a response shares that response's header text, which must not stay
// in memory for as long as the cookie does.
type cookie struct {
	name, value string
	quoted      bool
	pair        string // name=value as sent in a Cookie header
	domain      string
	path        string
	hostOnly    bool
	secure      bool
	expires     time.Time // zero for a session cookie
	created     uint64
	accessed    uint64
}

// Len returns how many cookies j holds.
func (j *Jar) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// Dropped returns how many cookies j has refused or evicted by its limits.
func (j *Jar) Dropped() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.dropped
}

// SetCookies stores cookies received in a response to u. It implements
// http.CookieJar.
func (j *Jar) SetCookies(u *url.URL, cookies []*nethttp.Cookie) {
	j.set(u, cookies, time.Now())
}

// set stores cookies and returns how many of them were refused, or evicted
// others, by the jar's limits.
func (j *Jar) set(u *url.URL, cookies []*nethttp.Cookie, now time.Time) int {
	if len(cookies) == 0 || u.Scheme != "http" && u.Scheme != "https" {
		return 0
	}
	host, ok := canonicalHost(u.Host)
	if !ok {
		return 0
	}
	key := jarKey(host)
	defPath := defaultPath(u.Path)
	j.mu.Lock()
	defer j.mu.Unlock()
	dropped := 0
	for _, c := range cookies {
		dropped += j.store(c, key, host, defPath, now)
	}
	j.dropped += int64(dropped)
	if j.n > 0 {
		j.used.Store(true)
	}
	return dropped
}

// store stores (or replaces, or deletes) one cookie and returns how many
// cookies the limits dropped for it: itself when it is refused, or the
// one it evicted.
func (j *Jar) store(c *nethttp.Cookie, key, host, defPath string, now time.Time) int {
	if len(c.Name)+len(c.Value) > MaxCookieSize {
		return 1
	}
	path := c.Path
	if path == "" || path[0] != '/' || len(path) > MaxCookieAttr {
		path = defPath
	}
	attr := c.Domain
	if len(attr) > MaxCookieAttr {
		attr = ""
	}
	domain, hostOnly, ok := domainAndType(host, attr)
	if !ok {
		return 0 // not the target's to set: refused by RFC 6265, not by a limit
	}
	var expires time.Time
	switch {
	case c.MaxAge < 0:
		expires = aLongTimeAgo
	case c.MaxAge > 0:
		expires = now.Add(time.Duration(c.MaxAge) * time.Second)
	case !c.Expires.IsZero():
		expires = c.Expires
	}
	remove := !expires.IsZero() && !expires.After(now)

	d := j.domains[key]
	if d != nil {
		for i, e := range d.cookies {
			if e.name == c.Name && e.domain == domain && e.path == path {
				if remove {
					j.remove(d, i)
					return 0
				}
				j.fill(e, c, domain, hostOnly, path, expires, d)
				return 0
			}
		}
	}
	if remove {
		return 0
	}
	pair := (&nethttp.Cookie{Name: c.Name, Value: c.Value, Quoted: c.Quoted}).String()
	if pair == "" {
		return 0 // an invalid name: net/http would not send it either
	}
	if d == nil {
		if j.domains == nil {
			j.domains = map[string]*cookieDomain{}
		}
		d = &cookieDomain{key: strings.Clone(key)}
		j.domains[d.key] = d
	}
	dropped := 0
	if len(d.cookies) >= MaxCookiesPerDomain {
		dropped += j.evict(d, now)
	}
	if j.n >= MaxCookies {
		dropped += j.evictAny(now)
	}
	if dropped > 0 || len(d.cookies) == 0 {
		j.domains[d.key] = d // making room may have emptied d and let it go
	}
	j.seq++
	e := &cookie{created: j.seq}
	j.fill(e, c, domain, hostOnly, path, expires, d)
	d.cookies = append(d.cookies, e)
	if !e.expires.IsZero() {
		d.persistent++
	}
	j.n++
	return dropped
}

// fill sets e from c, keeping e's creation order, and counts a change of
// e's expiry in d.
func (j *Jar) fill(e *cookie, c *nethttp.Cookie, domain string, hostOnly bool, path string, expires time.Time, d *cookieDomain) {
	if e.name != "" && e.expires.IsZero() != expires.IsZero() {
		if expires.IsZero() {
			d.persistent--
		} else {
			d.persistent++
		}
	}
	if e.name != c.Name {
		e.name = strings.Clone(c.Name)
	}
	if e.domain != domain {
		e.domain = strings.Clone(domain)
	}
	if e.path != path {
		e.path = strings.Clone(path)
	}
	if e.value != c.Value || e.quoted != c.Quoted || e.pair == "" {
		e.value, e.quoted = strings.Clone(c.Value), c.Quoted
		e.pair = (&nethttp.Cookie{Name: e.name, Value: e.value, Quoted: e.quoted}).String()
	}
	e.hostOnly, e.secure, e.expires = hostOnly, c.Secure, expires
	j.clock++
	e.accessed = j.clock
}

// remove deletes d's i-th cookie.
func (j *Jar) remove(d *cookieDomain, i int) {
	if !d.cookies[i].expires.IsZero() {
		d.persistent--
	}
	last := len(d.cookies) - 1
	d.cookies[i] = d.cookies[last]
	d.cookies[last] = nil
	d.cookies = d.cookies[:last]
	j.n--
	if len(d.cookies) == 0 {
		delete(j.domains, d.key)
	}
}

// evict makes room in the full domain d, as RFC 6265 §5.3 says: expired
// cookies go first (not counted), else the least recently used (counted).
// It returns how many it counted.
func (j *Jar) evict(d *cookieDomain, now time.Time) int {
	if j.expire(d, now) > 0 {
		return 0
	}
	lru := 0
	for i, e := range d.cookies {
		if older(e, d.cookies[lru]) {
			lru = i
		}
	}
	j.remove(d, lru)
	return 1
}

// evictAny makes room in the full jar: expired cookies first, else the
// least recently used cookie of any domain.
func (j *Jar) evictAny(now time.Time) int {
	expired := 0
	for _, d := range j.domains {
		expired += j.expire(d, now)
	}
	if expired > 0 {
		return 0
	}
	var (
		in  *cookieDomain
		lru = -1
	)
	for _, d := range j.domains {
		for i, e := range d.cookies {
			if lru < 0 || older(e, in.cookies[lru]) {
				in, lru = d, i
			}
		}
	}
	if lru < 0 {
		return 0
	}
	j.remove(in, lru)
	return 1
}

// older reports whether a was used less recently than b (and, between two
// used as recently, created earlier).
func older(a, b *cookie) bool {
	if a.accessed != b.accessed {
		return a.accessed < b.accessed
	}
	return a.created < b.created
}

// expire removes d's expired cookies and returns how many it removed.
func (j *Jar) expire(d *cookieDomain, now time.Time) int {
	if d.persistent == 0 {
		return 0
	}
	n := 0
	for i := 0; i < len(d.cookies); {
		if e := d.cookies[i]; !e.expires.IsZero() && !e.expires.After(now) {
			j.remove(d, i) // moves the last cookie to i
			n++
			continue
		}
		i++
	}
	return n
}

// Cookies returns the cookies to send to u, in the order they are sent.
// It implements http.CookieJar.
func (j *Jar) Cookies(u *url.URL) []*nethttp.Cookie {
	if !j.used.Load() {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*nethttp.Cookie
	for _, e := range j.lookup(u) {
		out = append(out, &nethttp.Cookie{Name: e.name, Value: e.value, Quoted: e.quoted})
	}
	return out
}

// appendCookies appends the cookies to send to u to b as a Cookie header's
// value ("a=1; b=2"), after a "; " if sep, and reports whether it added any.
func (j *Jar) appendCookies(b []byte, u *url.URL, sep bool) ([]byte, bool) {
	if !j.used.Load() {
		return b, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	sel := j.lookup(u)
	for _, e := range sel {
		if sep {
			b = append(b, "; "...)
		}
		b, sep = append(b, e.pair...), true
	}
	return b, len(sel) > 0
}

// lookup selects the cookies to send to u, in RFC 6265 §5.4's order
// (longer paths first, then older ones), into j.sel, and marks them used.
// Expired cookies are removed on the way. j.mu is held.
func (j *Jar) lookup(u *url.URL) []*cookie {
	clear(j.sel)
	j.sel = j.sel[:0]
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	host, ok := canonicalHost(u.Host)
	if !ok {
		return nil
	}
	d := j.domains[jarKey(host)]
	if d == nil {
		return nil
	}
	if d.persistent > 0 {
		j.expire(d, time.Now())
		if len(d.cookies) == 0 {
			return nil
		}
	}
	https := u.Scheme == "https"
	path := u.Path
	if path == "" {
		path = "/"
	}
	j.clock++
	for _, e := range d.cookies {
		if !e.domainMatch(host) || !e.pathMatch(path) || !e.secureMatch(https) {
			continue
		}
		e.accessed = j.clock
		// Insertion sort: there are at most MaxCookiesPerDomain.
		i := len(j.sel)
		j.sel = append(j.sel, e)
		for ; i > 0 && sendsBefore(e, j.sel[i-1]); i-- {
			j.sel[i] = j.sel[i-1]
		}
		j.sel[i] = e
	}
	return j.sel
}

func sendsBefore(a, b *cookie) bool {
	if len(a.path) != len(b.path) {
		return len(a.path) > len(b.path)
	}
	return a.created < b.created
}

// domainMatch reports whether e may be sent to host. A cookie whose domain
// is an IP address is always host-only.
func (e *cookie) domainMatch(host string) bool {
	if e.domain == host {
		return true
	}
	return !e.hostOnly && hasDotSuffix(host, e.domain)
}

// pathMatch is RFC 6265 §5.1.4's path-match.
func (e *cookie) pathMatch(path string) bool {
	if path == e.path {
		return true
	}
	if strings.HasPrefix(path, e.path) {
		return e.path[len(e.path)-1] == '/' || path[len(e.path)] == '/'
	}
	return false
}

// secureMatch: a Secure cookie goes only over https, or to localhost and
// loopback addresses, which browsers count as secure origins.
func (e *cookie) secureMatch(https bool) bool {
	if !e.secure || https {
		return true
	}
	if h := e.domain; h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(e.domain)
	return err == nil && ip.IsLoopback()
}

func hasDotSuffix(s, suffix string) bool {
	return len(s) > len(suffix) && s[len(s)-len(suffix)-1] == '.' && s[len(s)-len(suffix):] == suffix
}

// canonicalHost is u.Host without its port and trailing dot, lower case.
// It allocates nothing for a host that is already lower case.
func canonicalHost(host string) (string, bool) {
	if hasPort(host) {
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			return "", false
		}
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(host), true
		}
	}
	return host, true
}

func hasPort(host string) bool {
	switch strings.Count(host, ":") {
	case 0:
		return false
	case 1:
		return true
	}
	return host[0] == '[' && strings.Contains(host, "]:")
}

// jarKey is the key host's cookies are kept under: an IP address itself,
// else its last two labels (net/http/cookiejar's key without a public
// suffix list). The per-domain limit applies to it.
func jarKey(host string) string {
	if isIP(host) {
		return host
	}
	i := strings.LastIndexByte(host, '.')
	if i <= 0 {
		return host
	}
	return host[strings.LastIndexByte(host[:i-1], '.')+1:]
}

func isIP(host string) bool {
	if strings.ContainsAny(host, ":%") {
		return true // an IPv6 address: host names hold neither
	}
	_, err := netip.ParseAddr(host) // (net.ParseIP may allocate; this runs per request)
	return err == nil
}

// defaultPath is RFC 6265 §5.1.4's default-path of a request path.
func defaultPath(path string) string {
	if path == "" || path[0] != '/' {
		return "/"
	}
	i := strings.LastIndexByte(path, '/')
	if i == 0 {
		return "/"
	}
	return path[:i]
}

// domainAndType returns the domain a cookie with Domain attribute attr,
// received from host, is kept for and whether it is host-only; ok is false
// when host may not set it (RFC 6265 §5.3 steps 4 to 6).
func domainAndType(host, attr string) (domain string, hostOnly, ok bool) {
	if attr == "" {
		return host, true, true
	}
	if isIP(host) {
		// Browsers accept Domain=<the IP itself> and keep a host cookie.
		return host, true, host == attr
	}
	attr = strings.TrimPrefix(attr, ".")
	if attr == "" || attr[0] == '.' || attr[len(attr)-1] == '.' {
		return "", false, false
	}
	for i := 0; i < len(attr); i++ {
		if attr[i] >= 0x80 {
			return "", false, false // not punycode
		}
	}
	attr = strings.ToLower(attr)
	if host != attr && !hasDotSuffix(host, attr) {
		return "", false, false
	}
	return attr, false, true
}
