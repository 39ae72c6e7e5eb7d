package capacity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/capacity"
)

// probedSearch is a search of 4 workers of 20 ms (200/s) with the host
// memory fixture's monitor and a health probe that queues with the
// requests: every output has steps, monitors and probes to show.
func probedSearch(t *testing.T, timeout time.Duration) *capacity.Result {
	t.Helper()
	clock := newClock()
	f := newFake(model{Workers: 4, Service: 20 * time.Millisecond, Fixture: fixture(t, "host_memory_full")}, clock, time.Second)
	res, err := capacity.Search(context.Background(), monitored{f}, capacity.Options{SLO: slo(t, "p99<250ms", "errors<1%"), Clock: clock,
		Target: "http://127.0.0.1:8080/work", Probe: "http://127.0.0.1:8080/health", Prober: fakeProber{f: f, Timeout: timeout}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The health probe's figures are in every step; where the workers
// saturate the probe waits behind the queue, and the result says the
// health check starved, against its baseline.
func TestSearchShowsTheHealthProbeStarving(t *testing.T) {
	res := probedSearch(t, 0)
	if res.Probe != "http://127.0.0.1:8080/health" {
		t.Errorf("probe %q", res.Probe)
	}
	var base, bound *capacity.Step
	for i := range res.Steps {
		s := &res.Steps[i]
		if s.ProbeN == nil || s.ProbeP50 == nil || s.ProbeP99 == nil || s.ProbeErrors == nil {
			t.Fatalf("step at %v/s without probe figures", s.Rate)
		}
		if *s.ProbeN != int(s.WindowS*2) {
			t.Errorf("step at %v/s: %d probes in a %vs window; want 2/s", s.Rate, *s.ProbeN, s.WindowS)
		}
		if base == nil || s.Rate < base.Rate {
			base = s
		}
		if !s.OK && s.Rate > res.MaxRate && (bound == nil || s.Rate < bound.Rate) {
			bound = s
		}
	}
	if *base.ProbeP99 > 2 {
		t.Errorf("baseline probe p99 %v ms; want ~1 ms", *base.ProbeP99)
	}
	if bound == nil || *bound.ProbeP99 <= 3**base.ProbeP99+20 {
		t.Fatalf("bounding step %+v: want its probe p99 far above the baseline's", bound)
	}
	if !strings.Contains(res.ProbeStarved, "the health probe starved under load") || !strings.Contains(res.Bottleneck.Evidence, res.ProbeStarved) {
		t.Errorf("probe_starved %q, evidence %q", res.ProbeStarved, res.Bottleneck.Evidence)
	}
	// Probes that time out are failures, counted and named.
	res = probedSearch(t, 50*time.Millisecond)
	if !strings.Contains(res.ProbeStarved, "probes failed (no answer within 50ms)") {
		t.Errorf("probe_starved %q; want the failed probes counted", res.ProbeStarved)
	}
	if line := capacity.StepLine(res.Steps[len(res.Steps)-1]); !strings.Contains(line, "probe p50 ") {
		t.Errorf("step line without the probe: %s", line)
	}
}

// A probe that holds up is not evidence: nothing is added.
func TestSearchSaysNothingOfAHealthyProbe(t *testing.T) {
	clock := newClock()
	f := newFake(model{Workers: 4, Service: 20 * time.Millisecond}, clock, time.Second)
	steady := steadyProber{}
	res, err := capacity.Search(context.Background(), f, capacity.Options{SLO: slo(t, "p99<250ms"), Clock: clock, Prober: steady})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProbeStarved != "" || strings.Contains(res.Bottleneck.Evidence, "probe") {
		t.Errorf("a steady probe reported: %q / %q", res.ProbeStarved, res.Bottleneck.Evidence)
	}
}

type steadyProber struct{}

func (steadyProber) Samples(from, to time.Time) []capacity.ProbeSample {
	var out []capacity.ProbeSample
	for t := from; t.Before(to); t = t.Add(500 * time.Millisecond) {
		out = append(out, capacity.ProbeSample{T: t, Latency: 2 * time.Millisecond})
	}
	return out
}

var capacityData = regexp.MustCompile(`(?s)<script type="application/json" id="surge-capacity">(.*?)</script>`)

// The page embeds the result it draws, whole, and marks the knee and the
// max rate; its steps table and verdict are the result's.
func TestResultHTML(t *testing.T) {
	res := probedSearch(t, 0)
	var b bytes.Buffer
	if err := capacity.WriteHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	m := capacityData.FindStringSubmatch(page)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || m == nil {
		t.Fatalf("not a capacity page with its data (%d bytes)", len(page))
	}
	var got capacity.Result
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
		t.Fatalf("the embedded result: %v", err)
	}
	want, _ := json.Marshal(res)
	back, _ := json.Marshal(&got)
	if !bytes.Equal(want, back) {
		t.Errorf("the embedded result differs from the search's:\n%s\n%s", back, want)
	}
	for _, s := range []string{
		`id="chart-throughput"`, `id="chart-latency"`, "uPlot", `knee_rate`, `"max rate"`,
		`data-monitor="api" data-key="host_memory_available_bytes"`, "<th>probe p99</th>",
		`<span class="bottleneck-kind">memory</span>`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if n := strings.Count(page, "<tr class="); n != len(res.Steps) {
		t.Errorf("%d step rows; want %d", n, len(res.Steps))
	}
	// Nothing outside the page's own scripts; an evidence string cannot
	// end the data element early.
	if strings.Contains(page, "src=") || strings.Contains(page, "href=\"http") {
		t.Error("the page loads something from the network")
	}
	golden(t, []byte(stripAssets(page)))
}

// stripAssets leaves the inlined uPlot, CSS and data out of a page, for
// its golden file: the page's own structure is what is compared.
func stripAssets(page string) string {
	page = regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(page, "<style>…</style>")
	page = regexp.MustCompile(`(?s)<script>.*?</script>`).ReplaceAllString(page, "<script>…</script>")
	return capacityData.ReplaceAllString(page, `<script type="application/json" id="surge-capacity">…</script>`)
}

// The terminal's curve: a row per rate offered, lowest first, failing ones
// marked, the knee and max rate named.
func TestResultTextShowsTheCurve(t *testing.T) {
	res := probedSearch(t, 0)
	var b bytes.Buffer
	if err := capacity.WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	_, curve, ok := strings.Cut(out, "the curve, by offered rate")
	if !ok {
		t.Fatalf("no curve:\n%s", out)
	}
	curve, _, _ = strings.Cut(curve, "\n\n")
	rows := strings.Split(strings.TrimSpace(curve), "\n")[1:]
	rates := map[float64]bool{}
	for _, s := range res.Steps {
		rates[s.Rate] = true
	}
	if len(rows) != len(rates) {
		t.Errorf("%d curve rows for %d rates:\n%s", len(rows), len(rates), curve)
	}
	if !strings.Contains(curve, "← max rate") && !strings.Contains(curve, "max rate") {
		t.Errorf("the max rate is not marked:\n%s", curve)
	}
	if !strings.Contains(curve, "✗") || !strings.Contains(curve, "probe p99") {
		t.Errorf("failing rates or the probe not shown:\n%s", curve)
	}
	prev := -1.0
	for _, r := range rows {
		var rate float64
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(r), "✗"))
		if _, err := fmtSscan(f[0], &rate); err != nil {
			t.Fatalf("row %q: %v", r, err)
		}
		if rate <= prev {
			t.Errorf("rows not in rate order: %v after %v", rate, prev)
		}
		prev = rate
	}
}

func fmtSscan(s string, v *float64) (int, error) {
	return fmt.Sscanf(strings.TrimSuffix(s, "/s"), "%g", v)
}
