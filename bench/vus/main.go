// Command vus holds many virtual users against slow endpoints and reports
// the generator's memory per VU. It runs Surge's engine, HTTP client and
// recorder with a minimal workload (each VU sends one GET per iteration),
// so the figure is the engine's, the client's and the recorder's cost of a
// VU, without scenario features.
//
// One loopback address and port can carry only ~28,000 connections (the
// ephemeral port range), so VU i uses target i mod len(targets):
//
//	go run ./bench/target -listen 127.0.0.1:18091,127.0.0.1:18092,127.0.0.1:18093,127.0.0.1:18094,127.0.0.1:18095 &
//	go run ./bench/vus -vus 100000 -targets 127.0.0.1:18091,127.0.0.1:18092,127.0.0.1:18093,127.0.0.1:18094,127.0.0.1:18095
//
// Raise the open-files limit first (ulimit -n 250000): every VU holds a socket.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/surgeload/surge/bench/internal/procstat"
	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/metrics"
	surgehttp "github.com/surgeload/surge/internal/protocol/http"
)

func main() {
	var (
		vus     = flag.Int("vus", 10000, "virtual users")
		targets = flag.String("targets", "127.0.0.1:18081", "comma-separated host:port of testbed targets (bench/target)")
		path    = flag.String("path", "/delay?ms=1000", "path and query of the slow endpoint")
		ramp    = flag.Duration("ramp", 10*time.Second, "ramp from 0 to -vus over this long")
		hold    = flag.Duration("hold", 10*time.Second, "then hold -vus for this long")
		think   = flag.Duration("think", 0, "pause this long (±50 %) before each request")
		noKeep  = flag.Bool("close", false, "open a connection per request (with -think: hold more VUs than sockets)")
	)
	flag.Parse()
	if err := run(*vus, strings.Split(*targets, ","), *path, *ramp, *hold, *think, *noKeep); err != nil {
		fmt.Fprintln(os.Stderr, "vus:", err)
		os.Exit(1)
	}
}

func run(n int, targets []string, path string, ramp, hold, think time.Duration, noKeep bool) error {
	var reqs []*surgehttp.Request
	for _, t := range targets {
		u, err := url.Parse("http://" + t + path)
		if err != nil {
			return err
		}
		reqs = append(reqs, &surgehttp.Request{Method: "GET", URL: u, Timeout: 30 * time.Second})
	}
	client := surgehttp.NewClient(surgehttp.Options{IdleConnsPerHost: n, DisableKeepAlive: noKeep})
	defer client.Close()
	start := time.Now().Add(50 * time.Millisecond)
	rec := metrics.NewRecorder(start, []metrics.EndpointKey{{Name: path, Method: "GET"}}, nil)
	profile := engine.Profile{Stages: []engine.Stage{{Duration: ramp, Target: float64(n)}, {Duration: hold, Target: float64(n)}}}
	eng, err := engine.New(engine.Config{Model: engine.Closed, Profile: profile, Timeout: 30 * time.Second}, &work{client: client, rec: rec, reqs: reqs, think: think}, rec)
	if err != nil {
		return err
	}
	base := procstat.RSS()
	fmt.Printf("rss before the run %.1f MiB\n", procstat.MiB(base))
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background(), start) }()

	var total metrics.Snapshot
	var peak uint64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			total = metrics.Add(total, rec.Snapshot(time.Now()))
			t := total.Totals()
			fmt.Printf("requests %d  errors %d  peak rss %.1f MiB  peak VUs %d  => %.1f KiB per VU (%.1f KiB above the idle process)\n",
				t.Requests, t.Errors(), procstat.MiB(peak), total.MaxVUs,
				float64(peak)/1024/float64(max(total.MaxVUs, 1)), float64(peak-base)/1024/float64(max(total.MaxVUs, 1)))
			for m, c := range total.Messages {
				fmt.Printf("  error: %s (%d)\n", m, c)
			}
			return err
		case now := <-tick.C:
			s := rec.Snapshot(now)
			total = metrics.Add(total, s)
			st := s.Totals()
			r := procstat.RSS()
			peak = max(peak, r)
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Printf("%5.0fs  VUs %6d  requests %6d  errors %5d  rss %7.1f MiB  heap %6.1f MiB  stacks %6.1f MiB  goroutines %d\n",
				now.Sub(start).Seconds(), s.VUs, st.Requests, st.Errors(), procstat.MiB(r), procstat.MiB(m.HeapInuse), procstat.MiB(m.StackInuse), runtime.NumGoroutine())
		}
	}
}

// work is a minimal workload: VU i sends GET reqs[i mod len(reqs)] and
// records the outcome, as Surge's workload does for a one-step flow.
type work struct {
	client *surgehttp.Client
	rec    *metrics.Recorder
	reqs   []*surgehttp.Request
	think  time.Duration
}

func (w *work) NewVU(hard context.Context, id int) engine.VU {
	v := &vu{w: w, id: id, hard: hard, sess: w.client.NewSession(), req: w.reqs[id%len(w.reqs)]}
	if w.think > 0 {
		v.rng = rand.New(rand.NewPCG(uint64(id), 1))
		v.timer = time.NewTimer(time.Hour)
	}
	return v
}

type vu struct {
	w    *work
	id   int
	hard context.Context // requests run under it, so a graceful stop lets them finish
	sess *surgehttp.Session
	req  *surgehttp.Request
	res  surgehttp.Response

	rng   *rand.Rand  // with -think
	timer *time.Timer // with -think, reused
}

func (v *vu) Iterate(ctx context.Context, it engine.Iteration) error {
	from := it.Due
	if v.w.think > 0 {
		v.timer.Reset(v.w.think/2 + time.Duration(v.rng.Int64N(int64(v.w.think))))
		select {
		case <-v.timer.C:
		case <-ctx.Done():
			v.timer.Stop()
			return nil
		}
		from = time.Now()
	}
	v.sess.Do(v.hard, v.req, &v.res)
	o := metrics.Outcome{Class: v.res.Class, Latency: time.Since(from), BytesSent: v.res.BytesSent, BytesReceived: v.res.BytesReceived}
	if v.res.Err != nil {
		o.Message = surgehttp.Message(v.res.Err)
	}
	v.w.rec.Record(v.id, 0, o)
	return nil
}
