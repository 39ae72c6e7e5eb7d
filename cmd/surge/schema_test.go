package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

// field is one line of testdata/summary-v1.fields.
type field struct {
	types    map[string]bool // "string", "number", "bool", "object", "array", "null"
	optional bool
	line     int
}

var (
	schemaOnce   sync.Once
	schemaFields map[string]field
	schemaErr    error
)

// summaryFields reads the field list kept in the repository: the summary's
// schema, which docs/summary.md documents.
func summaryFields(t testing.TB) map[string]field {
	t.Helper()
	schemaOnce.Do(func() {
		f, err := os.Open(filepath.Join("testdata", "summary-v1.fields"))
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		schemaFields = map[string]field{}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			parts := strings.Fields(line)
			if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "optional") {
				schemaErr = fmt.Errorf("summary-v1.fields:%d: want PATH TYPES [optional], got %q", n, line)
				return
			}
			fd := field{types: map[string]bool{}, optional: len(parts) == 3, line: n}
			for _, ty := range strings.Split(parts[1], "|") {
				fd.types[ty] = true
			}
			schemaFields[parts[0]] = fd
		}
		if schemaErr = sc.Err(); schemaErr == nil && len(schemaFields) < 50 {
			schemaErr = fmt.Errorf("summary-v1.fields lists only %d fields", len(schemaFields))
		}
	})
	if schemaErr != nil {
		t.Fatalf("reading the summary schema: %v", schemaErr)
	}
	return schemaFields
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// summaryProblems lists how a JSON summary departs from the field list: a
// listed field missing, a value of another type, a field not listed.
func summaryProblems(fields map[string]field, doc []byte) []string {
	var root any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return []string{fmt.Sprintf("not JSON: %v", err)}
	}
	if _, ok := root.(map[string]any); !ok {
		return []string{"not a JSON object"}
	}
	var probs []string
	seen := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for name, fd := range fields {
				parent, key := splitPath(name)
				if parent == path && !fd.optional && !strings.HasSuffix(name, "[]") {
					if _, ok := v[key]; !ok {
						probs = append(probs, fmt.Sprintf("%s: missing", name))
					}
				}
			}
			for key, x := range v {
				p := key
				if path != "" {
					p = path + "." + key
				}
				fd, ok := fields[p]
				switch {
				case !ok:
					if !seen[p] {
						probs = append(probs, fmt.Sprintf("%s: not in testdata/summary-v1.fields (add it there and to docs/summary.md)", p))
					}
				case !fd.types[jsonType(x)]:
					probs = append(probs, fmt.Sprintf("%s: %s, want %s", p, jsonType(x), typesOf(fd)))
				default:
					walk(p, x)
				}
				seen[p] = true
			}
		case []any:
			el := path + "[]"
			fd, ok := fields[el]
			for _, x := range v {
				switch {
				case !ok:
					probs = append(probs, fmt.Sprintf("%s: not in testdata/summary-v1.fields", el))
					return
				case !fd.types[jsonType(x)]:
					probs = append(probs, fmt.Sprintf("%s: %s, want %s", el, jsonType(x), typesOf(fd)))
				default:
					walk(el, x)
				}
			}
		}
	}
	walk("", root)
	if s, _ := root.(map[string]any)["schema"].(string); s != "surge.summary/v1" {
		probs = append(probs, fmt.Sprintf("schema: %q, want surge.summary/v1", s))
	}
	sort.Strings(probs)
	return compact(probs)
}

