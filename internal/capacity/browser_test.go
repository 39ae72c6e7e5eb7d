//go:build browser

// The capacity page in Debian's chromium, headless: run with
//
//	go test -tags browser -run Browser ./internal/capacity/

package capacity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/surgeload/surge/internal/capacity"
)

// The page draws its curve: a throughput and a latency plot with a point
// per step, one plot per monitor series, and no script error.
func TestBrowserCapacityPageDrawsTheCurve(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s under CI=true", chromium)
		}
		t.Skipf("no %s", chromium)
	}
	res := probedSearch(t, 0)
	var page strings.Builder
	if err := capacity.WriteHTML(&page, res); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page.String()))
	}))
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.Flag("headless", true),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1200, 1600))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			errs = append(errs, e.ExceptionDetails.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.ID("chart-throughput"))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		expr string
		want float64
	}{
		{`document.getElementById("chart-throughput").plot.data[0].length`, float64(len(res.Steps))},
		{`document.getElementById("chart-latency").plot.series.length`, 4}, // x, p50, p99, probe p99
		{`document.querySelectorAll(".monitor-chart").length`, 2},
		{`[...document.querySelectorAll(".monitor-chart")].filter(e => e.plot).length`, 2},
	} {
		got, err := chromedp.Run(tctx, chromedp.Evaluate[float64](c.expr))
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got != c.want {
			t.Errorf("%s = %v; want %v", c.expr, got, c.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Errorf("script errors: %v", errs)
	}
}
