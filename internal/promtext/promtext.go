// Package promtext writes the Prometheus text exposition format (version
// 0.0.4): the one writer of every /metrics Surge serves (`surge monitor`,
// `surge server`, the testbed).
//
// Build a slice of Family values and call Write, or Encode for bytes:
//
//	promtext.Write(w, []promtext.Family{{
//		Name: "node_load1", Type: promtext.Gauge, Help: "1m load average.",
//		Samples: []promtext.Sample{{Value: 0.42}},
//	}})
//
// Write checks every metric and label name, escapes help text and label
// values, and writes the families in the order given. It holds no state and
// is safe for concurrent use.
package promtext

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ContentType is the Content-Type of what Write writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Type is a metric family's type, as written on its # TYPE line.
type Type string

// The family types of the text format.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Summary   Type = "summary"
	Histogram Type = "histogram"
	Untyped   Type = "untyped"
)

// A Label is one name="value" pair.
type Label struct{ Name, Value string }

// A Sample is one line of a family. Suffix is appended to the family's name
// ("_sum", "_count", "_bucket" for summaries and histograms), so a family's
// lines stay together under its one # TYPE line.
type Sample struct {
	Suffix string
	Labels []Label
	Value  float64
}

// A Family is a metric name with its type, help text and samples.
type Family struct {
	Name    string
	Type    Type
	Help    string
	Samples []Sample
}

// L builds labels from name, value pairs: L("cpu", "0", "mode", "idle").
func L(pairs ...string) []Label {
	if len(pairs)%2 != 0 {
		panic("promtext.L: odd number of arguments") // a programming error, never input
	}
	ls := make([]Label, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ls = append(ls, Label{pairs[i], pairs[i+1]})
	}
	return ls
}

// Write writes families to w in the text format. A family without samples
// is left out. It returns the first invalid name it meets, before writing
// anything, or the first write error.
func Write(w io.Writer, families []Family) error {
	for _, f := range families {
		if err := check(f); err != nil {
			return err
		}
	}
	bw := bufio.NewWriter(w)
	for _, f := range families {
		if len(f.Samples) == 0 {
			continue
		}
		typ := f.Type
		if typ == "" {
			typ = Untyped
		}
		if f.Help != "" {
			fmt.Fprintf(bw, "# HELP %s %s\n", f.Name, escapeHelp(f.Help))
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", f.Name, typ)
		for _, s := range f.Samples {
			bw.WriteString(f.Name)
			bw.WriteString(s.Suffix)
			if len(s.Labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.Labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(l.Name)
					bw.WriteString(`="`)
					bw.WriteString(escapeValue(l.Value))
					bw.WriteByte('"')
				}
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			bw.WriteString(FormatValue(s.Value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// Encode returns what Write would write.
func Encode(families []Family) ([]byte, error) {
	var b strings.Builder
	if err := Write(&b, families); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// FormatValue formats a sample value as the text format spells it.
func FormatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func check(f Family) error {
	if !validName(f.Name, true) {
		return fmt.Errorf("promtext: invalid metric name %q", f.Name)
	}
	switch f.Type {
	case "", Counter, Gauge, Summary, Histogram, Untyped:
	default:
		return fmt.Errorf("promtext: metric %s: invalid type %q", f.Name, f.Type)
	}
	for _, s := range f.Samples {
		if s.Suffix != "" && !validName(f.Name+s.Suffix, true) {
			return fmt.Errorf("promtext: metric %s: invalid suffix %q", f.Name, s.Suffix)
		}
		for _, l := range s.Labels {
			if !validName(l.Name, false) || strings.HasPrefix(l.Name, "__") {
				return fmt.Errorf("promtext: metric %s: invalid label name %q", f.Name, l.Name)
			}
		}
	}
	return nil
}

// validName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]* (metric
// names) or [a-zA-Z_][a-zA-Z0-9_]* (label names, colon false).
func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c == ':' && colon:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string {
	if !strings.ContainsAny(s, "\\\n") {
		return s
	}
	return helpEscaper.Replace(s)
}

func escapeValue(s string) string {
	if !strings.ContainsAny(s, "\\\n\"") {
		return s
	}
	return valueEscaper.Replace(s)
}
