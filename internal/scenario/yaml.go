package scenario

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// node is a YAML value with its position, after anchors, aliases, merge
// keys and tags are resolved. The loader walks nodes instead of decoding
// into structs, so that it can report every problem at once, in scenario
// terms, with positions.
type node struct {
	kind  nodeKind
	line  int
	col   int
	tag   string // scalars: str, int, float, bool or null
	text  string // scalars: the value as text
	value any    // scalars: string, int64, uint64, float64, bool or nil
	keys  []*node
	vals  []*node
	items []*node
}

type nodeKind int

const (
	nullNode nodeKind = iota
	scalarNode
	mapNode
	seqNode
)

func (n *node) describe() string {
	switch n.kind {
	case mapNode:
		return "a mapping"
	case seqNode:
		return "a list"
	case nullNode:
		return "nothing"
	}
	switch n.tag {
	case "int", "float":
		return "the number " + n.text
	case "bool":
		return n.text
	}
	return strconv.Quote(n.text)
}

// maxNodes bounds a document after alias expansion ("billion laughs").
const maxNodes = 1_000_000

type converter struct {
	anchors map[string]*node
	sizes   map[*node]int
	// depths is how deeply each collection nests, aliases expanded: an
	// alias of an alias of … nests deeper than the text does, and the
	// loader and the workload walk the expanded tree.
	depths map[*node]int
	total  int
}

// posError is a problem the YAML layer found, at a position.
type posError struct {
	line, col int
	msg       string
}

func (e *posError) Error() string { return e.msg }

