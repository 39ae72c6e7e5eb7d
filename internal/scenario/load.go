package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/feeder"
	"github.com/surgeload/surge/internal/suggest"
	"github.com/surgeload/surge/internal/template"
)

// Options tell Parse and LoadFile about the world outside the file. The
// zero value reads files from the working directory and sees no
// environment variables.
type Options struct {
	// Getenv returns the value of {{env.NAME}}; an empty value counts as
	// unset, which is an error. Nil means no environment.
	Getenv func(string) string
	// ReadFile reads data and body files (and, in LoadFile, the scenario);
	// nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Dir is where relative file names in the scenario are resolved;
	// LoadFile sets it to the scenario's directory when empty.
	Dir string
	// Overrides are laid over the file (flags win) before validation.
	Overrides Overrides
}

// MaxFileSize bounds a scenario file.
const MaxFileSize = 10 << 20

// LoadFile reads, parses and validates the scenario file at path.
func LoadFile(path string, o Options) (Plan, error) {
	src, err := o.read(path, MaxFileSize)
	if err != nil {
		return Plan{}, Problems{&Error{File: path, Msg: "reading: " + fileErr(err)}}
	}
	if o.Dir == "" {
		o.Dir = filepath.Dir(path)
	}
	return Parse(path, src, o)
}

// MaxDataFileSize bounds a data file (csv, json) or a body_file: they are
// held in memory for the whole run, once per run, not per VU.
const MaxDataFileSize = 64 << 20

func (o Options) read(name string, limit int64) ([]byte, error) {
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return readBounded(name, limit)
}

// readBounded reads a regular file of at most limit bytes. A device, a
// pipe or a file still growing (/dev/zero, a FIFO, a log) is refused or
// cut off at the limit instead of being read without end.
func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the limit of %d (docs/limits.md)", name, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s grew past the limit of %d bytes while it was read", name, limit)
	}
	return b, nil
}

func fileErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse parses and validates a scenario; name is used in error positions
// ("name:line:col: …"). Every problem found is returned at once, as
// Problems wrapping ErrInvalid, sorted by position.
func Parse(name string, src []byte, o Options) (Plan, error) {
	l := &loader{file: name, opts: o, pos: map[string][2]int{}}
	if len(src) > MaxFileSize {
		return Plan{}, Problems{&Error{File: name, Msg: fmt.Sprintf("file larger than %d MiB", MaxFileSize>>20)}}
	}
	root, err := parseYAML(src)
	if err != nil {
		var pe *posError
		if errors.As(err, &pe) {
			return Plan{}, Problems{&Error{File: name, Line: max(pe.line, 1), Col: max(pe.col, 1), Msg: oneLine.Replace(pe.msg)}}
		}
		return Plan{}, Problems{&Error{File: name, Line: 1, Col: 1, Msg: oneLine.Replace(err.Error())}}
	}
	p := l.plan(root)
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	p.Env = map[string]string{}
	if o.Getenv != nil {
		for _, n := range p.EnvNames() {
			if v := o.Getenv(n); v != "" {
				p.Env[n] = v
			}
		}
	}
	p.Apply(o.Overrides)
	verr := p.Validate()
	probs := Problems{}
	for _, e := range l.errs {
		probs = append(probs, e)
	}
	var vp Problems
	if errors.As(verr, &vp) {
		for _, e := range vp {
			var pe *Error
			if !errors.As(e, &pe) {
				probs = append(probs, &Error{File: name, Line: 1, Col: 1, Msg: oneLine.Replace(e.Error())})
				continue
			}
			if l.cascades(pe) {
				continue
			}
			cp := *pe
			cp.File = name
			cp.Line, cp.Col = l.position(pe.Path)
			probs = append(probs, &cp)
		}
	} else if verr != nil {
		probs = append(probs, &Error{File: name, Line: 1, Col: 1, Msg: oneLine.Replace(verr.Error())})
	}
	if len(probs) > 0 {
		sortProblems(probs)
		return p, probs
	}
	return p, nil
}

// loader turns a node tree into a Plan, recording problems with their
// positions and the position of every field it sets, so that problems
// Validate finds later can be placed too.
type loader struct {
	file string
	opts Options
	errs []*Error
	pos  map[string][2]int // plan path -> line, col
}

func (l *loader) errorf(n *node, path, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: max(n.line, 1), Col: max(n.col, 1), Path: path, Msg: oneLine.Replace(fmt.Sprintf(format, args...))})
}

func (l *loader) mark(path string, n *node) {
	if n != nil && n.line > 0 {
		l.pos[path] = [2]int{n.line, n.col}
	}
}

