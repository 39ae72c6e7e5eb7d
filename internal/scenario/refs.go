package scenario

import (
	"errors"
	"fmt"
	"strings"

	"github.com/surgeload/surge/internal/suggest"
	"github.com/surgeload/surge/internal/template"
)

// RefKind says where a template variable's value comes from.
type RefKind int

// Kinds of variables.
const (
	RefBuiltin RefKind = iota // vu.id, iteration
	RefVar                    // a per-VU variable: vars or an extraction
	RefData                   // a column of a data source's current row
	RefEnv                    // an environment variable, fixed when the plan was built
)

// Ref is what a variable name in a template refers to.
type Ref struct {
	Kind   RefKind
	Name   string // the variable (RefVar) or environment variable (RefEnv)
	Source int    // index into Plan.Data (RefData)
	Column int    // index into the source's Columns (RefData)
}

// RefError says why a template variable is unknown: What names it, Rest
// explains or suggests ("; did you mean `token`?").
type RefError struct {
	What, Rest string
}

func (e *RefError) Error() string { return e.What + e.Rest }

// Resolve says what a template variable refers to, or why it is unknown
// (a *RefError). It does not check that a per-VU variable is set where it
// is used (Validate does).
func (p *Plan) Resolve(name string) (Ref, error) {
	if template.IsBuiltin(name) {
		return Ref{Kind: RefBuiltin, Name: name}, nil
	}
	if env, ok := strings.CutPrefix(name, "env."); ok {
		if _, set := p.Env[env]; !set {
			return Ref{}, &RefError{"environment variable `" + env + "`", " is not set"}
		}
		return Ref{Kind: RefEnv, Name: env}, nil
	}
	head, col, dotted := strings.Cut(name, ".")
	for i := range p.Data {
		d := &p.Data[i]
		if d.Name != head {
			continue
		}
		if !dotted {
			ex := "COLUMN"
			if len(d.Columns) > 0 {
				ex = d.Columns[0]
			}
			return Ref{}, &RefError{"`" + head + "`", fmt.Sprintf(" is a data source: name one of its columns, e.g. `%s.%s`", head, ex)}
		}
		c := d.Column(col)
		if c < 0 {
			rest := hint(col, d.Columns)
			if rest == "" {
				rest = " (columns: " + strings.Join(d.Columns, ", ") + ")"
			}
			return Ref{}, &RefError{fmt.Sprintf("unknown column `%s` of data source `%s`", col, head), rest}
		}
		return Ref{Kind: RefData, Source: i, Column: c}, nil
	}
	vars := p.VarNames()
	if !dotted {
		for _, v := range vars {
			if v == name {
				return Ref{Kind: RefVar, Name: name}, nil
			}
		}
	}
	known := append([]string{template.VarVU, template.VarIteration}, vars...)
	for _, d := range p.Data {
		for _, c := range d.Columns {
			known = append(known, d.Name+"."+c)
		}
	}
	unknown := &RefError{What: "unknown variable `" + name + "`"}
	if dotted && head != "vu" {
		var sources []string
		for _, d := range p.Data {
			sources = append(sources, d.Name)
		}
		if h := hint(head, sources); h != "" {
			return Ref{}, &RefError{"unknown data source `" + head + "`", h}
		}
		if unknown.Rest = hint(name, known); unknown.Rest == "" {
			return Ref{}, &RefError{"unknown data source `" + head + "`", " (define it under `data`)"}
		}
		return Ref{}, unknown
	}
	if unknown.Rest = hint(name, known); unknown.Rest == "" {
		unknown.Rest = " (variables come from `vars`, `extract`, data sources as `NAME.COLUMN`, `vu.id`, `iteration` and `env.NAME`)"
	}
	return Ref{}, unknown
}

func hint(s string, candidates []string) string {
	if h := suggest.Closest(s, candidates); h != "" {
		return "; did you mean `" + h + "`?"
	}
	return ""
}

// VarNames lists the per-VU variables: those of Vars, then every
// extraction target in setup and flow order, each once.
func (p *Plan) VarNames() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, v := range p.Vars {
		add(v.Name)
	}
	for _, s := range p.Setup {
		for _, e := range s.Extract {
			add(e.Var)
		}
	}
	for _, f := range p.Flows {
		for _, s := range f.Steps {
			for _, e := range s.Extract {
				add(e.Var)
			}
		}
	}
	return out
}

