package template

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/surgeload/surge/internal/suggest"
)

// A generator produces a fresh value on every render.
type generator struct {
	usage string
	check func(args []Arg) error
	make  func(args []Arg) Getter // called once, at Compile
	// sizeOf bounds the output for valid args (MaxSize).
	sizeOf func(args []Arg) size
}

// maxRandString bounds {{randString N}}.
const maxRandString = 4096

var funcs = map[string]generator{
	"uuid": {
		usage: "uuid",
		check: nArgs(0),
		make: func([]Arg) Getter {
			return func(st *State) (Value, bool) { return Value{S: uuid(st)}, true }
		},
		sizeOf: func([]Arg) size { return safeText(36) },
	},
	"randInt": {
		usage: "randInt MIN MAX",
		check: func(args []Arg) error {
			if len(args) != 2 || args[0].IsStr || args[1].IsStr {
				return errors.New("want two integers")
			}
			if args[0].Int > args[1].Int {
				return fmt.Errorf("MIN %d is greater than MAX %d", args[0].Int, args[1].Int)
			}
			return nil
		},
		make: func(args []Arg) Getter {
			lo, hi := args[0].Int, args[1].Int
			span := uint64(hi - lo)
			return func(st *State) (Value, bool) {
				var n int64
				if span == ^uint64(0) {
					n = int64(st.rng().Uint64())
				} else {
					n = lo + int64(st.rng().Uint64N(span+1))
				}
				return Value{S: strconv.FormatInt(n, 10), JSON: true}, true
			}
		},
		sizeOf: func([]Arg) size { return safeJSON(maxIntLen) },
	},
	"randString": {
		usage: "randString LENGTH",
		check: func(args []Arg) error {
			if len(args) != 1 || args[0].IsStr {
				return errors.New("want one integer")
			}
			if args[0].Int < 1 || args[0].Int > maxRandString {
				return fmt.Errorf("LENGTH must be between 1 and %d", maxRandString)
			}
			return nil
		},
		make: func(args []Arg) Getter {
			n := int(args[0].Int)
			const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			return func(st *State) (Value, bool) {
				b := make([]byte, n)
				for i := range b {
					b[i] = alphabet[st.rng().IntN(len(alphabet))]
				}
				return Value{S: string(b)}, true
			}
		},
		sizeOf: func(args []Arg) size { return safeText(args[0].Int) },
	},
	"now": {
		usage: `now, now "unix", now "rfc3339" or now "2006-01-02" (a Go time layout)`,
		check: func(args []Arg) error {
			if len(args) > 1 || (len(args) == 1 && (!args[0].IsStr || args[0].Str == "")) {
				return errors.New("want no argument (Unix milliseconds) or one quoted format")
			}
			if len(args) == 1 && len(args[0].Str) > maxFormat {
				return fmt.Errorf("a format is at most %d bytes", maxFormat)
			}
			return nil
		},
		sizeOf: func(args []Arg) size {
			format := ""
			if len(args) == 1 {
				format = args[0].Str
			}
			switch format {
			case "", "unixms", "unix":
				return safeJSON(maxIntLen)
			case "rfc3339":
				return size{n: int64(len(time.RFC3339Nano))}
			}
			return size{n: formatSize(format)}
		},
		make: func(args []Arg) Getter {
			format := ""
			if len(args) == 1 {
				format = args[0].Str
			}
			return func(*State) (Value, bool) {
				t := time.Now()
				switch format {
				case "", "unixms":
					return Value{S: strconv.FormatInt(t.UnixMilli(), 10), JSON: true}, true
				case "unix":
					return Value{S: strconv.FormatInt(t.Unix(), 10), JSON: true}, true
				case "rfc3339":
					return Value{S: t.UTC().Format(time.RFC3339Nano)}, true
				default:
					return Value{S: t.Format(format)}, true
				}
			}
		},
	},
}

func nArgs(n int) func([]Arg) error {
	return func(args []Arg) error {
		if len(args) != n {
			return fmt.Errorf("takes %d arguments, got %d", n, len(args))
		}
		return nil
	}
}

// FuncNames lists the generators, sorted.
func FuncNames() []string {
	out := make([]string, 0, len(funcs))
	for n := range funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsFunc reports whether name is a generator.
func IsFunc(name string) bool { _, ok := funcs[name]; return ok }

// Builtin variables, provided by the State.
const (
	VarVU        = "vu.id"     // the virtual user's number, from 1
	VarIteration = "iteration" // the VU's iteration number, from 0
)

// IsBuiltin reports whether name is a variable the State always provides.
func IsBuiltin(name string) bool { return name == VarVU || name == VarIteration }

func uuid(st *State) string {
	var b [16]byte
	r := st.rng()
	hi, lo := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	const hex = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(out[:])
}

// suggestion returns "; did you mean `x`?" for the candidate closest to s, or "".
func suggestion(s string, candidates []string) string {
	if best := suggest.Closest(s, candidates); best != "" {
		return "; did you mean `" + best + "`?"
	}
	return ""
}
