package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Problems are sorted by position; those without one come after the
// others, and problems at one position keep the order they were found in.
func TestSortProblems(t *testing.T) {
	p := Problems{
		&Error{Msg: "no position 1"},
		&Error{Line: 3, Col: 5, Msg: "3:5 first"},
		errors.New("not an Error"),
		&Error{Line: 3, Col: 5, Msg: "3:5 second"},
		&Error{Line: 1, Col: 9, Msg: "1:9"},
		&Error{Msg: "no position 2"},
		&Error{Line: 3, Col: 5, Msg: "3:5 third"},
		&Error{Line: 3, Col: 2, Msg: "3:2"},
	}
	sortProblems(p)
	var got []string
	for _, e := range p {
		var pe *Error
		if errors.As(e, &pe) {
			got = append(got, pe.Msg)
		} else {
			got = append(got, e.Error())
		}
	}
	want := []string{"1:9", "3:2", "3:5 first", "3:5 second", "3:5 third", "no position 1", "not an Error", "no position 2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sorted\n %q\nwant\n %q", got, want)
	}
}

// A key without a value is reported where the value is missing: after
// the colon when there is one, at the key when there is none ({get}).
func TestNullValuePositions(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"target: http://127.0.0.1:8080\nflows: [{steps: [{get: }]}]\n", "x.yaml:2:23: `get` must be a string, got nothing"},
		{"target: http://127.0.0.1:8080\nflows: [{steps: [{get}]}]\n", "x.yaml:2:20: `get` must be a string, got nothing"},
		{"target: http://127.0.0.1:8080\nflows:\n  - steps:\n      - get:\n", "x.yaml:4:14: `get` must be a string, got nothing"},
		// A null key is a key like any other, and unknown.
		{"target: http://127.0.0.1:8080\n~: 1\nflows: [{steps: [{get: /}]}]\n", "x.yaml:2:1: unknown key `` in the scenario"},
	} {
		_, err := Parse("x.yaml", []byte(c.src), Options{})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %s", c.src, err, c.want)
		}
	}
}

// Error messages quote at most 60 characters of a template.
func TestQuotedTemplatesAreCut(t *testing.T) {
	for _, c := range []struct {
		n   int // runes of template
		cut bool
	}{{59, false}, {60, false}, {61, true}} {
		src := strings.Repeat("é", c.n-2) + "{{"
		p := Plan{Target: "http://127.0.0.1:8080", Flows: []Flow{{Steps: []Step{{Method: "POST", URL: "/", Body: src}}}}}
		err := p.Validate()
		want := fmt.Sprintf("%q", src)
		if c.cut {
			want = fmt.Sprintf("%q", string([]rune(src)[:60])+"…")
		}
		if err == nil || !strings.Contains(err.Error(), "bad template "+want+":") {
			t.Errorf("%d runes: got %v, want it to quote %s", c.n, err, want)
		}
	}
}

// Naming a data source without a column suggests one of its columns, or
// COLUMN when it has none.
func TestDataSourceNamedWithoutColumn(t *testing.T) {
	for _, c := range []struct {
		cols []string
		want string
	}{{[]string{"email", "password"}, "`users.email`"}, {nil, "`users.COLUMN`"}} {
		p := Plan{Target: "http://127.0.0.1:8080", Data: []DataSource{{Name: "users", Columns: c.cols}},
			Flows: []Flow{{Steps: []Step{{Method: "POST", URL: "/", Body: "{{users}}"}}}}}
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), "is a data source: name one of its columns, e.g. "+c.want) {
			t.Errorf("columns %v: got %v, want a hint %s", c.cols, err, c.want)
		}
	}
}

// A variable used before the setup step that extracts it: the message
// names that step, counting from 1.
func TestUsedBeforeItsSetupStep(t *testing.T) {
	p := Plan{Target: "http://127.0.0.1:8080",
		Setup: []Step{
			{Method: "GET", URL: "/a"},
			{Method: "GET", URL: "/b", Headers: []Header{{Name: "Authorization", Value: "Bearer {{token}}"}}},
			{Method: "POST", URL: "/login", Extract: []Extract{{Var: "token", From: FromJSON, Expr: "token"}}},
		},
		Flows: []Flow{{Steps: []Step{{Method: "GET", URL: "/"}}}}}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "`token` is not set yet here: it is extracted by setup step 3;") {
		t.Errorf("got %v, want the use refused naming setup step 3", err)
	}
}

// The value limit counts the document as its aliases expand it: here the
// root, three keys, three lists, 998 + 994 plain items and 999 copies of
// a's 999 nodes make exactly 1,000,000 values, which is allowed; one more
// is not.
func TestNodeLimitIsInclusive(t *testing.T) {
	doc := func(n int) string {
		return "a: &a [" + strings.Repeat("x, ", 998) + "]\nb: [" + strings.Repeat("*a, ", 999) + "]\nc: [" + strings.Repeat("x, ", n) + "]\n"
	}
	if _, err := Parse("at.yaml", []byte(doc(994)), Options{}); err == nil || strings.Contains(err.Error(), "document too large") {
		t.Errorf("1,000,000 values: got %v, want only the missing target and flows", err)
	}
	_, err := Parse("past.yaml", []byte(doc(995)), Options{})
	if err == nil || !strings.Contains(err.Error(), "past.yaml:1:1:") || !strings.Contains(err.Error(), "document too large: more than 1000000 values once aliases are expanded") {
		t.Errorf("1,000,001 values: got %v", err)
	}
}

// Keys merged in with << count at their full size where the mapping is
// used again: a bomb of merges alone is refused like one of aliases.
func TestMergedKeysCountInAliases(t *testing.T) {
	src := "a: &a {a0: [" + strings.Repeat("x, ", 100) + "]}\nb: &b {<<: *a}\nc: [" + strings.Repeat("*b, ", 10_000) + "]\n"
	_, err := Parse("merges.yaml", []byte(src), Options{})
	if err == nil || !strings.Contains(err.Error(), "document too large") {
		t.Errorf("got %v, want the document refused as too large", err)
	}
}
