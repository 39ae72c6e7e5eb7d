package monitor

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/promtext"
)

// Handler serves the sampler's exposition at GET /metrics (and a short
// index at /). With a token, every request must carry
// "Authorization: Bearer TOKEN"; a missing or wrong one gets 401. log may be
// nil.
func (s *Sampler) Handler(token string, log *slog.Logger) http.Handler {
	var want [sha256.Size]byte
	if token != "" {
		want = sha256.Sum256([]byte(token))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		fams, err := s.Families()
		var b bytes.Buffer
		if err == nil {
			err = promtext.Write(&b, fams)
		}
		if err != nil {
			if log != nil {
				log.Error("sampling failed", "err", err)
			}
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", promtext.ContentType)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "surge monitor: Prometheus text at /metrics")
	})
	if token == "" {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Compare digests, so the time taken tells nothing about the
		// token, not even its length.
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="surge monitor"`)
			http.Error(w, "unauthorized: send Authorization: Bearer TOKEN (the --token of surge monitor)", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Server timeouts: a scrape is one small request and a response of a few
// hundred KB, so these only cut off clients that hold a connection open.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute // above Prometheus' usual 15–60 s scrape interval, so it keeps its connection
	MaxHeaderBytes    = 16 << 10
)

// HTTPServer is an http.Server for h with the timeouts above.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}
