package scenario

import (
	"fmt"
	"strings"
	"testing"
)

func TestCheckDepth(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	block := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(strings.Repeat("  ", i) + "a:\n")
		}
		return b.String()
	}
	cases := []struct {
		name      string
		src       string
		line, col int // 0: passes
	}{
		{name: "flow at the limit", src: "a: " + nest("[", "]", MaxDepth-1)},
		{name: "flow past the limit", src: "a: " + nest("[", "]", MaxDepth), line: 1, col: 4 + MaxDepth - 1},
		{name: "bare brackets", src: nest("[", "]", MaxDepth+1), line: 1, col: MaxDepth}, // the root is a level too
		{name: "flow mappings", src: "x: 1\ny: " + strings.Repeat("{a: ", MaxDepth) + "1" + strings.Repeat("}", MaxDepth), line: 2, col: 4 + 4*(MaxDepth-1)},
		{name: "block at the limit", src: block(MaxDepth)},
		{name: "block past the limit", src: block(MaxDepth + 1), line: MaxDepth + 1, col: 2*MaxDepth + 1},
		{name: "dashes", src: strings.Repeat("- ", MaxDepth+1) + "x\n", line: 1, col: 2*MaxDepth + 1},
		{name: "a flow over lines", src: "a: [1,\n" + strings.Repeat("  [\n", MaxDepth), line: MaxDepth, col: 3},
		{name: "after a document marker", src: "--- " + nest("[", "]", MaxDepth+1), line: 1, col: 4 + MaxDepth},
		{name: "after an anchor and a tag", src: "a: &x !!seq " + nest("[", "]", MaxDepth+1), line: 1, col: 12 + MaxDepth},
		{name: "after a quoted key", src: `"k": ` + nest("[", "]", MaxDepth+1), line: 1, col: 5 + MaxDepth},
		{name: "quoted brackets", src: `a: "` + strings.Repeat("[", 500) + "\"\nb: '" + strings.Repeat("{", 500) + "'\n"},
		{name: "quotes inside flow", src: `a: ["]]]", '[[['' ]', x]` + "\nb: " + nest("[", "]", MaxDepth), line: 2, col: 4 + MaxDepth - 1},
		{name: "a quote in a plain scalar", src: "a: [it's, " + nest("[", "]", 3) + "]\nb: " + nest("{", "}", 3)},
		{name: "comments", src: "# " + strings.Repeat("[", 500) + "\na: 1 # " + strings.Repeat("{", 500) + "\n"},
		{name: "brackets in plain scalars", src: strings.Repeat("- get: /items?filter[a=1&b[\n", 200)},
		{name: "colon in a plain scalar", src: "a: b:" + strings.Repeat("[", 500) + "\n"},
		{name: "block scalar", src: "body: |\n  " + strings.Repeat("[", 500) + "\n" + block(20) + "\nnext: 1\n"},
		{name: "folded block scalar then a bomb", src: "body: >-\n  text\nnext: " + nest("[", "]", MaxDepth), line: 3, col: 7 + MaxDepth - 1},
		{name: "CRLF line ends", src: strings.ReplaceAll(block(MaxDepth), "\n", "\r\n")},
		{name: "CRLF past the limit", src: strings.ReplaceAll(block(MaxDepth+1), "\n", "\r\n"), line: MaxDepth + 1, col: 2*MaxDepth + 1},
		{name: "multi-line quoted", src: "a: \"" + "x\n  " + strings.Repeat("[", 500) + "\"\nb: 1\n"},
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

// TestAliasNesting: aliases of aliases nest deeper than the text shows;
// the expanded depth has the same limit.
func TestAliasNesting(t *testing.T) {
	chain := func(n int) string {
		var b strings.Builder
		b.WriteString("x-0: &a0 [1]\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, "x-%d: &a%d [*a%d]\n", i, i, i-1)
		}
		fmt.Fprintf(&b, "target: http://x\nflows: [{steps: [{post: /, json: *a%d}]}]\n", n-1)
		return b.String()
	}
	if _, err := Parse("ok.yaml", []byte(chain(MaxDepth-5)), Options{}); err != nil {
		t.Fatalf("%d levels: %v", MaxDepth-5, err)
	}
	_, err := Parse("deep.yaml", []byte(chain(1000)), Options{})
	if err == nil || !strings.Contains(err.Error(), "deep.yaml:65:") || !strings.Contains(err.Error(), "nesting deeper than 64 levels once aliases are expanded") {
		t.Errorf("got %v", err)
	}
}
