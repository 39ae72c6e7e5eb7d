package scenario

import "fmt"

// MaxDepth bounds how deeply a scenario's YAML may nest: mappings and
// lists inside each other, in flow style ([…], {…}) and block style
// (indentation, "- " entries) alike. A real scenario nests less than 10
// levels (flows → steps → json body → …); 64 leaves room for deep JSON
// bodies. The YAML parser spends memory far out of proportion to the input
// on deep nesting (120 KB of "[" took gigabytes, before the node limit
// could run), so checkDepth refuses it before the parser sees the file.
const MaxDepth = 64

// checkDepth scans src for nesting deeper than limit and reports the
// position where the limit was passed. It is a cheap approximation of the
// YAML grammar, linear in the input and allocating only its indentation
// stack (at most limit+1 entries): it counts a level for every open flow
// bracket and for every block level (a line more indented than the one it
// belongs to, and every "- " or "? " before a line's content), and it
// skips quoted scalars, comments and block scalars (| and >), so brackets
// in text do not count. It counts at least half the levels the parser
// nests (a list written at its key's indentation is one indentation level
// for two collections), so a file it passes nests at most about 2×limit
// levels, where the parser is cheap; aliases, which nest without showing
// in the text, are checked after parsing (converter.depths). It may count
// more than the parser for odd but valid text, such as a plain scalar
// continued on a line that starts with "[".
func checkDepth(src []byte, limit int) *posError {
	s := depthScanner{src: src, limit: limit, line: 1}
	return s.scan()
}

type depthScanner struct {
	src       []byte
	limit     int
	i         int // offset into src
	line      int // 1-based line of src[i]
	lineStart int // offset of the current line's first byte

	indents []int // block levels: the columns (0-based) that open them
	flow    int   // open flow brackets
	// quote is the quote character of a quoted scalar that continues past
	// the end of a line, or 0.
	quote byte
	// blockScalar holds the indentation a block scalar's content lines
	// must exceed while one is being skipped, or -1.
	blockScalar int
}

func (s *depthScanner) col() int { return s.i - s.lineStart }

func (s *depthScanner) tooDeep(col int) *posError {
	return &posError{s.line, col + 1, fmt.Sprintf("nesting deeper than %d levels: a scenario's mappings and lists nest a few levels; simplify the structure", s.limit)}
}

func (s *depthScanner) depth() int { return len(s.indents) + s.flow }

func (s *depthScanner) scan() *posError {
	s.blockScalar = -1
	for s.i < len(s.src) {
		if err := s.scanLine(); err != nil {
			return err
		}
	}
	return nil
}

// scanLine scans from the start of a line to the start of the next.
func (s *depthScanner) scanLine() *posError {
	s.lineStart = s.i
	indent := 0
	for s.i < len(s.src) && s.src[s.i] == ' ' {
		s.i++
		indent++
	}
	blank := s.i >= len(s.src) || s.src[s.i] == '\n' || s.src[s.i] == '\r'
	if s.blockScalar >= 0 {
		if blank || indent > s.blockScalar {
			s.skipLine()
			return nil
		}
		s.blockScalar = -1
	}
	switch {
	case s.quote != 0:
		if err := s.skipQuoted(); err != nil || s.quote != 0 {
			s.skipLine()
			return err
		}
		if s.flow > 0 {
			return s.inFlow()
		}
		return s.rest(false)
	case s.flow > 0:
		return s.inFlow()
	case blank || s.src[s.i] == '#':
		s.skipLine()
		return nil
	}
	// A block line: it belongs to the nearest less indented level.
	for len(s.indents) > 0 && s.indents[len(s.indents)-1] >= indent {
		s.indents = s.indents[:len(s.indents)-1]
	}
	if err := s.push(indent); err != nil {
		return err
	}
	// "- - x" and "? x" nest a level per indicator on the same line.
	for s.i < len(s.src) && (s.src[s.i] == '-' || s.src[s.i] == '?') && s.spaceAt(s.i+1) {
		if s.src[s.i] == '-' && s.startsDocument() {
			break
		}
		s.i++
		for s.i < len(s.src) && s.src[s.i] == ' ' {
			s.i++
		}
		if s.endOfContent() {
			break
		}
		if err := s.push(s.col()); err != nil {
			return err
		}
	}
	return s.rest(true)
}

func (s *depthScanner) push(col int) *posError {
	s.indents = append(s.indents, col)
	if s.depth() > s.limit {
		return s.tooDeep(col)
	}
	return nil
}

