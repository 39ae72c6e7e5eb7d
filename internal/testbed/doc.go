// Package testbed is a small HTTP service whose behaviour is known and
// tunable: fixed or random latency, an error rate, a worker pool of size W
// in front of a handler (so capacity is finite and queueing appears, like a
// single gunicorn worker), a DB-like pool of N connections behind /db
// (whose waiters pile up when more users than connections query it, and
// with DBWaitTimeout are answered 500 "DB connection timeout"), work that
// goes on after the answer on the same worker (BackgroundCPU), a /health
// endpoint that queues for the same workers, a periodic stall, and misbehaviours (resets, garbled responses, huge or
// trickled bodies). /metrics serves Prometheus text: requests in flight and
// by path class, the worker pool's busy and queued counts, and the DB
// pool's busy connections and waiters (metrics.go). `surge demo` runs against it,
// and the tests use it instead of mocks.
//
// It counts every request it receives (Count), so tests can check that
// Surge counted exactly what the target saw.
//
// Each bottleneck's capacity follows from its options (docs/capacity.md):
// Workers/WorkTime for /work, Workers/(WorkTime+BackgroundCPU) with
// background work (the hold is timed from when the worker was taken, so
// the answer's timer overshoot is not added to it), DBConns/DBTime for /db.
//
//	tb, err := testbed.Start("127.0.0.1:0", testbed.Options{Workers: 4})
//	defer tb.Close()
//	fmt.Println(tb.URL() + "/work")
//
// A Server is safe for concurrent use.
package testbed