// EnvNames lists the environment variables the plan's templates read, each
// once, so that whoever builds the plan can fill Plan.Env.
func (p *Plan) EnvNames() []string {
	var out []string
	seen := map[string]bool{}
	p.eachTemplate(func(src string) {
		t, err := template.Parse(src)
		if err != nil {
			return
		}
		for _, e := range t.Vars() {
			if n, ok := strings.CutPrefix(e.Name, "env."); ok && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	})
	return out
}

func (p *Plan) eachTemplate(fn func(src string)) {
	for _, h := range p.Headers {
		fn(h.Value)
	}
	steps := func(ss []Step) {
		for i := range ss {
			ss[i].Templates(func(_, src string) { fn(src) })
		}
	}
	conds := func(ss []Step) {
		for _, s := range ss {
			for _, b := range s.Blocks {
				c, err := template.ParseCond(b.If)
				if b.If == "" || err != nil {
					continue
				}
				for _, e := range c.Vars() {
					if strings.HasPrefix(e.Name, "env.") {
						fn("{{" + e.Name + "}}")
					}
				}
			}
		}
	}
	conds(p.Setup)
	for _, f := range p.Flows {
		conds(f.Steps)
	}
	steps(p.Setup)
	for _, f := range p.Flows {
		steps(f.Steps)
	}
}

// reserved reports whether a name cannot be a variable or data source.
func reserved(name string) bool {
	return name == "vu" || name == "iteration" || name == "env" || template.IsFunc(name)
}

// scope knows which names templates may use.
type scope struct {
	p         *Plan
	extracted map[string]string // variable -> where it is first extracted, in words
	usedIn    map[int]bool      // data sources read by setup steps
	sz        *sizer            // made on first use
}

func (p *Plan) newScope(v *validator) *scope {
	sc := &scope{p: p, extracted: map[string]string{}, usedIn: map[int]bool{}}
	p.validateData(v)
	seen := map[string]bool{}
	for i, vr := range p.Vars {
		path := fmt.Sprintf("vars[%d]", i)
		switch {
		case !template.IsName(vr.Name):
			v.add(path, "variable name %q: use letters, digits, '_' and '-'", vr.Name)
		case reserved(vr.Name):
			v.add(path, "variable name `%s` is reserved", vr.Name)
		case sc.isData(vr.Name):
			v.add(path, "variable `%s` has the name of a data source", vr.Name)
		case seen[vr.Name]:
			v.add(path, "variable `%s` is defined twice", vr.Name)
		}
		seen[vr.Name] = true
	}
	for j, s := range p.Setup {
		for _, e := range s.Extract {
			if _, ok := sc.extracted[e.Var]; !ok {
				sc.extracted[e.Var] = fmt.Sprintf("setup step %d", j+1)
			}
		}
	}
	for _, f := range p.Flows {
		for j, s := range f.Steps {
			for _, e := range s.Extract {
				if _, ok := sc.extracted[e.Var]; !ok {
					sc.extracted[e.Var] = fmt.Sprintf("flow %q step %d", f.Name, j+1)
				}
			}
		}
	}
	return sc
}

func (sc *scope) isData(name string) bool {
	for _, d := range sc.p.Data {
		if d.Name == name {
			return true
		}
	}
	return false
}

// startVars are the variables set before any step runs.
func (sc *scope) startVars() map[string]bool {
	m := map[string]bool{}
	for _, v := range sc.p.Vars {
		m[v.Name] = true
	}
	return m
}

// maxQuoted bounds how much of a template an error message quotes.
const maxQuoted = 60

func quoted(s string) string {
	if r := []rune(s); len(r) > maxQuoted {
		s = string(r[:maxQuoted]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// checkTemplate parses src and checks every variable it reads. avail holds
// the per-VU variables set at this point; nil means "anywhere in the plan"
// (default headers, which are left out of a request while their variable
// is unset). It returns the parsed template, or nil when it does not parse.
func (sc *scope) checkTemplate(v *validator, path, src string, avail map[string]bool) *template.Template {
	t, err := template.Parse(src)
	if err != nil {
		v.add(path, "bad template %s: %v", quoted(src), err)
		return nil
	}
	for _, e := range t.Vars() {
		ref, err := sc.p.Resolve(e.Name)
		if err != nil {
			var re *RefError
			if errors.As(err, &re) {
				v.add(path, "%s in %s%s", re.What, quoted(src), re.Rest)
			} else {
				v.add(path, "%v in %s", err, quoted(src))
			}
			continue
		}
		switch ref.Kind {
		case RefData:
			if strings.HasPrefix(path, "setup[") {
				sc.usedIn[ref.Source] = true
			}
		case RefVar:
			if avail != nil && !avail[e.Name] {
				where := sc.extracted[e.Name]
				v.add(path, "`%s` is not set yet here: it is extracted by %s; extract it in setup or an earlier step, or give it a starting value under `vars`", e.Name, where)
			}
		}
	}
	return t
}

// checkCond parses an `if:` condition and checks every variable it reads,
// as checkTemplate does for a template.
func (sc *scope) checkCond(v *validator, path, src string, avail map[string]bool) {
	c, err := template.ParseCond(src)
	if err != nil {
		v.add(path, "bad condition %s: %v", quoted(src), err)
		return
	}
	for _, e := range c.Vars() {
		if template.IsBuiltin(e.Name) {
			continue
		}
		ref, err := sc.p.Resolve(e.Name)
		if err != nil {
			var re *RefError
			if errors.As(err, &re) {
				v.add(path, "%s in condition %s%s", re.What, quoted(src), re.Rest)
			} else {
				v.add(path, "%v in condition %s", err, quoted(src))
			}
			continue
		}
		if ref.Kind == RefVar && avail != nil && !avail[e.Name] {
			v.add(path, "`%s` is not set yet here: it is extracted by %s; extract it in setup or an earlier step, or give it a starting value under `vars`", e.Name, sc.extracted[e.Name])
		}
		if ref.Kind == RefData && strings.HasPrefix(path, "setup[") {
			sc.usedIn[ref.Source] = true
		}
	}
}

// inferDataScope sets the default Per of data sources: vu for those setup
// reads (the login and the rest of the VU's life use the same row),
// iteration for the others.
func (sc *scope) inferDataScope() {
	for i := range sc.p.Data {
		d := &sc.p.Data[i]
		if d.Per != "" {
			continue
		}
		d.Per = PerIteration
		if sc.usedIn[i] {
			d.Per = PerVU
		}
	}
}
