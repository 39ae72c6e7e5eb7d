package promtext_test

import (
	"bytes"
	"flag"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/surgeload/surge/internal/promtext"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func families() []promtext.Family {
	return []promtext.Family{
		{Name: "node_cpu_seconds_total", Type: promtext.Counter, Help: "Seconds the CPUs spent in each mode.", Samples: []promtext.Sample{
			{Labels: promtext.L("cpu", "0", "mode", "idle"), Value: 1188.04},
			{Labels: promtext.L("cpu", "0", "mode", "user"), Value: 12},
		}},
		{Name: "process_resident_memory_bytes", Type: promtext.Gauge, Help: "Resident memory size in bytes.", Samples: []promtext.Sample{
			{Labels: promtext.L("pid", "42", "name", `we"ird\name`+"\n"), Value: 3.170304e+06},
		}},
		{Name: "empty", Type: promtext.Gauge, Help: "left out: no samples"},
		{Name: "rpc_seconds", Type: promtext.Summary, Help: "Help with a \\ backslash\nand a newline.", Samples: []promtext.Sample{
			{Labels: promtext.L("quantile", "0.99"), Value: 0.25},
			{Suffix: "_sum", Value: 10},
			{Suffix: "_count", Value: 100},
		}},
		{Name: "odd_values", Samples: []promtext.Sample{
			{Labels: promtext.L("v", "inf"), Value: math.Inf(1)},
			{Labels: promtext.L("v", "-inf"), Value: math.Inf(-1)},
			{Labels: promtext.L("v", "nan"), Value: math.NaN()},
			{Labels: promtext.L("v", "small"), Value: 1e-9},
		}},
	}
}

// TestWriteGolden: the text is reviewed in testdata, and expfmt reads back
// every family with its type, labels and values.
func TestWriteGolden(t *testing.T) {
	got, err := promtext.Encode(families())
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/TestWriteGolden.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update to accept):\n%s", golden, got)
	}

	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("expfmt cannot parse the output: %v", err)
	}
	if _, ok := fams["empty"]; ok {
		t.Error("a family without samples was written")
	}
	for _, l := range fams["process_resident_memory_bytes"].GetMetric()[0].GetLabel() {
		if l.GetName() == "name" && l.GetValue() != `we"ird\name`+"\n" {
			t.Errorf("label read back as %q", l.GetValue())
		}
	}
	if fams["rpc_seconds"].GetMetric()[0].GetSummary().GetSampleCount() != 100 {
		t.Error("summary count lost")
	}
	if fams["node_cpu_seconds_total"].GetType().String() != "COUNTER" || len(fams["node_cpu_seconds_total"].GetMetric()) != 2 {
		t.Errorf("counter family read back as %v", fams["node_cpu_seconds_total"])
	}
}

func TestWriteRejectsInvalidNames(t *testing.T) {
	for _, c := range []struct {
		name string
		f    promtext.Family
		want string
	}{
		{"metric name", promtext.Family{Name: "9lives", Samples: []promtext.Sample{{}}}, `invalid metric name "9lives"`},
		{"dash", promtext.Family{Name: "a-b", Samples: []promtext.Sample{{}}}, `invalid metric name "a-b"`},
		{"label name", promtext.Family{Name: "a", Samples: []promtext.Sample{{Labels: promtext.L("a:b", "x")}}}, `invalid label name "a:b"`},
		{"reserved label", promtext.Family{Name: "a", Samples: []promtext.Sample{{Labels: promtext.L("__name__", "x")}}}, `invalid label name "__name__"`},
		{"type", promtext.Family{Name: "a", Type: "histo", Samples: []promtext.Sample{{}}}, `invalid type "histo"`},
		{"suffix", promtext.Family{Name: "a", Samples: []promtext.Sample{{Suffix: "-x"}}}, `invalid suffix "-x"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			err := promtext.Write(&b, []promtext.Family{{Name: "ok", Samples: []promtext.Sample{{Value: 1}}}, c.f})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Write = %v, want %q", err, c.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q before failing", b.String())
			}
		})
	}
}
