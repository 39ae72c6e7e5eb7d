package http

import (
	"context"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/metrics"
)

// TestLeanBlockedWaitsForADialSlot: a request that waits for one of the
// client's dial slots spends that wait in blocked, not in connect.
func TestLeanBlockedWaitsForADialSlot(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(Options{})
	defer c.Close()
	c.dials = make(chan struct{}, 1)
	c.dials <- struct{}{} // another dial holds the only slot
	const hold = 30 * time.Millisecond
	go func() {
		time.Sleep(hold)
		<-c.dials
	}()
	var res Response
	c.NewSession().Do(context.Background(), &Request{Method: "GET", URL: u, Timeout: 5 * time.Second}, &res)
	if res.Class != metrics.OK {
		t.Fatalf("class %v err %v", res.Class, res.Err)
	}
	if b := res.Phases[metrics.PhaseBlocked]; b < hold-2*time.Millisecond {
		t.Errorf("blocked %v, want the %v wait for a dial slot; phases %v", b, hold, res.Phases)
	}
	if cn := res.Phases[metrics.PhaseConnect]; cn <= 0 || cn >= hold {
		t.Errorf("connect %v: want the dial alone; phases %v", cn, res.Phases)
	}
}
