//go:build browser

package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The runs page lists the connected agents, their state and the share of
// the run each holds.
func TestBrowserAgentsList(t *testing.T) {
	b := newBrowser(t)
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startAgentServer(t)
	startWorker(t, e, "lg-1", testAgentToken, map[string]string{"zone": "eu"})
	startWorker(t, e, "lg-2", testAgentToken, nil)
	e.waitAgents(t, idle("lg-1", "lg-2"))

	b.do("log in", chromedp.Navigate(e.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-secret")),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret), chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("agents-table")))
	if n := eval[int](b, `document.querySelectorAll("#agents-table tbody tr").length`); n != 2 {
		t.Errorf("%d agents listed, want 2", n)
	}
	if got := eval[string](b, `document.querySelector('#agents-table tr[data-agent="lg-1"] td:nth-child(2)').textContent`); got != "zone=eu" {
		t.Errorf("lg-1's labels read %q", got)
	}
	b.shot("agents-idle")

	code, body := e.do("POST", "/api/v1/runs", map[string]any{"url": tb.URL(), "rate": 20, "duration": "3s", "agents": 2})
	if code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(body, &created)
	// The page reloads when a run starts.
	b.waitFor("both agents busy", `document.querySelectorAll('#agents-table tr[data-state="busy"]').length === 2`, 10*time.Second)
	if got := eval[string](b, `document.querySelector('#agents-table tr[data-agent="lg-2"] td:nth-child(8)').textContent`); got != "2/2" {
		t.Errorf("lg-2's share reads %q, want 2/2", got)
	}
	if got := eval[string](b, `document.querySelector('#agents-table tr[data-agent="lg-1"] a').getAttribute("href")`); got != "#/runs/"+created.ID {
		t.Errorf("lg-1's run link %q", got)
	}
	b.shot("agents-busy")
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
}
