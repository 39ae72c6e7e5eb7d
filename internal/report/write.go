package report

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
)

// WriteJSON writes s as indented JSON.
func WriteJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("writing JSON summary: %w", err)
	}
	return nil
}

// csvHeader names the CSV timeline's columns.
var csvHeader = []string{"time", "elapsed_s", "requests", "rps", "offered_rps", "errors", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "vus", "max_vus", "dropped", "lag_p99_ms", "generator_cpu"}

// WriteCSV writes the per-interval timeline, one row per interval.
func WriteCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, p := range s.Timeline {
		// An interval in which no request completed has no latency: empty
		// cells, not 0. The closed model has no offered rate.
		lat := func(v float64) string {
			if p.Requests == 0 {
				return ""
			}
			return f(v)
		}
		offered := ""
		if p.Offered != nil {
			offered = f(*p.Offered)
		}
		_ = cw.Write([]string{p.T, f(p.Elapsed), strconv.FormatInt(p.Requests, 10), f(p.RPS), offered,
			strconv.FormatInt(p.Errors, 10), lat(p.P50), lat(p.P90), lat(p.P95), lat(p.P99), lat(p.Max),
			strconv.Itoa(p.VUs), strconv.Itoa(p.MaxVUs), strconv.FormatInt(p.Dropped, 10), f(p.LagP99), f(p.CPU)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing CSV timeline: %w", err)
	}
	return nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML with one test case per threshold, failed when
// the threshold did not hold.
func WriteJUnit(w io.Writer, s *Summary) error {
	suite := junitSuite{Name: "surge thresholds: " + s.Run.Name, Time: strconv.FormatFloat(s.Run.DurationS, 'f', 3, 64), Cases: []junitCase{}}
	for _, t := range s.Thresholds {
		c := junitCase{Name: t.Expr, Classname: "surge.thresholds", Time: "0"}
		if !t.OK {
			msg := fmt.Sprintf("%s: measured %s%s", t.Expr, strconv.FormatFloat(t.Value, 'f', -1, 64), t.Unit)
			if t.Error != "" {
				msg = t.Expr + ": " + t.Error
			}
			c.Failure = &junitFailure{Message: msg, Type: "threshold", Text: msg}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Tests = len(suite.Cases)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing JUnit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{suite}}); err != nil {
		return fmt.Errorf("writing JUnit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
