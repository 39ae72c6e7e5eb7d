// Package surge is the Go API of the Surge load tester: build a Plan in
// code, Run it, and read the Summary — the same engine, numbers and JSON
// summary as `surge run`.
//
//	plan, err := surge.QuickPlan(surge.Request{URL: "http://127.0.0.1:8080/api/items"},
//		surge.Load{Rate: 200, Duration: 10 * time.Second})
//	if err != nil { … }
//	sum, err := surge.Run(ctx, plan)
//	fmt.Println(sum.Totals.Requests, sum.Latency.P99)
//
// Cancelling ctx stops the run gracefully: requests in flight finish, and the
// summary covers what was sent.
package surge
