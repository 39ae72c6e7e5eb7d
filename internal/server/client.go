package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/sink"
	"github.com/surgeload/surge/internal/store"
)

// Recorder timing.
const (
	recordTimeout = 5 * time.Second  // one request to the server
	recordFlush   = 15 * time.Second // Close: sending what is queued and the final summary
	// recordQueue is how many intervals may wait for a slow server (two
	// minutes' worth) before new ones are dropped and counted.
	recordQueue = 120
)

// Recorder is a sink that records a run made by this process (`surge run
// --server URL`) in a server's history, live: it creates the run when made,
// sends each interval as it is consumed, and the final summary on Close.
// Sending happens on its own goroutine, so a slow or lost server never
// slows the run; what cannot be sent is dropped, counted and reported.
type Recorder struct {
	base   string
	secret string
	client *http.Client
	log    *slog.Logger
	// control applies what the server asks of the run; nil: the recorder
	// announced no control, and the server refuses to steer the run.
	control func(Control)
	id      string
	tr      *Tracker

	queue chan Interval
	done  chan struct{} // closed when the sender has ended

	mu      sync.Mutex
	dropped int
	failed  error // the first send that failed
	stopped error // why the run stopped early, seen on Consume's context
}

var _ sink.Sink = (*Recorder)(nil)

// NewRecorder creates a recorded run for plan on the server at baseURL
// (e.g. http://127.0.0.1:8089) and returns the sink that fills it. cores is
// this generator's GOMAXPROCS. It fails when the server cannot be reached
// or refuses the secret, before any load is sent.
func NewRecorder(ctx context.Context, baseURL, secret string, plan scenario.Plan, cores int, logger *slog.Logger) (*Recorder, error) {
	return Record(ctx, baseURL, secret, plan, RecordOptions{Cores: cores, Logger: logger})
}

// RecordOptions configure Record. The zero value records a run that the
// server cannot steer, as NewRecorder does.
type RecordOptions struct {
	Cores  int          // this generator's GOMAXPROCS, as summaries report it
	Logger *slog.Logger // nil: discard
	// Control, when set, lets the server's dashboard and API adjust and
	// stop the run: the recorder announces it when it creates the run, and
	// calls Control with what the server hands back in the answers to its
	// intervals (at most one interval after it was asked). Control is
	// called from the recorder's sending goroutine and must not block: a
	// run session's Adjust and Stop are what it is for.
	Control func(Control)
}

// Record creates a recorded run for plan on the server at baseURL, as
// NewRecorder does, with the options of o.
func Record(ctx context.Context, baseURL, secret string, plan scenario.Plan, o RecordOptions) (*Recorder, error) {
	logger, cores := o.Logger, o.Cores
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{base: strings.TrimRight(baseURL, "/"), secret: secret, log: logger, control: o.Control,
		client: &http.Client{Timeout: recordTimeout},
		queue:  make(chan Interval, recordQueue), done: make(chan struct{})}
	var created struct {
		ID string `json:"id"`
	}
	pj, err := planJSON(plan)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if err := r.post(ctx, "/api/v1/recordings", recordRequest{Name: plan.Name, Plan: pj, Started: time.Now(), Control: o.Control != nil}, &created); err != nil {
		return nil, fmt.Errorf("recording in %s: %w", r.base, err)
	}
	r.id = created.ID
	r.tr = NewTracker(created.ID, plan, cores)
	go r.send()
	return r, nil
}

// ID is the run's id on the server.
func (r *Recorder) ID() string { return r.id }

// URL is the run's page in the server's dashboard.
func (r *Recorder) URL() string { return r.base + "/#/runs/" + r.id }

// Consume implements sink.Sink; it never blocks.
func (r *Recorder) Consume(ctx context.Context, s metrics.Snapshot) error {
	iv := r.tr.Add(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	// The controller hands every sink the run's context: once it is
	// cancelled, the run is stopping early and this says why.
	if ctx.Err() != nil && r.stopped == nil {
		r.stopped = context.Cause(ctx)
	}
	select {
	case r.queue <- iv:
	default:
		r.dropped++
	}
	return nil
}

// StoppedBy tells the recorder that its run is stopping early, and why,
// for the final summary it sends on Close; the first cause counts. A sink
// that the controller runs detached (on a goroutine of its own) is handed
// a context that no longer carries the run's stop, so the run's owner says
// it; nil does nothing.
func (r *Recorder) StoppedBy(cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped == nil {
		r.stopped = cause
	}
}

func (r *Recorder) send() {
	defer close(r.done)
	for iv := range r.queue {
		if r.sendErr() != nil {
			continue // the server refused the run: drain without sending
		}
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		var c Control
		err := r.post(ctx, "/api/v1/runs/"+r.id+"/intervals", iv, &c)
		cancel()
		if err == nil && r.control != nil && (c.Adjust != nil || c.Stop != "") {
			r.control(c)
		}
		if err != nil {
			r.mu.Lock()
			r.dropped++
			var se *statusError
			if errors.As(err, &se) && se.status == http.StatusConflict && r.failed == nil {
				r.failed = err // e.g. the server restarted and marked the run interrupted
			}
			r.mu.Unlock()
			r.log.Warn("recording an interval", "run", r.id, "seq", iv.Seq, "err", err)
		}
	}
}

func (r *Recorder) sendErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// Close implements sink.Sink: it sends what is queued and the final
// summary, waiting at most recordFlush (or ctx).
func (r *Recorder) Close(ctx context.Context) error {
	close(r.queue)
	ctx, cancel := context.WithTimeout(ctx, recordFlush)
	defer cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("recording run %s: the server did not take the last intervals in time", r.id)
	}
	r.mu.Lock()
	stopped, dropped, failed := r.stopped, r.dropped, r.failed
	r.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("recording run %s: %w", r.id, failed)
	}
	sum := r.tr.Final(stopped)
	req := finishRequest{Status: store.Finished, Summary: &sum}
	if stopped != nil {
		req.Status, req.Error = store.Stopped, stopped.Error()
	}
	if err := r.post(ctx, "/api/v1/runs/"+r.id+"/finish", req, nil); err != nil {
		return fmt.Errorf("recording the end of run %s: %w", r.id, err)
	}
	if dropped > 0 {
		return fmt.Errorf("recording run %s: %d intervals could not be sent live (the final summary was)", r.id, dropped)
	}
	return nil
}

// statusError is an error answer from the server.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return fmt.Sprintf("server answered %d: %s", e.status, e.msg) }

func (r *Recorder) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.secret != "" {
		req.Header.Set("Authorization", "Bearer "+r.secret)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return answerError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 { // 204: nothing to read
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("reading the server's answer: %w", err)
		}
	}
	return nil
}
