package scenario

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by every validation error, so callers can map bad
// input to its exit code with errors.Is.
var ErrInvalid = errors.New("invalid plan")

// Error is one problem with a plan. When the plan came from a file it
// carries the position, and prints as "shop.yaml:12:7: unknown key …".
type Error struct {
	File      string
	Line, Col int // 1-based; 0 when unknown
	// Path names the plan field the problem is about, e.g. "load.rate" or
	// "flows[0].steps[2].url"; the loader maps it to a position.
	Path string
	// Context says where the problem is in words ("flow \"browse\": step
	// 2"); it is printed only when there is no position.
	Context string
	Msg     string
	// summary marks a problem about a whole (a flow that sends nothing,
	// a step with no request) that a problem inside it may have caused.
	summary bool
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	case e.Context != "":
		return e.Context + ": " + e.Msg
	}
	return e.Msg
}

// Is makes errors.Is(err, ErrInvalid) hold for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Problems is every problem found while validating a plan, in the order of
// their positions when they have any.
type Problems []error

func (p Problems) Error() string {
	msgs := make([]string, len(p))
	for i, e := range p {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is see ErrInvalid and errors.As see each *Error.
func (p Problems) Unwrap() []error { return append([]error{ErrInvalid}, p...) }

// sortProblems orders problems by file position; those without one keep
// their order, after the others.
func sortProblems(p Problems) {
	pos := func(e error) (int, int) {
		var pe *Error
		if errors.As(e, &pe) && pe.Line > 0 {
			return pe.Line, pe.Col
		}
		return 1 << 30, 0
	}
	sort.SliceStable(p, func(i, j int) bool {
		li, ci := pos(p[i])
		lj, cj := pos(p[j])
		return li < lj || (li == lj && ci < cj)
	})
}

// oneLine keeps a message on one line: a value quoted in it (a key, a
// template) may hold line breaks.
var oneLine = strings.NewReplacer("\n", `\n`, "\r", `\r`)