// startsDocument reports whether the line holds a "---" marker at s.i.
func (s *depthScanner) startsDocument() bool {
	return s.col() == 0 && s.i+2 < len(s.src) && s.src[s.i+1] == '-' && s.src[s.i+2] == '-' && s.spaceAt(s.i+3)
}

// spaceAt reports whether src[j] is a space, a line break or the end.
func (s *depthScanner) spaceAt(j int) bool {
	return j >= len(s.src) || s.src[j] == ' ' || s.src[j] == '\t' || s.src[j] == '\n' || s.src[j] == '\r'
}

func (s *depthScanner) endOfContent() bool {
	return s.i >= len(s.src) || s.src[s.i] == '\n' || s.src[s.i] == '\r' || s.src[s.i] == '#'
}

func (s *depthScanner) skipLine() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
	if s.i < len(s.src) {
		s.i++
		s.line++
	}
}

// rest scans the rest of a block line. atValue is set where a value may
// start: a quote, a bracket or a block scalar indicator there is syntax;
// inside a plain scalar it is text.
func (s *depthScanner) rest(atValue bool) *posError {
	lineIndent := 0
	for j := s.lineStart; j < len(s.src) && s.src[j] == ' '; j++ {
		lineIndent++
	}
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n':
			s.i++
			s.line++
			return nil
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
			continue
		case c == '#' && (s.i == s.lineStart || s.spaceAt(s.i-1)):
			s.skipLine()
			return nil
		case c == '-' && s.startsDocument():
			s.i += 3 // "--- [": the document's value may follow
			atValue = true
			continue
		case atValue && (c == '&' || c == '!'):
			// an anchor or a tag before the value: the value may still start
			for s.i < len(s.src) && !s.spaceAt(s.i) {
				s.i++
			}
			continue
		case atValue && (c == '"' || c == '\''):
			if done, err := s.quoted(c); done {
				return err
			}
			atValue = false
			continue
		case atValue && (c == '[' || c == '{'):
			return s.inFlow()
		case atValue && (c == '|' || c == '>'):
			s.blockScalar = lineIndent
			s.skipLine()
			return nil
		case c == ':' && s.spaceAt(s.i+1):
			s.i++
			atValue = true
			continue
		}
		// plain text, up to the next space (where a ": " or " #" may follow)
		atValue = false
		for s.i < len(s.src) && !s.spaceAt(s.i) && !(s.src[s.i] == ':' && s.spaceAt(s.i+1)) {
			s.i++
		}
	}
	return nil
}

// skipQuoted skips to the end of the quoted scalar s.quote opened, or to
// the end of the line when it goes on; a line break inside it is left for
// scanLine.
func (s *depthScanner) skipQuoted() *posError {
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n':
			return nil
		case s.quote == '"' && c == '\\':
			s.i += 2
			continue
		case c == s.quote && s.quote == '\'' && s.i+1 < len(s.src) && s.src[s.i+1] == '\'':
			s.i += 2
			continue
		case c == s.quote:
			s.quote = 0
			s.i++
			return nil
		}
		s.i++
	}
	return nil
}

// inFlow scans flow style ([…], {…}) until its outermost bracket closes or
// the line ends. Inside flow style a plain scalar cannot hold a bracket or
// a comma, so every bracket outside quotes counts; a quote is syntax where
// a scalar may start (after a bracket, a comma, a ":" or a "?").
func (s *depthScanner) inFlow() *posError {
	atValue := true
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n':
			s.i++
			s.line++
			return nil
		case c == ' ' || c == '\t' || c == '\r':
		case c == '#' && (s.i == s.lineStart || s.spaceAt(s.i-1)):
			s.skipLine()
			return nil
		case c == '[' || c == '{':
			s.flow++
			if s.depth() > s.limit {
				return s.tooDeep(s.col())
			}
			atValue = true
		case c == ']' || c == '}':
			if s.flow > 0 {
				s.flow--
			}
			atValue = false
			if s.flow == 0 {
				s.i++
				return s.rest(false)
			}
		case c == ',' || c == ':' || c == '?':
			atValue = true
		case atValue && (c == '"' || c == '\''):
			if done, err := s.quoted(c); done {
				return err
			}
			atValue = false
			continue
		default:
			atValue = false
		}
		s.i++
	}
	return nil
}

// quoted skips the quoted scalar that starts at s.i with quote c. done
// says the scan of this line is over: the scalar runs on past the line
// (the rest is skipped), or err says it is broken.
func (s *depthScanner) quoted(c byte) (done bool, err *posError) {
	s.quote = c
	s.i++
	if err := s.skipQuoted(); err != nil {
		return true, err
	}
	if s.quote != 0 {
		s.skipLine()
		return true, nil
	}
	return false, nil
}
