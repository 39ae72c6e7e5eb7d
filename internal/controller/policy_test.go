package controller_test

import (
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/agent"
	"github.com/surgeload/surge/internal/controller"
)

func TestParseLossPolicy(t *testing.T) {
	for in, want := range map[string]controller.LossPolicy{
		"": controller.LossRebalance, "rebalance": controller.LossRebalance,
		"continue": controller.LossContinue, "abort": controller.LossAbort,
	} {
		if got, err := controller.ParseLossPolicy(in); err != nil || got != want {
			t.Errorf("ParseLossPolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"Abort", "retry", " continue"} {
		if _, err := controller.ParseLossPolicy(bad); err == nil || !strings.Contains(err.Error(), "rebalance, continue or abort") {
			t.Errorf("ParseLossPolicy(%q): %v", bad, err)
		}
	}
}

// A run whose agents send nothing has an empty timeline, ends when they
// return, and says so without failing.
func TestRunWithoutIntervals(t *testing.T) {
	before := time.Now()
	c := controller.New(openPlan(10, time.Minute), controller.Options{Agents: []agent.Agent{&fake{name: "a"}, &fake{name: "b"}}})
	res, err := run(t, c)()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Timeline) != 0 || res.Ended.Before(before) || res.Ended.After(time.Now()) || len(res.Agents) != 2 || res.Agents[0].Intervals != 0 {
		t.Fatalf("result %+v", res)
	}
}
