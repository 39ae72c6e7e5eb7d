package report_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/surgeload/surge/internal/report"
)

// The terminal table, JSON, CSV and JUnit renderings of one fixed run are
// golden files: go test ./internal/report/ -update rewrites them.
func TestWriters(t *testing.T) {
	writers := []struct {
		name  string
		write func(*bytes.Buffer, *report.Summary) error
	}{
		{"text", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteText(b, s) }},
		{"json", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteJSON(b, s) }},
		{"csv", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteCSV(b, s) }},
		{"junit", func(b *bytes.Buffer, s *report.Summary) error { return report.WriteJUnit(b, s) }},
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := w.write(&b, htmlFixture()); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, b.Bytes())
		})
	}
}

func TestJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	in := htmlFixture()
	if err := report.WriteJSON(&b, in); err != nil {
		t.Fatal(err)
	}
	var out report.Summary
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := report.WriteJSON(&again, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Fatal("JSON summary does not survive a round trip")
	}
}

func TestPassed(t *testing.T) {
	s := report.Summary{Thresholds: []report.ThresholdOutcome{{Expr: "p99<1s", OK: true}}}
	if !s.Passed() {
		t.Fatal("all thresholds held")
	}
	s.Thresholds = append(s.Thresholds, report.ThresholdOutcome{Expr: "errors<1%", OK: false})
	if s.Passed() {
		t.Fatal("a threshold failed")
	}
}