// position finds the position of path, or of its nearest ancestor.
func (l *loader) position(path string) (int, int) {
	for {
		if p, ok := l.pos[path]; ok {
			return p[0], p[1]
		}
		if path == "" {
			return 1, 1
		}
		path = parent(path)
	}
}

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// cascades reports whether a problem Validate found is likely a
// consequence of one the loader already reported: it is about the same
// field (or one inside it), or it sums up a whole with a problem inside.
func (l *loader) cascades(pe *Error) bool {
	for _, e := range l.errs {
		if within(pe.Path, e.Path) || (pe.summary && within(e.Path, pe.Path)) {
			return true
		}
	}
	return false
}

// entry is the path under which the loader reports an entry of a mapping
// or list that it could not read (and so left out of the plan): apart from
// the indexes of the entries it kept.
func entry(path, key string) string { return path + "[" + strconv.Quote(key) + "]" }

// within reports whether path a is b or inside it.
func within(a, b string) bool {
	if !strings.HasPrefix(a, b) {
		return false
	}
	return len(a) == len(b) || b == "" || a[len(b)] == '.' || a[len(b)] == '['
}

// fields checks that n is a mapping whose keys are all known, and returns
// its values by key. Unknown keys are reported with a suggestion.
func (l *loader) fields(n *node, path, where string, known ...string) map[string]*node {
	if n.kind != mapNode {
		l.errorf(n, path, "%s must be a mapping, got %s", where, n.describe())
		return nil
	}
	out := map[string]*node{}
	for i, k := range n.keys {
		if path == "" && strings.HasPrefix(k.text, "x-") {
			continue // extension keys, e.g. to hold YAML anchors
		}
		if !slices.Contains(known, k.text) {
			msg := fmt.Sprintf("unknown key `%s` in %s", k.text, where)
			if s := suggest.Closest(k.text, known); s != "" {
				msg += "; did you mean `" + s + "`?"
			} else {
				msg += " (known keys: " + strings.Join(known, ", ") + ")"
			}
			l.errorf(k, join(path, k.text), "%s", msg)
			continue
		}
		out[k.text] = n.vals[i]
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// keyOf returns the key node of key in mapping n.
func keyOf(n *node, key string) *node {
	for i, k := range n.keys {
		if k.text == key {
			return n.keys[i]
		}
	}
	return n
}

func (l *loader) str(n *node, path, key string) (string, bool) {
	l.mark(path, n)
	if n.kind != scalarNode {
		l.errorf(n, path, "`%s` must be a string, got %s", key, n.describe())
		return "", false
	}
	return n.text, true
}

func (l *loader) integer(n *node, path, key string) (int64, bool) {
	l.mark(path, n)
	switch v := n.value.(type) {
	case int64:
		return v, true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	}
	l.errorf(n, path, "`%s` must be a whole number, got %s", key, n.describe())
	return 0, false
}

// vus reads a count of VUs, refusing one above the ceiling here, with the
// number as written (Validate would see it clamped to an int32).
func (l *loader) vus(n *node, path, key string) (int64, bool) {
	v, ok := l.integer(n, path, key)
	if ok && v > engine.MaxVUs {
		l.errorf(n, path, "%s %d is more than the maximum of %d virtual users", path, v, engine.MaxVUs)
		return v, false
	}
	return v, ok
}

func (l *loader) number(n *node, path, key string) (float64, bool) {
	l.mark(path, n)
	switch v := n.value.(type) {
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
	}
	l.errorf(n, path, "`%s` must be a number, got %s", key, n.describe())
	return 0, false
}

func (l *loader) boolean(n *node, path, key string) (bool, bool) {
	l.mark(path, n)
	if v, ok := n.value.(bool); ok {
		return v, true
	}
	l.errorf(n, path, "`%s` must be true or false, got %s", key, n.describe())
	return false, false
}

// duration reads a duration that must be positive: in a scenario file a
// zero would only mean "the default" (or, for a stage, nothing), which
// leaving the key out says clearly.
func (l *loader) duration(n *node, path, key string) (time.Duration, bool) {
	l.mark(path, n)
	if n.kind == scalarNode && n.tag == "str" {
		if d, err := time.ParseDuration(strings.TrimSpace(n.text)); err == nil {
			if d <= 0 {
				l.errorf(n, path, "`%s` must be a positive duration, got %s", key, n.text)
				return 0, false
			}
			return d, true
		}
	}
	l.errorf(n, path, "`%s` must be a duration like 500ms, 30s or 1m30s, got %s", key, n.describe())
	return 0, false
}

// list returns a sequence's items; with one set, a single value counts as
// a list of one.
func (l *loader) list(n *node, path, key string, single bool) []*node {
	l.mark(path, n)
	switch {
	case n.kind == seqNode:
		return n.items
	case n.kind == nullNode:
		return nil
	case single && n.kind == scalarNode:
		return []*node{n}
	}
	l.errorf(n, path, "`%s` must be a list, got %s", key, n.describe())
	return nil
}

var (
	topKeys      = []string{"name", "description", "target", "defaults", "load", "vars", "data", "setup", "flows", "thresholds", "monitors"}
	defaultsKeys = []string{"headers", "timeout", "insecure", "grpc", "http"}
	loadKeys     = []string{"model", "vus", "rate", "max_vus", "duration", "stages", "iterations"}
	stageKeys    = []string{"duration", "target"}
	dataKeys     = []string{"csv", "json", "rows", "mode", "per", "on_exhausted", "delimiter"}
	flowKeys     = []string{"name", "weight", "steps"}
	methodKeys   = []string{"get", "post", "put", "patch", "delete", "head", "options"}
	stepKeys     = append(append([]string{"name"}, methodKeys...),
		"think", "headers", "query", "json", "form", "body", "body_file", "timeout", "extract", "check", "soft_checks",
		"until", "every", "within", "if", "repeat", "ws", "send", "expect", "ws_close", "grpc", "message", "metadata")
	groupKeys = []string{"if", "repeat", "steps"}
	checkKeys = []string{"status", "body_contains", "body_matches", "json", "header", "max_latency"}
)

func (l *loader) plan(root *node) Plan {
	var p Plan
	l.mark("", root)
	f := l.fields(root, "", "the scenario", topKeys...)
	if f == nil {
		return p
	}
	if n := f["name"]; n != nil {
		p.Name, _ = l.str(n, "name", "name")
	}
	if n := f["description"]; n != nil {
		l.str(n, "description", "description")
	}
	if n := f["target"]; n != nil {
		p.Target, _ = l.str(n, "target", "target")
	}
	if n := f["defaults"]; n != nil {
		l.mark("defaults", n)
		d := l.fields(n, "defaults", "defaults", defaultsKeys...)
		if h := d["headers"]; h != nil {
			p.Headers = l.headers(h, "headers", "headers")
		}
		if t := d["timeout"]; t != nil {
			p.Timeout, _ = l.duration(t, "timeout", "timeout")
		}
		if b := d["insecure"]; b != nil {
			p.Insecure, _ = l.boolean(b, "insecure", "insecure")
		}
		if g := d["grpc"]; g != nil {
			p.GRPC = l.grpcDefaults(g)
		}
		if h := d["http"]; h != nil {
			p.HTTP = l.httpVersion(h)
		}
	}
	if n := f["load"]; n != nil {
		p.Load = l.load(n)
	}
	if n := f["vars"]; n != nil {
		p.Vars = l.vars(n)
	}
	if n := f["data"]; n != nil {
		p.Data = l.data(n)
	}
	if n := f["setup"]; n != nil {
		p.Setup = l.steps(n, "setup", "setup")
	}
	if n := f["flows"]; n != nil {
		for i, fn := range l.list(n, "flows", "flows", false) {
			p.Flows = append(p.Flows, l.flow(fn, fmt.Sprintf("flows[%d]", i)))
		}
	}
	if n := f["thresholds"]; n != nil {
		for i, t := range l.list(n, "thresholds", "thresholds", true) {
			l.mark(fmt.Sprintf("thresholds[%d]", len(p.Thresholds)), t)
			if s, ok := l.str(t, entry("thresholds", strconv.Itoa(i)), "thresholds"); ok {
				p.Thresholds = append(p.Thresholds, s)
			}
		}
	}
	if n := f["monitors"]; n != nil {
		p.Monitors = l.monitors(n)
	}
	return p
}

func (l *loader) load(n *node) Load {
	var ld Load
	l.mark("load", n)
	f := l.fields(n, "load", "load", loadKeys...)
	if f == nil {
		return ld
	}
	ld.Model = engine.Closed
	if f["rate"] != nil || f["max_vus"] != nil {
		ld.Model = engine.Open
	}
	if m := f["model"]; m != nil {
		if s, ok := l.str(m, "load.model", "model"); ok {
			if l.oneOf(m, "load.model", "model", s, "open", "closed") {
				ld.Model = engine.Closed
				if s == "open" {
					ld.Model = engine.Open
				}
			}
		}
	}
	if v := f["vus"]; v != nil {
		n, _ := l.vus(v, "load.vus", "vus")
		ld.VUs = int(clampInt(n))
	}
	if v := f["rate"]; v != nil {
		ld.Rate, _ = l.number(v, "load.rate", "rate")
	}
	if v := f["max_vus"]; v != nil {
		n, _ := l.vus(v, "load.max_vus", "max_vus")
		ld.MaxVUs = int(clampInt(n))
	}
	if v := f["duration"]; v != nil {
		ld.Duration, _ = l.duration(v, "load.duration", "duration")
	}
	if v := f["iterations"]; v != nil {
		ld.Iterations, _ = l.integer(v, "load.iterations", "iterations")
	}
	if v := f["stages"]; v != nil {
		for i, s := range l.list(v, "load.stages", "stages", false) {
			path := fmt.Sprintf("load.stages[%d]", i)
			l.mark(path, s)
			sf := l.fields(s, path, "a stage", stageKeys...)
			if sf == nil {
				continue
			}
			var st engine.Stage
			if d := sf["duration"]; d != nil {
				st.Duration, _ = l.duration(d, path+".duration", "duration")
			} else {
				l.errorf(s, path, "a stage needs a `duration`")
			}
			if t := sf["target"]; t != nil {
				st.Target, _ = l.number(t, path+".target", "target")
			} else {
				l.errorf(s, path, "a stage needs a `target`")
			}
			ld.Stages = append(ld.Stages, st)
		}
	}
	return ld
}

// oneOf reports s at n unless it is one of options.
func (l *loader) oneOf(n *node, path, what, s string, options ...string) bool {
	if slices.Contains(options, s) {
		return true
	}
	if h := hint(s, options); h != "" {
		l.errorf(n, path, "unknown %s `%s`%s", what, s, h)
	} else {
		l.errorf(n, path, "unknown %s `%s` (want %s)", what, s, strings.Join(options, ", "))
	}
	return false
}

func clampInt(n int64) int64 { return max(min(n, math.MaxInt32), math.MinInt32) }

func (l *loader) vars(n *node) []Var {
	l.mark("vars", n)
	if n.kind != mapNode {
		l.errorf(n, "vars", "`vars` must be a mapping of names to starting values, got %s", n.describe())
		return nil
	}
	var out []Var
	for i, k := range n.keys {
		path := fmt.Sprintf("vars[%d]", len(out))
		l.mark(path, k)
		v := n.vals[i]
		switch {
		case v.kind == nullNode:
			out = append(out, Var{Name: k.text, Value: "null", JSON: true})
		case v.kind != scalarNode:
			l.errorf(v, entry("vars", k.text), "variable `%s` must have a plain starting value, got %s", k.text, v.describe())
		case v.tag == "str":
			out = append(out, Var{Name: k.text, Value: v.text})
		default:
			lit, err := scalarJSON(v)
			if err != nil {
				l.errorf(v, entry("vars", k.text), "variable `%s`: %v", k.text, err)
				continue
			}
			out = append(out, Var{Name: k.text, Value: lit, JSON: true})
		}
	}
	return out
}

func (l *loader) data(n *node) []DataSource {
	l.mark("data", n)
	if n.kind != mapNode {
		l.errorf(n, "data", "`data` must be a mapping of source names to sources, got %s", n.describe())
		return nil
	}
	var out []DataSource
	for i, k := range n.keys {
		path := fmt.Sprintf("data[%d]", len(out))
		l.mark(path, k)
		d := DataSource{Name: k.text}
		where := fmt.Sprintf("data source `%s`", k.text)
		f := l.fields(n.vals[i], path, where, dataKeys...)
		if f == nil {
			out = append(out, d)
			continue
		}
		if m := f["mode"]; m != nil {
			if s, ok := l.str(m, path+".mode", "mode"); ok {
				d.Mode = feeder.Mode(s)
				l.oneOf(m, path+".mode", "mode", s, "sequential", "random", "unique")
			}
		}
		if m := f["per"]; m != nil {
			if s, ok := l.str(m, path+".per", "per"); ok {
				d.Per = DataScope(s)
				l.oneOf(m, path+".per", "`per`", s, "vu", "iteration")
			}
		}
		if m := f["on_exhausted"]; m != nil {
			if s, ok := l.str(m, path+".on_exhausted", "on_exhausted"); ok {
				d.OnExhausted = feeder.Exhausted(s)
				l.oneOf(m, path+".on_exhausted", "`on_exhausted`", s, "stop", "recycle")
			}
		}
		delim := ','
		if m := f["delimiter"]; m != nil {
			if s, ok := l.str(m, path+".delimiter", "delimiter"); ok {
				r := []rune(s)
				if len(r) != 1 || r[0] == '"' || r[0] == '\n' || r[0] == '\r' {
					l.errorf(m, path+".delimiter", "`delimiter` must be one character (not a quote or newline), got %q", s)
				} else {
					delim = r[0]
				}
			}
		}
		sources := 0
		for _, key := range []string{"csv", "json", "rows"} {
			if f[key] != nil {
				sources++
			}
		}
		if sources != 1 {
			l.errorf(k, path, "%s needs exactly one of `csv`, `json` or `rows`", where)
			out = append(out, d)
			continue
		}
		var (
			tab feeder.Table
			err error
			at  *node
		)
		switch {
		case f["csv"] != nil:
			at = f["csv"]
			if name, ok := l.str(at, path+".csv", "csv"); ok {
				d.File = name
				var b []byte
				if b, err = l.readFile(name); err == nil {
					tab, err = feeder.ReadCSV(bytes.NewReader(b), delim)
				}
			}
		case f["json"] != nil:
			at = f["json"]
			if name, ok := l.str(at, path+".json", "json"); ok {
				d.File = name
				var b []byte
				if b, err = l.readFile(name); err == nil {
					tab, err = feeder.ReadJSON(bytes.NewReader(b))
				}
			}
		default:
			at = f["rows"]
			if at.kind != seqNode {
				l.errorf(at, path+".rows", "`rows` must be a list, got %s", at.describe())
				break
			}
			var b []byte
			if b, err = l.toJSON(at, path+".rows"); err == nil {
				tab, err = feeder.ReadJSON(bytes.NewReader(b))
			}
		}
		if err != nil && d.File != "" {
			l.errorf(at, path, "%s: %s: %v", where, d.File, err)
		} else if err != nil {
			l.errorf(at, path, "%s: %v", where, err)
		}
		d.Columns, d.Rows, d.JSON = tab.Columns, tab.Rows, tab.JSON
		out = append(out, d)
	}
	return out
}

func (l *loader) readFile(name string) ([]byte, error) {
	full := name
	if !filepath.IsAbs(name) && l.opts.Dir != "" {
		full = filepath.Join(l.opts.Dir, name)
	}
	b, err := l.opts.read(full, MaxDataFileSize)
	if err != nil {
		return nil, errors.New(fileErr(err))
	}
	return b, nil
}

func (l *loader) flow(n *node, path string) Flow {
	var fl Flow
	l.mark(path, n)
	f := l.fields(n, path, "a flow", flowKeys...)
	if f == nil {
		return fl
	}
	if v := f["name"]; v != nil {
		fl.Name, _ = l.str(v, path+".name", "name")
	}
	if v := f["weight"]; v != nil {
		w, _ := l.integer(v, path+".weight", "weight")
		fl.Weight = int(clampInt(w))
	}
	if v := f["steps"]; v != nil {
		fl.Steps = l.steps(v, path+".steps", "steps")
	}
	return fl
}

// steps reads a list of steps. Groups ({repeat: 3, steps: […]}) are
// flattened into it: their steps join the list, and the group becomes a
// Block of the first of them.
func (l *loader) steps(n *node, path, key string) []Step {
	var out []Step
	var pending []Block
	l.stepList(l.list(n, path, key, false), path, &out, &pending)
	return out
}

// stepList appends the steps of items to out. pending are the blocks of
// groups that begin with the next step appended, outermost first.
func (l *loader) stepList(items []*node, path string, out *[]Step, pending *[]Block) {
	for _, it := range items {
		if it.kind == mapNode && keyOf(it, "steps") != it {
			l.group(it, path, out, pending)
			continue
		}
		i := len(*out)
		s := l.step(it, fmt.Sprintf("%s[%d]", path, i), len(*pending))
		s.Blocks = append(append([]Block(nil), *pending...), s.Blocks...)
		*pending = (*pending)[:0]
		*out = append(*out, s)
	}
}

// group reads a group of steps into out; its if and repeat become a Block
// of its first step.
func (l *loader) group(n *node, path string, out *[]Step, pending *[]Block) {
	start, k := len(*out), len(*pending)
	bp := fmt.Sprintf("%s[%d].blocks[%d]", path, start, k)
	l.mark(bp, n)
	for _, k := range n.keys {
		if !slices.Contains(groupKeys, k.text) && slices.Contains(stepKeys, k.text) {
			l.errorf(k, join(bp, k.text), "`%s` does not belong in a group of steps, which has `if`, `repeat` and `steps`: put it in a step of the group", k.text)
		}
	}
	f := l.fields(n, bp, "a group of steps", append(append([]string(nil), groupKeys...), stepKeys...)...)
	var b Block
	if v := f["if"]; v != nil {
		b.If, _ = l.str(v, bp+".if", "if")
	}
	if v := f["repeat"]; v != nil {
		b.Repeat = l.repeat(v, bp+".repeat")
	}
	*pending = append(*pending, b)
	l.stepList(l.list(f["steps"], bp+".steps", "steps", false), path, out, pending)
	if len(*out) == start {
		*pending = (*pending)[:k]
		l.errorf(keyOf(n, "steps"), bp+".steps", "a group needs at least one step under `steps`")
		return
	}
	(*out)[start].Blocks[k].Len = len(*out) - start
}

// repeat reads a repeat count: a whole number from 1 to MaxRepeat.
func (l *loader) repeat(n *node, path string) int {
	r, ok := l.integer(n, path, "repeat")
	switch {
	case !ok:
		return 0
	case r < 1:
		l.errorf(n, path, "`repeat` must be at least 1, got %d", r)
		return 0
	case r > MaxRepeat:
		l.errorf(n, path, "`repeat` %d is more than the maximum of %d", r, MaxRepeat)
		return MaxRepeat
	}
	return int(r)
}

// step reads one step; its own if and repeat become its Block number
// block (after those of the groups that begin with it).
func (l *loader) step(n *node, path string, block int) Step {
	var s Step
	l.mark(path, n)
	f := l.fields(n, path, "a step", stepKeys...)
	if f == nil {
		return s
	}
	var method string
	for _, m := range methodKeys {
		v := f[m]
		if v == nil {
			continue
		}
		if method != "" {
			l.errorf(keyOf(n, m), path+".method", "step has both `%s` and `%s`: a step sends one request", method, m)
			continue
		}
		method = m
		l.mark(path+".method", keyOf(n, m))
		s.Method = strings.ToUpper(m)
		s.URL, _ = l.str(v, path+".url", m)
	}
	method = l.wsKeys(n, f, path, method, &s)
	method = l.grpcStepKeys(n, f, path, method, &s)
	if v := f["think"]; v != nil {
		if method != "" {
			l.errorf(keyOf(n, "think"), path+".think", "a step is either a request (`%s`) or a think pause, not both", method)
		} else {
			s.Think, s.ThinkMax = l.think(v, path+".think")
		}
		for _, k := range n.keys {
			if k.text != "think" && k.text != "name" && k.text != "if" && k.text != "repeat" && k.text != "ws" && k.text != "ws_close" && k.text != "grpc" &&
				slices.Contains(stepKeys, k.text) && !slices.Contains(methodKeys, k.text) {
				l.errorf(k, join(path, k.text), "`%s` does not apply to a think step", k.text)
			}
		}
	}
	if v := f["name"]; v != nil {
		s.Name, _ = l.str(v, path+".name", "name")
	}
	if v := f["headers"]; v != nil {
		s.Headers = l.headers(v, path+".headers", "headers")
	}
	if v := f["query"]; v != nil {
		s.Query = l.params(v, path+".query", "query")
	}
	if v := f["form"]; v != nil {
		s.Form = l.params(v, path+".form", "form")
	}
	if v := f["body"]; v != nil {
		s.Body, _ = l.str(v, path+".body", "body")
	}
	if v := f["json"]; v != nil {
		if b, err := l.toJSON(v, path+".json"); err == nil {
			s.JSON = b
		}
	}
	if v := f["body_file"]; v != nil {
		if name, ok := l.str(v, path+".body_file", "body_file"); ok {
			s.BodyFile = name
			b, err := l.readFile(name)
			if err != nil {
				l.errorf(v, path+".body_file", "body_file %s: %v", name, err)
			}
			s.RawBody = b
		}
	}
	bodies := []string{}
	for _, k := range []string{"json", "form", "body", "body_file"} {
		if f[k] != nil {
			bodies = append(bodies, "`"+k+"`")
		}
	}
	if len(bodies) > 1 {
		l.errorf(keyOf(n, strings.Trim(bodies[1], "`")), path+".body", "a step has one body, got %s", strings.Join(bodies, " and "))
	}
	if v := f["timeout"]; v != nil {
		s.Timeout, _ = l.duration(v, path+".timeout", "timeout")
	}
	if v := f["extract"]; v != nil {
		s.Extract = l.extract(v, path+".extract")
	}
	if v := f["check"]; v != nil {
		s.Check = l.check(v, path+".check")
	}
	if v := f["soft_checks"]; v != nil {
		s.SoftChecks, _ = l.boolean(v, path+".soft_checks", "soft_checks")
	}
	if f["if"] != nil || f["repeat"] != nil {
		bp := fmt.Sprintf("%s.blocks[%d]", path, block)
		b := Block{Len: 1}
		if v := f["if"]; v != nil {
			b.If, _ = l.str(v, bp+".if", "if")
		}
		if v := f["repeat"]; v != nil {
			b.Repeat = l.repeat(v, bp+".repeat")
		}
		s.Blocks = append(s.Blocks, b)
	}
	if v := f["until"]; v != nil {
		s.Until = l.check(v, path+".until")
		if v.kind == mapNode && len(v.keys) == 0 {
			l.errorf(v, path+".until", "`until` needs a condition to wait for, e.g. until: {json: {status: done}}")
		}
	}
	if v := f["every"]; v != nil {
		s.Every, _ = l.duration(v, path+".every", "every")
	}
	if v := f["send"]; v != nil {
		if v.kind == mapNode || v.kind == seqNode {
			if b, err := l.toJSON(v, path+".send"); err == nil {
				s.SendJSON = b
			}
		} else {
			s.Send, _ = l.str(v, path+".send", "send")
		}
	}
	if v := f["expect"]; v != nil {
		s.Expect = l.check(v, path+".expect")
		if v.kind == mapNode && len(v.keys) == 0 {
			l.errorf(v, path+".expect", "`expect` needs a condition on the message to wait for, e.g. expect: {json: {type: welcome}}")
		}
	}
	if v := f["within"]; v != nil {
		s.Within, _ = l.duration(v, path+".within", "within")
	}
	return s
}

func (l *loader) think(n *node, path string) (time.Duration, time.Duration) {
	l.mark(path, n)
	bad := func() (time.Duration, time.Duration) {
		l.errorf(n, path, "`think` must be a duration like 1s or a range like 1s..3s, got %s", n.describe())
		return 0, 0
	}
	if n.kind != scalarNode || n.tag != "str" {
		return bad()
	}
	lo, hi, isRange := strings.Cut(n.text, "..")
	a, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil {
		return bad()
	}
	if a <= 0 {
		l.errorf(n, path, "`think` must be a positive duration, got %s", n.text)
		return 0, 0
	}
	if !isRange {
		return a, 0
	}
	b, err := time.ParseDuration(strings.TrimSpace(hi))
	if err != nil {
		return bad()
	}
	if b < a {
		l.errorf(n, path, "think range %s ends before it starts", n.text)
		return a, 0
	}
	return a, b
}

func (l *loader) headers(n *node, path, key string) []Header {
	l.mark(path, n)
	if n.kind != mapNode {
		l.errorf(n, path, "`%s` must be a mapping of names to values, got %s", key, n.describe())
		return nil
	}
	var out []Header
	for i, k := range n.keys {
		p := fmt.Sprintf("%s[%d]", path, len(out))
		l.mark(p, n.vals[i])
		v, ok := l.scalarText(n.vals[i], entry(path, k.text), k.text)
		if ok {
			out = append(out, Header{Name: k.text, Value: v})
		}
	}
	return out
}

// params reads a mapping of names to values; a list value repeats the name.
func (l *loader) params(n *node, path, key string) []Param {
	l.mark(path, n)
	if n.kind != mapNode {
		l.errorf(n, path, "`%s` must be a mapping of names to values, got %s", key, n.describe())
		return nil
	}
	var out []Param
	for i, k := range n.keys {
		vals := []*node{n.vals[i]}
		if n.vals[i].kind == seqNode {
			vals = n.vals[i].items
		}
		for _, v := range vals {
			p := fmt.Sprintf("%s[%d]", path, len(out))
			l.mark(p, v)
			if s, ok := l.scalarText(v, entry(path, k.text), k.text); ok {
				out = append(out, Param{Name: k.text, Value: s})
			}
		}
	}
	return out
}

func (l *loader) scalarText(n *node, path, key string) (string, bool) {
	switch n.kind {
	case nullNode:
		return "", true
	case scalarNode:
		return n.text, true
	}
	l.errorf(n, path, "`%s` must be a plain value, got %s", key, n.describe())
	return "", false
}

func (l *loader) extract(n *node, path string) []Extract {
	l.mark(path, n)
	if n.kind != mapNode {
		l.errorf(n, path, "`extract` must be a mapping of variable names to sources like json:access_token, got %s", n.describe())
		return nil
	}
	kinds := []string{FromJSON, FromHeader, FromRegex, FromCookie}
	var out []Extract
	for i, k := range n.keys {
		p := fmt.Sprintf("%s[%d]", path, len(out))
		v := n.vals[i]
		l.mark(p, v)
		ep := entry(path, k.text)
		s, ok := l.str(v, ep, k.text)
		if !ok {
			continue
		}
		from, expr, found := strings.Cut(s, ":")
		if !found || !slices.Contains(kinds, from) {
			if h := hint(from, kinds); found && h != "" {
				l.errorf(v, ep, "extract %s: unknown source `%s:`%s", k.text, from, h)
			} else {
				l.errorf(v, ep, "extract %s: want json:PATH, header:NAME, regex:RE or cookie:NAME, got %q", k.text, s)
			}
			continue
		}
		out = append(out, Extract{Var: k.text, From: from, Expr: expr})
	}
	return out
}

func (l *loader) check(n *node, path string) Check {
	var c Check
	l.mark(path, n)
	f := l.fields(n, path, "a check", checkKeys...)
	if f == nil {
		return c
	}
	if v := f["status"]; v != nil {
		for i, it := range l.list(v, path+".status", "status", true) {
			p := fmt.Sprintf("%s.status[%d]", path, len(c.Status))
			l.mark(p, it)
			if it.kind != scalarNode || (it.tag != "int" && it.tag != "str") {
				l.errorf(it, entry(path+".status", strconv.Itoa(i)), "`status` must be a code like 200 or a class like 2xx, got %s", it.describe())
				continue
			}
			c.Status = append(c.Status, it.text)
		}
	}
	strs := func(key string) []string {
		var out []string
		if v := f[key]; v != nil {
			for i, it := range l.list(v, path+"."+key, key, true) {
				l.mark(fmt.Sprintf("%s.%s[%d]", path, key, len(out)), it)
				if s, ok := l.str(it, entry(path+"."+key, strconv.Itoa(i)), key); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	c.BodyContains = strs("body_contains")
	c.BodyMatches = strs("body_matches")
	if v := f["json"]; v != nil {
		l.mark(path+".json", v)
		if v.kind != mapNode {
			l.errorf(v, path+".json", "`json` must be a mapping of JSON paths to expected values, got %s", v.describe())
		} else {
			for i, k := range v.keys {
				p := fmt.Sprintf("%s.json[%d]", path, len(c.JSON))
				l.mark(p, v.vals[i])
				if b, err := l.toJSON(v.vals[i], entry(path+".json", k.text)); err == nil {
					c.JSON = append(c.JSON, JSONCheck{Path: k.text, Value: b})
				}
			}
		}
	}
	if v := f["header"]; v != nil {
		for _, h := range l.headers(v, path+".header", "header") {
			c.Header = append(c.Header, Param(h))
		}
	}
	if v := f["max_latency"]; v != nil {
		c.MaxLatency, _ = l.duration(v, path+".max_latency", "max_latency")
	}
	return c
}

// toJSON writes a YAML value as JSON, in the file's key order, recording
// the position of each nested value (path.key, path[i]).
func (l *loader) toJSON(n *node, path string) ([]byte, error) {
	var b bytes.Buffer
	var bad error
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		l.mark(path, n)
		switch n.kind {
		case nullNode:
			b.WriteString("null")
		case mapNode:
			b.WriteByte('{')
			for i, k := range n.keys {
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(jsonString(k.text))
				b.WriteByte(':')
				walk(n.vals[i], path+"."+k.text)
			}
			b.WriteByte('}')
		case seqNode:
			b.WriteByte('[')
			for i, it := range n.items {
				if i > 0 {
					b.WriteByte(',')
				}
				walk(it, fmt.Sprintf("%s[%d]", path, i))
			}
			b.WriteByte(']')
		default:
			if n.tag == "str" {
				b.Write(jsonString(n.text))
				return
			}
			lit, err := scalarJSON(n)
			if err != nil {
				l.errorf(n, path, "%v", err)
				bad = err
				lit = "null"
			}
			b.WriteString(lit)
		}
	}
	walk(n, path)
	return b.Bytes(), bad
}

func jsonString(s string) []byte {
	b := append([]byte{'"'}, template.AppendJSONString(nil, s)...)
	return append(b, '"')
}

// scalarJSON writes a non-string scalar as a JSON literal.
func scalarJSON(n *node) (string, error) {
	switch v := n.value.(type) {
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("%s has no JSON form", n.text)
		}
		b, _ := json.Marshal(v)
		return string(b), nil
	case nil:
		return "null", nil
	case string:
		return string(jsonString(v)), nil
	}
	return "", fmt.Errorf("unsupported value %s", n.describe())
}
