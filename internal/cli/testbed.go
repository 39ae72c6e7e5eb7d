package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/surgeload/surge/internal/testbed"
)

func testbedCmd(env Env) *cobra.Command {
	var (
		listen string
		o      testbed.Options
	)
	cmd := &cobra.Command{
		Use:   "testbed",
		Short: "Serve the built-in target with tunable bottlenecks, to try Surge on",
		Long: `Serve the testbed that surge demo and the tests use, until interrupted:
  /hello /delay?ms=N /work (a pool of --workers, each request holding one for
  --work-time) /api/items (the same pool) /db?ms=N (a pool of --db-conns
  "connections", each query holding one for --db-time) /error?rate=F /status/CODE
  /big?kb=N /slow?ms=N /hang /reset /close /garbage
  /login /me /todos /products /sales /stock (the API the examples/ use)
  POST /orders, GET /orders/ID (202 at once; a consumer does one job per
  --order-job; queued, done, or dead after waiting --order-max-wait)
  /__stats (requests received, as JSON)
  /metrics (Prometheus text: testbed_requests_in_flight,
  testbed_requests_total{class}, testbed_workers_busy, testbed_workers_queued,
  testbed_db_connections_busy, testbed_db_waiters; for surge run --monitor)`,
		Example: `  surge testbed --listen 127.0.0.1:8080 --workers 2 --work-time 20ms
  PASSWORD=secret surge run examples/login-then-browse.yaml
  surge testbed --db-conns 4 &
  surge run -u http://127.0.0.1:8080/db --vus 8 --duration 10s --monitor tb=http://127.0.0.1:8080/metrics`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tb, err := testbed.Start(listen, o)
			if err != nil {
				return usageErr(err)
			}
			defer tb.Close()
			fmt.Fprintf(env.Stdout, "testbed listening on %s (/work: %d workers × %v); interrupt to stop\n",
				tb.URL(), o.Workers, o.WorkTime)
			select {
			case <-cmd.Context().Done():
			case <-env.Signals:
			}
			fmt.Fprintf(env.Stdout, "testbed received %d requests\n", tb.Count())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	fl.IntVar(&o.Workers, "workers", testbed.DefaultWorkers, "size of the worker pool in front of /work and /api/items")
	fl.DurationVar(&o.WorkTime, "work-time", testbed.DefaultWorkTime, "how long each /work request holds a worker")
	fl.IntVar(&o.DBConns, "db-conns", testbed.DefaultDBConns, "size of the DB-like connection pool behind /db")
	fl.DurationVar(&o.DBTime, "db-time", testbed.DefaultDBTime, "how long each /db request holds a connection")
	fl.DurationVar(&o.DBWaitTimeout, "db-wait-timeout", 0, "a /db request that waits longer for a connection is answered 500 \"DB connection timeout\" (0: waits as long as it takes)")
	fl.DurationVar(&o.BackgroundCPU, "background-cpu", 0, "CPU-bound work each /work request does on its worker after its answer is sent (jobs starving requests)")
	fl.DurationVar(&o.HealthTime, "health-time", 0, "how long /health holds a worker: it queues behind /work for the same workers")
	fl.DurationVar(&o.Orders.Job, "order-job", testbed.DefaultOrderJob, "how long the /orders queue's consumer works on each order (capacity: 1/order-job orders/s)")
	fl.DurationVar(&o.Orders.MaxWait, "order-max-wait", testbed.DefaultOrderMaxWait, "an order that waits longer for the consumer goes to the dead-letter queue")
	fl.IntVar(&o.Orders.Queue, "order-queue", testbed.DefaultOrderQueue, "the most orders waiting for the consumer; POST /orders beyond it is answered 503")
	fl.DurationVar(&o.Latency, "latency", 0, "latency added to every request")
	fl.DurationVar(&o.Jitter, "jitter", 0, "random extra latency, uniform in [0, jitter)")
	fl.Float64Var(&o.ErrorRate, "error-rate", 0, "fraction of /work and /api/items requests answered 500")
	fl.DurationVar(&o.StallEvery, "stall-every", 0, "stall the whole server periodically, every …")
	fl.DurationVar(&o.StallFor, "stall-for", 0, "… for this long")
	return cmd
}
