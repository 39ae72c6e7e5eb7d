package server

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limiter counts failed attempts at the secret per client in a sliding
// window. An attempt takes a slot before the secret is checked and gives it
// back if the secret was right, under one lock: so however many guesses
// arrive at once, at most max of them are ever checked per window.
//
// A limiter is safe for concurrent use.
type limiter struct {
	max    int
	window time.Duration

	mu      sync.Mutex
	clients map[string][]time.Time // failures (and attempts in flight), oldest first
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, clients: map[string][]time.Time{}}
}

// begin takes a slot for an attempt by client at now. It returns false and
// how long to wait when the client has used up its window; otherwise the
// caller checks the secret and calls succeeded if it was right.
func (l *limiter) begin(client string, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.recent(client, now)
	if len(ts) >= l.max {
		l.clients[client] = ts
		return false, ts[0].Add(l.window).Sub(now)
	}
	if _, known := l.clients[client]; !known && len(l.clients) >= maxAuthClients {
		l.evict(now)
	}
	l.clients[client] = append(ts, now)
	return true, 0
}

// succeeded gives back the slot an attempt by client took at t.
func (l *limiter) succeeded(client string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.clients[client]
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Equal(t) {
			ts = append(ts[:i], ts[i+1:]...)
			break
		}
	}
	if len(ts) == 0 {
		delete(l.clients, client)
		return
	}
	l.clients[client] = ts
}

// recent returns client's failures still inside the window. l.mu is held.
func (l *limiter) recent(client string, now time.Time) []time.Time {
	ts := l.clients[client]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	return ts[i:]
}

// evict forgets clients whose failures have left the window, and if none
// has, the one whose last failure is oldest. l.mu is held.
func (l *limiter) evict(now time.Time) {
	oldest, oldestT := "", now
	for c, ts := range l.clients {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= l.window {
			delete(l.clients, c)
			continue
		}
		if last := ts[len(ts)-1]; last.Before(oldestT) {
			oldest, oldestT = c, last
		}
	}
	if len(l.clients) >= maxAuthClients {
		delete(l.clients, oldest)
	}
}

// clientOf names the client a request came from, for the limiter: the
// remote address, or with trustProxy the last address a reverse proxy put
// in X-Forwarded-For (the one the proxy itself saw). An IPv6 client counts
// by its /64, the block one host is usually given.
func clientOf(r *http.Request, trustProxy bool) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				host = last
			}
		}
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// tooMany answers a client that has used up its attempts.
func tooMany(w http.ResponseWriter, retry time.Duration) {
	secs := int((retry + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "too many wrong secrets from this address: wait "+strconv.Itoa(secs)+"s")
}
