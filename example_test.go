package surge_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/surgeload/surge"
	"github.com/surgeload/surge/internal/testbed"
)

func Example() {
	// A target on loopback; use your own service's URL instead.
	target, err := testbed.Start("127.0.0.1:0", testbed.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()

	plan, err := surge.QuickPlan(
		surge.Request{URL: target.URL() + "/hello"},
		surge.Load{VUs: 4, Requests: 200, Duration: 30 * time.Second, Thresholds: []string{"errors<1%"}},
	)
	if err != nil {
		log.Fatal(err)
	}
	sum, err := surge.Run(context.Background(), plan)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("requests:", sum.Totals.Requests, "errors:", sum.Totals.Errors, "target saw:", target.Count())
	fmt.Println("thresholds passed:", sum.Passed())
	// Output:
	// requests: 200 errors: 0 target saw: 200
	// thresholds passed: true
}
