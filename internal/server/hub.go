package server

import (
	"encoding/json"
	"sync"
)

// event is one message of a live stream, already encoded.
type event struct {
	name string // SSE event name
	data []byte // JSON
	seq  int    // an interval's number; -1 for other events
}

func newEvent(name string, v any) event {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{}`) // our own types always marshal
	}
	return event{name: name, data: b, seq: -1}
}

// subBuffer is how many events a subscriber may fall behind (a minute of
// intervals) before it is cut off; its client then reconnects and resyncs
// from the full state, so nothing is silently lost.
const subBuffer = 64

// hub fans live events out to the streams that watch a topic: a run id, or
// "" for the run list. It is safe for concurrent use.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan event]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[chan event]struct{}{}} }

// subscribe returns a channel of the topic's events and a function that
// ends the subscription. The channel is closed when the subscription ends,
// or early when the subscriber falls too far behind.
func (h *hub) subscribe(topic string) (<-chan event, func()) {
	ch := make(chan event, subBuffer)
	h.mu.Lock()
	if h.subs[topic] == nil {
		h.subs[topic] = map[chan event]struct{}{}
	}
	h.subs[topic][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[topic][ch]; ok {
			delete(h.subs[topic], ch)
			close(ch)
		}
	}
}

// publish sends e to every subscriber of topic without blocking.
func (h *hub) publish(topic string, e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[topic] {
		select {
		case ch <- e:
		default:
			delete(h.subs[topic], ch)
			close(ch)
		}
	}
}