// parseYAML parses src into a node tree.
func parseYAML(src []byte) (root *node, err error) {
	defer func() {
		// The parser is third-party code fed with user input: a panic in it
		// must become a clear error, never a crash of the CLI or server.
		if r := recover(); r != nil {
			root, err = nil, &posError{1, 1, fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	if err := checkDepth(src, MaxDepth); err != nil {
		return nil, err
	}
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey()) // duplicates are reported below, in our words
	if err != nil {
		return nil, syntaxError(err)
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			if _, isComment := d.Body.(*ast.CommentGroupNode); !isComment {
				docs = append(docs, d)
			}
		}
	}
	if len(docs) == 0 {
		return nil, &posError{1, 1, "empty scenario: want a mapping with at least `flows`"}
	}
	if len(docs) > 1 {
		p := docs[1].Body.GetToken().Position
		return nil, &posError{p.Line, p.Column, "more than one YAML document: a scenario file holds one"}
	}
	c := &converter{anchors: map[string]*node{}, sizes: map[*node]int{}, depths: map[*node]int{}}
	return c.convert(docs[0].Body)
}

func syntaxError(err error) error {
	var se *yaml.SyntaxError
	if errors.As(err, &se) && se.Token != nil {
		return &posError{se.Token.Position.Line, se.Token.Position.Column, "YAML: " + se.Message}
	}
	return &posError{1, 1, "YAML: " + err.Error()}
}

func at(tk *token.Token) (int, int) {
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

func (c *converter) errorf(n ast.Node, format string, args ...any) error {
	l, col := at(n.GetToken())
	return &posError{l, col, fmt.Sprintf(format, args...)}
}

// count adds by values to the document's total after alias expansion:
// one for every node as it is read, and an anchor's whole size for every
// alias of it. A node's own size (sizes) is kept apart: it grows by its
// children's sizes and is never changed by an alias of it, so an anchor
// merged into many steps costs its size once per use, not a doubling.
func (c *converter) count(line, col, by int) error {
	c.total += by
	if c.total > maxNodes {
		return &posError{line, col, fmt.Sprintf("document too large: more than %d values once aliases are expanded", maxNodes)}
	}
	return nil
}

func (c *converter) convert(an ast.Node) (*node, error) {
	if isNil(an) {
		return &node{kind: nullNode, tag: "null"}, nil
	}
	l, col := at(an.GetToken())
	n := &node{line: l, col: col}
	switch v := an.(type) {
	case *ast.NullNode:
		n.kind, n.tag, n.text = nullNode, "null", ""
	case *ast.StringNode:
		n.kind, n.tag, n.text, n.value = scalarNode, "str", v.Value, v.Value
	case *ast.LiteralNode:
		s := ""
		if v.Value != nil {
			s = v.Value.Value
		}
		n.kind, n.tag, n.text, n.value = scalarNode, "str", s, s
	case *ast.IntegerNode:
		n.kind, n.tag, n.text, n.value = scalarNode, "int", v.GetToken().Value, v.Value
	case *ast.FloatNode:
		n.kind, n.tag, n.text, n.value = scalarNode, "float", v.GetToken().Value, v.Value
	case *ast.InfinityNode:
		n.kind, n.tag, n.text, n.value = scalarNode, "float", v.GetToken().Value, v.Value
	case *ast.NanNode:
		n.kind, n.tag, n.text, n.value = scalarNode, "float", v.GetToken().Value, math.NaN()
	case *ast.BoolNode:
		n.kind, n.tag, n.text, n.value = scalarNode, "bool", v.GetToken().Value, v.Value
	case *ast.TagNode:
		inner, err := c.convert(v.Value)
		if err != nil {
			return nil, err
		}
		switch v.Start.Value {
		case "!!str":
			if inner.kind == scalarNode || inner.kind == nullNode {
				cp := *inner
				cp.kind, cp.tag, cp.value = scalarNode, "str", inner.text
				return &cp, nil
			}
			return nil, c.errorf(an, "!!str applies to a scalar")
		case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq":
			return inner, nil
		}
		return nil, c.errorf(an, "unsupported YAML tag %s", v.Start.Value)
	case *ast.AnchorNode:
		inner, err := c.convert(v.Value)
		if err != nil {
			return nil, err
		}
		c.anchors[v.Name.GetToken().Value] = inner
		return inner, nil
	case *ast.AliasNode:
		name := v.Value.GetToken().Value
		target, ok := c.anchors[name]
		if !ok {
			return nil, c.errorf(an, "unknown alias *%s (anchors must be defined before use)", name)
		}
		l, col := at(an.GetToken())
		if err := c.count(l, col, c.sizes[target]); err != nil {
			return nil, err
		}
		return target, nil
	case *ast.MappingNode:
		n.kind = mapNode
		if !v.IsFlowStyle && len(v.Values) > 0 && !isNil(v.Values[0].Key) {
			n.line, n.col = at(v.Values[0].Key.GetToken())
		}
		if err := c.pairs(n, v.Values); err != nil {
			return nil, err
		}
	case *ast.MappingValueNode:
		n.kind = mapNode
		if !isNil(v.Key) {
			n.line, n.col = at(v.Key.GetToken())
		}
		if err := c.pairs(n, []*ast.MappingValueNode{v}); err != nil {
			return nil, err
		}
	case *ast.SequenceNode:
		n.kind = seqNode
		for _, it := range v.Values {
			cn, err := c.convert(it)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, cn)
			c.sizes[n] += c.sizes[cn]
		}
	case *ast.CommentGroupNode, *ast.CommentNode:
		n.kind, n.tag = nullNode, "null"
	default:
		return nil, c.errorf(an, "unsupported YAML construct (%s)", an.Type())
	}
	c.sizes[n]++
	if err := c.count(n.line, n.col, 1); err != nil {
		return nil, err
	}
	if n.kind == mapNode || n.kind == seqNode {
		d := 0
		for _, ch := range append(n.items, n.vals...) {
			d = max(d, c.depths[ch])
		}
		if c.depths[n] = d + 1; c.depths[n] > MaxDepth {
			return nil, &posError{n.line, n.col, fmt.Sprintf("nesting deeper than %d levels once aliases are expanded", MaxDepth)}
		}
	}
	return n, nil
}

// pairs converts a mapping's entries into n, applying merge keys (<<):
// the merged mapping's keys come in only where n does not set them.
func (c *converter) pairs(n *node, mvs []*ast.MappingValueNode) error {
	index := map[string]int{}
	var merged []*node
	for _, mv := range mvs {
		if mv == nil || isNil(mv.Key) {
			continue
		}
		if mv.Key.IsMergeKey() {
			src, err := c.convert(mv.Value)
			if err != nil {
				return err
			}
			switch src.kind {
			case mapNode:
				merged = append(merged, src)
			case seqNode:
				for _, it := range src.items {
					if it.kind != mapNode {
						return c.errorf(mv.Value, "<< merges mappings; this list holds %s", it.describe())
					}
					merged = append(merged, it)
				}
			default:
				return c.errorf(mv.Value, "<< merges a mapping, got %s", src.describe())
			}
			continue
		}
		k, err := c.convert(mv.Key)
		if err != nil {
			return err
		}
		if k.kind != scalarNode && k.kind != nullNode {
			return &posError{k.line, k.col, "a key must be a plain value, not " + k.describe()}
		}
		if first, dup := index[k.text]; dup {
			return &posError{k.line, k.col, fmt.Sprintf("duplicate key `%s` (first at line %d)", k.text, n.keys[first].line)}
		}
		val, err := c.convert(mv.Value)
		if err != nil {
			return err
		}
		if val.kind == nullNode && val.line == 0 {
			val.line, val.col = k.line, k.col
		}
		index[k.text] = len(n.keys)
		n.keys = append(n.keys, k)
		n.vals = append(n.vals, val)
		c.sizes[n] += c.sizes[k] + c.sizes[val]
	}
	for _, m := range merged {
		for i, k := range m.keys {
			if _, set := index[k.text]; !set {
				index[k.text] = len(n.keys)
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, m.vals[i])
				c.sizes[n] += c.sizes[k] + c.sizes[m.vals[i]]
			}
		}
	}
	return nil
}

// isNil reports whether n is nil, including a nil pointer in the interface
// (which the parser leaves for some empty values).
func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