func splitPath(p string) (parent, key string) {
	i := strings.LastIndex(p, ".")
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

func typesOf(fd field) string {
	var ts []string
	for t := range fd.types {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return strings.Join(ts, "|")
}

func compact(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// checkSummary checks every summary a test of this package produces.
func checkSummary(t *testing.T, doc []byte) {
	t.Helper()
	if probs := summaryProblems(summaryFields(t), doc); len(probs) > 0 {
		t.Errorf("the JSON summary departs from testdata/summary-v1.fields (docs/summary.md):\n  %s", strings.Join(probs, "\n  "))
	}
}

// The checker itself must be able to fail: a summary with a field missing,
// one of the wrong type, and one nobody documented.
func TestSummaryCheckerFindsDepartures(t *testing.T) {
	fields := summaryFields(t)
	tb := testutil.StartTarget(t, testbed.Options{})
	out := filepath.Join(t.TempDir(), "s.json")
	r := raw(t, 30e9, "run", "-q", "-u", tb.URL()+"/hello", "--vus", "1", "--requests", "5", "--out", "json="+out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if p := summaryProblems(fields, good); len(p) > 0 {
		t.Fatalf("a real summary: %v", p)
	}
	var doc map[string]any
	if err := json.Unmarshal(good, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["totals"].(map[string]any), "dropped_iterations")
	doc["generator"].(map[string]any)["limited"] = "no"
	doc["run"].(map[string]any)["colour"] = "blue"
	bad, _ := json.Marshal(doc)
	got := strings.Join(summaryProblems(fields, bad), "\n")
	for _, want := range []string{"totals.dropped_iterations: missing", "generator.limited: string, want bool", "run.colour: not in testdata"} {
		if !strings.Contains(got, want) {
			t.Errorf("checker missed %q; it said:\n%s", want, got)
		}
	}
}

// A run that fills every array (endpoints, checks, thresholds, error
// messages, timeline) matches the field list, and every listed field is
// documented in docs/summary.md.
// keyedByValue are the objects whose keys are values, not field names
// (a protocol's name): the object is documented, with what its keys are.
var keyedByValue = map[string]bool{"endpoints[].protocols": true}

func TestSummaryMatchesTheDocumentedSchema(t *testing.T) {
	fields := summaryFields(t)
	tb := testutil.StartTarget(t, testbed.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "probe.yaml")
	if err := os.WriteFile(file, []byte(`name: schema probe
target: `+tb.URL()+`
load: {model: open, rate: 40, stages: [{duration: 1s, target: 40}, {duration: 1s, target: 40}]}
flows:
  - steps:
      - {name: hello, get: /hello, check: {status: 200}}
      - {name: missing, get: /status/404}
thresholds: ["p99<5s", "errors<1%"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "s.json")
	r := raw(t, 30e9, "run", "-q", file, "--out", "json="+out)
	if r.code != 3 { // errors<1% fails: half the requests are 404s
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if p := summaryProblems(fields, doc); len(p) > 0 {
		t.Fatalf("the summary departs from the schema:\n  %s", strings.Join(p, "\n  "))
	}
	var s struct {
		Endpoints, Checks, Thresholds, Timeline []any
		Messages                                []any `json:"error_messages"`
		Plan                                    struct{ Stages []any }
	}
	if err := json.Unmarshal(doc, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Endpoints) != 2 || len(s.Checks) == 0 || len(s.Thresholds) != 2 || len(s.Timeline) == 0 || len(s.Messages) == 0 {
		t.Fatalf("the probe run must fill the arrays it checks: %s", doc)
	}

	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_0-9.\\[\\]]+)`").FindAllStringSubmatch(string(docs), -1) {
		documented[m[1]] = true
	}
	for name := range fields {
		if strings.HasSuffix(name, "[]") {
			continue // the array itself is documented
		}
		// endpoints[].latency_ms.p50 is documented as `latency_ms.p50`
		// once `endpoints[].latency_ms` is
		parent, key := splitPath(name)
		shared := documented[parent] && (documented["latency_ms."+key] || documented["errors."+key])
		for obj := range keyedByValue {
			// Its keys are values (and may hold dots: HTTP/1.1),
			// documented with the object.
			shared = shared || documented[obj] && strings.HasPrefix(name, obj+".")
		}
		if !documented[name] && !shared {
			t.Errorf("docs/summary.md does not document `%s`", name)
		}
	}
}
