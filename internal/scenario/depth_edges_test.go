package scenario

import (
	"strings"
	"testing"
)

// TestCheckDepthEdges: the nesting pre-scan at the places a scan of raw
// text goes wrong — the end of the input in every state (it must not read
// past it), where a quoted or block scalar ends, and where a flow closes —
// each with the position of the refusal, or passing.
func TestCheckDepthEdges(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := []struct {
		name      string
		src       string
		line, col int // 0: passes
	}{
		// The input ends in every state of the scan (no newline at the end).
		{name: "ends in spaces", src: "a: 1\n   "},
		{name: "ends in a dash", src: "a:\n- "},
		{name: "ends in a dash without its space", src: "a:\n-"},
		{name: "ends in two dashes", src: "a: 1\n--"},
		{name: "ends in a colon", src: "a:\n  b:"},
		{name: "ends in a comment", src: "a: 1 # c"},
		{name: "ends in an anchor", src: "a: &x"},
		{name: "ends inside a quoted scalar", src: `a: "abc`},
		{name: "ends inside a quoted scalar in a flow", src: `a: ["abc`},
		{name: "ends inside a flow", src: "a: [1, 2"},
		{name: "ends inside a block scalar", src: "a: |\n  text"},

		// An indented first line is a block level like any other.
		{name: "an indented first line past the limit", src: "  a: " + nest(MaxDepth), line: 1, col: 6 + MaxDepth - 1},
		{name: "an indented first line at the limit", src: "  a: " + nest(MaxDepth-1)},

		// A block scalar ends at the first line not more indented than
		// the line that opened it; what follows is scanned again.
		{name: "after a block scalar, an indented bomb", src: "body: |\n  text\nnext:\n  deep: " + nest(MaxDepth), line: 4, col: 9 + MaxDepth - 2},
		{name: "an indented block scalar", src: "a:\n  body: |\n    " + strings.Repeat("[", 500) + "\n  next: 1\n"},
		{name: "after an indented block scalar, a bomb at its key's indentation",
			src: "a:\n  body: |\n    text\n  next: " + nest(MaxDepth), line: 4, col: 9 + MaxDepth - 2},

		// A quoted scalar over lines: the scan resumes where it closes.
		{name: "a flow resumed after a multi-line quote", src: "a: [\"x\n  y\", " + nest(MaxDepth) + "]", line: 2, col: 6 + MaxDepth - 1},
		{name: "a multi-line quoted key, then brackets in a plain value", src: "\"k\n  1\": a" + strings.Repeat("[", 500) + "\n"},

		// Words are not indicators: only "- " and "? " nest a level.
		{name: "a key of many words", src: strings.Repeat("w ", 200) + ": 1\n"},
		{name: "question marks past the limit", src: strings.Repeat("? ", MaxDepth+1) + "x\n", line: 1, col: 2*MaxDepth + 1},

		// Flow style: quotes hide brackets; the nesting after an inner
		// close or a quoted scalar on the same line still counts.
		{name: "quoted brackets in a flow", src: `a: ["` + strings.Repeat("[", 100) + `", '` + strings.Repeat("]", 100) + `']`},
		{name: "a quoted bracket, then a bomb on the same line", src: `a: ["]", ` + nest(MaxDepth) + "]", line: 1, col: 10 + MaxDepth - 2},
		{name: "an inner flow closed, then a bomb on the same line", src: "a: [[1], " + nest(MaxDepth) + "]", line: 1, col: 10 + MaxDepth - 2},
		// The line numbers stay right when a flow closes at a line's start.
		{name: "a flow closed at a line's start, then a bomb", src: "a: [1,\n]\nb: " + nest(MaxDepth), line: 3, col: 4 + MaxDepth - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkDepth([]byte(c.src), MaxDepth)
			switch {
			case c.line == 0 && err != nil:
				t.Fatalf("refused at %d:%d: %s", err.line, err.col, err.msg)
			case c.line != 0 && err == nil:
				t.Fatal("passed")
			case c.line != 0 && (err.line != c.line || err.col != c.col):
				t.Errorf("refused at %d:%d, want %d:%d", err.line, err.col, c.line, c.col)
			}
		})
	}
}

// The refusal reaches the user as file:line:col with the limit named.
func TestDepthErrorPosition(t *testing.T) {
	src := "target: http://127.0.0.1:8080\nflows:\n  - steps:\n      - post: /\n        json: " + strings.Repeat("[", MaxDepth+10) + "\n"
	_, err := Parse("deep.yaml", []byte(src), Options{})
	// Block levels: flows, its "- ", steps' "- ", json: 4 (plus the root
	// mapping); the brackets add the rest, so the 60th passes 64.
	if err == nil || !strings.HasPrefix(err.Error(), "deep.yaml:5:") || !strings.Contains(err.Error(), "nesting deeper than 64 levels") {
		t.Fatalf("got %v, want deep.yaml:5:…: nesting deeper than 64 levels", err)
	}
}
