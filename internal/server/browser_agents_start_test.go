//go:build browser

package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// The new-test form starts a run on connected agents: it says how many are
// connected and how many idle ones match its labels, shows the server's
// refusal next to the agents field when too few match, and the run page
// then lists each agent's requests, errors and share live.
func TestBrowserStartOnAgents(t *testing.T) {
	b := newBrowser(t)
	tb := testutil.StartTarget(t, testbed.Options{})
	e := startAgentServer(t)
	startWorker(t, e, "lg-1", testAgentToken, map[string]string{"zone": "eu"})
	startWorker(t, e, "lg-2", testAgentToken, map[string]string{"zone": "us"})
	e.waitAgents(t, idle("lg-1", "lg-2"))

	b.do("log in", chromedp.Navigate(e.ts.URL+"/#/new"), chromedp.WaitVisible(chromedp.ID("login-secret")),
		chromedp.SendKeys(chromedp.ID("login-secret"), testSecret), chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("start-url")))
	if eval[bool](b, `document.getElementById("start-agents").offsetParent !== null`) {
		t.Error("the agents fields show before agents are chosen")
	}
	b.do("run on agents", chromedp.Click(chromedp.ID("where-agents")), chromedp.WaitVisible(chromedp.ID("start-agents")))
	b.waitFor("both agents counted", `document.getElementById("agents-match").dataset.idle === "2"`, 5*time.Second)
	if got := eval[string](b, `document.getElementById("agents-match").dataset.connected`); got != "2" {
		t.Errorf("%s agents connected, want 2", got)
	}

	// Two agents with zone=eu: only one matches, and the server says so.
	b.do("ask for two in zone eu",
		chromedp.SendKeys(chromedp.ID("start-url"), tb.URL()+"/api/items"),
		setValue("start-rate", "40"), setValue("start-duration", "6s"),
		setValue("start-agents", "2"), setValue("start-agent_labels", "zone=eu"))
	b.waitFor("one matches", `document.getElementById("agents-match").dataset.idle === "1"`, 5*time.Second)
	if got := eval[string](b, `document.getElementById("agents-match").dataset.enough`); got != "false" {
		t.Errorf("enough = %s with 1 of 2 matching", got)
	}
	b.shot("agents-start-too-few")
	b.do("start", chromedp.Click(chromedp.ID("start-submit")))
	b.waitFor("the refusal beside the agents field", `document.getElementById("error-agents").textContent.length > 0`, 5*time.Second)
	msg := eval[string](b, `document.getElementById("error-agents").textContent`)
	if !strings.Contains(msg, "too few agents") || !strings.Contains(msg, "zone=eu") {
		t.Errorf("the agents field says %q, want the server's too-few message naming zone=eu", msg)
	}
	if !strings.HasPrefix(eval[string](b, `location.hash`), "#/new") {
		t.Errorf("a refused start left the form: %s", eval[string](b, `location.hash`))
	}
	code, body := e.do("GET", "/api/v1/runs", nil)
	var list struct{ Runs []struct{ ID string } }
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Runs) != 0 {
		t.Errorf("after a refused start the runs are %d %s, want none", code, body)
	}
	b.shot("agents-start-refused")

	// Labels a bad way: the browser says so before asking.
	b.do("a bad label", setValue("start-agent_labels", "zone"), chromedp.Click(chromedp.ID("start-submit")))
	b.waitFor("the label problem", `document.getElementById("error-agent_labels").textContent.includes("zone")`, 5*time.Second)

	// Both agents, no labels: the run starts and its page lists them.
	b.do("ask for both", setValue("start-agent_labels", ""), setValue("start-agents", "2"))
	b.waitFor("enough", `document.getElementById("agents-match").dataset.enough === "true"`, 5*time.Second)
	b.do("start on both", chromedp.Click(chromedp.ID("start-submit")), chromedp.WaitVisible(chromedp.ID("run-status")))
	b.waitFor("running", `!!document.querySelector('#run-status [data-status="running"]')`, 10*time.Second)
	// While it runs, the rows come from the agent list: each agent's slice
	// of the plan and its state.
	b.waitFor("the agents' rows while it runs", `document.querySelectorAll("#agents-run-table tbody tr").length === 2 && !!document.querySelector('#run-status [data-status="running"]')`, 10*time.Second)
	for name, want := range map[string]string{"lg-1": "1/2", "lg-2": "2/2"} {
		row := `#agents-run-table tr[data-agent="` + name + `"]`
		if got := eval[string](b, `document.querySelector('`+row+` td[data-col="slice"]').textContent`); got != want {
			t.Errorf("%s's slice reads %q while it runs, want %s", name, got, want)
		}
		if got := eval[string](b, `document.querySelector('`+row+` [data-state]').dataset.state`); got != "running" {
			t.Errorf("%s's state reads %q while it runs", name, got)
		}
	}
	b.shot("agents-run-live")
	reqs := func(name string) string {
		return number(`#agents-run-table tr[data-agent="` + name + `"] td[data-col="requests"]`)
	}
	b.waitFor("the run finishes", `!!document.querySelector('#run-status [data-status="finished"]')`, 20*time.Second)

	// The rows add up to the totals, each agent about half.
	var total float64
	for _, name := range []string{"lg-1", "lg-2"} {
		n := eval[float64](b, reqs(name))
		total += n
		share := eval[float64](b, number(`#agents-run-table tr[data-agent="`+name+`"] td[data-col="share"]`))
		if share < 45 || share > 55 {
			t.Errorf("%s's share reads %.1f %%, want about 50", name, share)
		}
		if lost := eval[string](b, `document.querySelector('#agents-run-table tr[data-agent="`+name+`"]').dataset.lost`); lost != "false" {
			t.Errorf("%s lost = %s", name, lost)
		}
	}
	if tiles := eval[float64](b, number("#tile-requests .value")); total != tiles || int64(total) != tb.Count() {
		t.Errorf("agents' rows add up to %.0f, the requests tile says %.0f, the target saw %d", total, tiles, tb.Count())
	}
	b.shot("agents-run-finished")

	// A phone-sized window: the form with the agents' fields, and the run.
	b.do("a phone-sized window", chromedp.EmulateViewport(420, 900))
	defer b.do("full size again", chromedp.EmulateViewport(1400, 1900))
	runHash := eval[string](b, `location.hash`)
	b.do("the form at 420 px", chromedp.Navigate(e.ts.URL+"/#/new"), chromedp.WaitVisible(chromedp.ID("start-url")),
		chromedp.Click(chromedp.ID("where-agents")), chromedp.WaitVisible(chromedp.ID("agents-match")))
	b.noOverflow("new test with agents")
	b.shot("agents-start-420")
	b.do("the run at 420 px", chromedp.Navigate(e.ts.URL+"/"+runHash), chromedp.WaitVisible(chromedp.ID("agents-run-table")))
	time.Sleep(300 * time.Millisecond)
	b.noOverflow("run on agents")
	b.shot("agents-run-420")

	// Korean.
	b.do("Korean", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "ko"; s.dispatchEvent(new Event("change")); })()`))
	b.waitFor("the agents card in Korean", `document.querySelector("#run-agents h2") && document.querySelector("#run-agents h2").textContent === "에이전트"`, 5*time.Second)
	b.do("back to English", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang"); s.value = "en"; s.dispatchEvent(new Event("change")); })()`))
	if errs := b.pageErrors(); len(errs) > 0 {
		t.Errorf("page errors: %v", errs)
	}
}
