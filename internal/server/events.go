package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/surgeload/surge/internal/store"
)

// heartbeat keeps idle streams (and proxies between) from timing out.
const heartbeat = 15 * time.Second

// sse starts a Server-Sent Events response; it returns nil when the
// connection cannot stream.
func sse(w http.ResponseWriter) *sseWriter {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil
	}
	// Streams outlive the server's write timeout, if one is set.
	_ = rc.SetWriteDeadline(time.Time{})
	return &sseWriter{w: w, rc: rc}
}

type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s *sseWriter) send(e event) error {
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", e.name, e.data); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseWriter) comment(c string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", c); err != nil {
		return err
	}
	return s.rc.Flush()
}

// handleRunEvents: GET /api/v1/runs/{id}/events streams one run: a "state"
// event with everything so far, then "interval" (one per second), "adjust"
// and finally "end", after which the stream closes. A client that falls
// behind is disconnected; reconnecting starts again with "state".
func (s *Server) handleRunEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// Subscribe before reading the state, so no interval falls between.
	ch, unsubscribe := s.hub.subscribe(id)
	defer unsubscribe()
	st, err := s.state(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := sse(w)
	if out == nil {
		return
	}
	if err := out.send(newEvent("state", st)); err != nil {
		return
	}
	if st.Run.Status != string(store.Running) {
		_ = out.send(newEvent("end", st))
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return // fell behind: the client reconnects and resyncs
			}
			if e.name == "interval" {
				// Intervals written before the state was read are in it.
				if e.seq < len(st.Summary.Timeline) {
					continue
				}
			}
			if err := out.send(e); err != nil || e.name == "end" {
				return
			}
		case <-tick.C:
			if err := out.comment("keep-alive"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.base.Done():
			return
		}
	}
}

// handleEvents: GET /api/v1/events streams changes to the run list: "run"
// (a run started or ended; the run as listed) and "deleted" ({"id"}).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	ch, unsubscribe := s.hub.subscribe("")
	defer unsubscribe()
	out := sse(w)
	if out == nil {
		return
	}
	if err := out.comment("run list"); err != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return
			}
			if err := out.send(e); err != nil {
				return
			}
		case <-tick.C:
			if err := out.comment("keep-alive"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.base.Done():
			return
		}
	}
}
