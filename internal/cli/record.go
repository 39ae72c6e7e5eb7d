package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"sync"

	"github.com/spf13/pflag"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	"github.com/surgeload/surge/internal/run"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/sink"
)

// recordFlags are `surge run --server URL [--secret S]`: record the run in
// a surge server's history, live.
type recordFlags struct {
	server, secret string
}

func addRecordFlags(fl *pflag.FlagSet) *recordFlags {
	var r recordFlags
	fl.StringVar(&r.server, "server", "", "record the run, live, in the history of the surge server at URL")
	fl.StringVar(&r.secret, "secret", "", "the server's access secret (default $SURGE_SECRET)")
	return &r
}

// sink returns the sink that records the run, or nil without --server. It
// creates the run on the server first, so an unreachable server or a wrong
// secret fails before any load is sent.
func (r *recordFlags) sink(ctx context.Context, env Env, plan scenario.Plan) (*recording, error) {
	if r.server == "" {
		if r.secret != "" {
			return nil, usageErr(errors.New("--secret is the secret of a --server: give --server URL too"))
		}
		return nil, nil
	}
	base, secret, err := r.endpoint(env)
	if err != nil {
		return nil, err
	}
	rg := &recording{warn: env.Stderr}
	rec, err := server.Record(ctx, base, secret, plan, server.RecordOptions{Cores: runtime.GOMAXPROCS(0), Control: rg.apply})
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	rg.rec = rec
	fmt.Fprintf(env.Stderr, "surge: recording this run at %s\n", rec.URL())
	return rg, nil
}

// endpoint is the server's URL, checked, and the secret to give it.
func (r *recordFlags) endpoint(env Env) (base, secret string, err error) {
	u, err := url.Parse(r.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", usageErr(fmt.Errorf("--server %q: want the server's URL, e.g. http://127.0.0.1:8089", r.server))
	}
	secret = r.secret
	if secret == "" {
		secret = getenv(env, "SURGE_SECRET")
	}
	return r.server, secret, nil
}

// recording reports the recorder's problems on stderr: the controller only
// logs a sink's errors, and a run that could not be recorded must say so.
// It also applies what the server's dashboard asks of the run (a new rate
// or VU count, a stop) to the run's session, and says so on stderr.
type recording struct {
	rec  *server.Recorder
	warn io.Writer

	mu   sync.Mutex
	sess *run.Session // set by steer before the run starts
}

var _ sink.Sink = (*recording)(nil)

// steer makes the dashboard's control apply to sess.
func (r *recording) steer(sess *run.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sess = sess
}

// apply is called by the recorder's sending goroutine with what the
// server asked; the session's Adjust and Stop never block.
func (r *recording) apply(c server.Control) {
	r.mu.Lock()
	sess := r.sess
	r.mu.Unlock()
	if sess == nil {
		return // cannot happen: intervals are sent only once the run runs
	}
	if c.Adjust != nil {
		what := fmt.Sprintf("%g VUs", *c.Adjust)
		if sess.Plan().Load.Model == engine.Open {
			what = fmt.Sprintf("%g/s", *c.Adjust)
		}
		fmt.Fprintf(r.warn, "\nsurge: the server's dashboard set the load to %s\n", what)
		sess.Adjust(*c.Adjust)
	}
	if c.Stop != "" {
		fmt.Fprintf(r.warn, "\nsurge: stopping: %s (letting in-flight requests finish)\n", c.Stop)
		sess.Stop(ErrStoppedRemotely)
	}
}

// RunID is the id the server gave the run; the CLI's summary uses it too.
func (r *recording) RunID() string { return r.rec.ID() }

func (r *recording) Consume(ctx context.Context, s metrics.Snapshot) error {
	return r.rec.Consume(ctx, s)
}

// Close sends the final summary. The controller closes its sinks once the
// run has ended, so the session knows by now whether it was stopped.
func (r *recording) Close(ctx context.Context) error {
	r.mu.Lock()
	sess := r.sess
	r.mu.Unlock()
	if sess != nil {
		r.rec.StoppedBy(sess.Stopped())
	}
	err := r.rec.Close(ctx)
	if err != nil {
		fmt.Fprintf(r.warn, "\nsurge: warning: %v\n", err)
	}
	return err
}
