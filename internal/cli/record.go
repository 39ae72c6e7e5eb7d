package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"

	"github.com/spf13/pflag"

	"github.com/surgeload/surge/internal/metrics"
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
func (r *recordFlags) sink(ctx context.Context, env Env, plan scenario.Plan) (sink.Sink, error) {
	if r.server == "" {
		if r.secret != "" {
			return nil, usageErr(errors.New("--secret is the secret of a --server: give --server URL too"))
		}
		return nil, nil
	}
	u, err := url.Parse(r.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErr(fmt.Errorf("--server %q: want the server's URL, e.g. http://127.0.0.1:8089", r.server))
	}
	secret := r.secret
	if secret == "" {
		secret = getenv(env, "SURGE_SECRET")
	}
	rec, err := server.NewRecorder(ctx, r.server, secret, plan, runtime.GOMAXPROCS(0), nil)
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	fmt.Fprintf(env.Stderr, "surge: recording this run at %s\n", rec.URL())
	return &recording{rec: rec, warn: env.Stderr}, nil
}

// recording reports the recorder's problems on stderr: the controller only
// logs a sink's errors, and a run that could not be recorded must say so.
type recording struct {
	rec  *server.Recorder
	warn io.Writer
}

// RunID is the id the server gave the run; the CLI's summary uses it too.
func (r *recording) RunID() string { return r.rec.ID() }

func (r *recording) Consume(ctx context.Context, s metrics.Snapshot) error {
	return r.rec.Consume(ctx, s)
}

func (r *recording) Close(ctx context.Context) error {
	err := r.rec.Close(ctx)
	if err != nil {
		fmt.Fprintf(r.warn, "\nsurge: warning: %v\n", err)
	}
	return err
}
