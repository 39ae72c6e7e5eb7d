package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Session cookie settings.
const (
	sessionCookie = "surge_session"
	sessionTTL    = 7 * 24 * time.Hour
	// csrfHeader must accompany state-changing requests authenticated by the
	// session cookie. Browsers never add a custom header to a cross-site
	// request without a CORS preflight, which this server does not answer.
	csrfHeader = "X-Surge-Request"
)

// Failed attempts at the secret (a wrong bearer token or a wrong login)
// allowed per client in authWindow before the API answers 429. The secret
// is long and random; this keeps a script from hammering it, and because it
// counts per client, a stranger cannot lock the owner out.
const (
	authFailures = 10
	authWindow   = time.Minute
	// maxAuthClients bounds the clients whose failures are remembered; past
	// it the one whose last failure is oldest is forgotten.
	maxAuthClients = 4096
)

// auth checks the secret and issues session cookies. A session cookie holds
// its expiry and an HMAC of it keyed by the secret, so sessions survive a
// server restart and all die when the secret changes.
type auth struct {
	secretHash [32]byte
	key        []byte
	limit      *limiter
}

func newAuth(secret string) *auth {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("surge session v1"))
	return &auth{secretHash: sha256.Sum256([]byte(secret)), key: m.Sum(nil), limit: newLimiter(authFailures, authWindow)}
}

// checkSecret compares in constant time (hashing first hides the length).
func (a *auth) checkSecret(s string) bool {
	h := sha256.Sum256([]byte(s))
	return subtle.ConstantTimeCompare(h[:], a.secretHash[:]) == 1
}

func (a *auth) sign(expiry int64) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(strconv.FormatInt(expiry, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (a *auth) newSession(now time.Time) string {
	exp := now.Add(sessionTTL).Unix()
	return strconv.FormatInt(exp, 10) + "." + a.sign(exp)
}

func (a *auth) validSession(v string, now time.Time) bool {
	expS, sig, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil || now.Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(a.sign(exp)))
}

// require wraps h so that it runs only for a request carrying the secret as
// a bearer token, or a valid session cookie (with the CSRF header on
// anything but GET and HEAD). Wrong bearer tokens count against the
// client's attempts like wrong logins. An authenticated request may take
// its time to send its body and may stream: the read deadline the
// http.Server set for strangers is lifted.
func (s *Server) require(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			client, now := clientOf(r, s.opts.TrustProxy), time.Now()
			ok, retry := s.auth.limit.begin(client, now)
			if !ok {
				tooMany(w, retry)
				return
			}
			if !s.auth.checkSecret(strings.TrimSpace(tok)) {
				unauthorized(w, "wrong secret")
				return
			}
			s.auth.limit.succeeded(client, now)
			trusted(w)
			h(w, r)
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil && s.auth.validSession(c.Value, time.Now()) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(csrfHeader) == "" {
				writeError(w, http.StatusForbidden, "requests authenticated by the session cookie must carry the "+csrfHeader+" header")
				return
			}
			trusted(w)
			h(w, r)
			return
		}
		unauthorized(w, "authentication required: send 'Authorization: Bearer SECRET' or log in")
	}
}

// trusted lifts the read deadline of an authenticated request (a recorded
// run's final summary may be large, and live streams last).
func trusted(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="surge"`)
	writeError(w, http.StatusUnauthorized, msg)
}

type loginRequest struct {
	Secret string `json:"secret"`
}

// handleLogin: POST /api/v1/login {"secret"} sets the session cookie.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	client, now := clientOf(r, s.opts.TrustProxy), time.Now()
	ok, retry := s.auth.limit.begin(client, now)
	if !ok {
		tooMany(w, retry)
		return
	}
	var req loginRequest
	if err := decode(w, r, 4096, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.auth.checkSecret(req.Secret) {
		unauthorized(w, "wrong secret")
		return
	}
	s.auth.limit.succeeded(client, now)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.auth.newSession(now), Path: "/",
		Expires: now.Add(sessionTTL), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "expires": now.Add(sessionTTL).UTC().Format(time.RFC3339)})
}

// handleLogout: POST /api/v1/logout clears the session cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}
