package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	nethttp "net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/surgeload/surge/internal/grpcschema"
	"github.com/surgeload/surge/internal/metrics"
	surgegrpc "github.com/surgeload/surge/internal/protocol/grpc"
	"github.com/surgeload/surge/internal/scenario"
	"github.com/surgeload/surge/internal/template"
)

// GRPCMethod is the method a gRPC step's calls are recorded under, with
// the step's name.
const GRPCMethod = scenario.MethodGRPC

// grpcStep is what a gRPC step calls and with what.
type grpcStep struct {
	method   string                            // "package.Service/Method"
	md       protoreflect.MethodDescriptor     // nil: from the server's reflection
	msg      []byte                            // the message's JSON when static
	parts    []msgPart                         // or its parts, to be typed by md
	msgTmpl  atomic.Pointer[template.Compiled] // the parts, typed: made once md is known
	metadata []metaTmpl                        // sent with the call
	codes    []codes.Code                      // the status check's codes
}

type metaTmpl struct {
	key  string // lower case
	tmpl *template.Compiled
}

// compileGRPC compiles gRPC step s.
func (c *compiler) compileGRPC(s *scenario.Step, cs *compiledStep) error {
	st := &grpcStep{method: s.GRPC}
	cs.proto, cs.grpc = protoGRPC, st
	cs.endpoint = c.endpoint(s.Name, GRPCMethod)
	c.prog.grpc = true
	if c.prog.grpcTarget == "" {
		c.prog.grpcTarget = c.plan.GRPCTarget()
		if _, _, err := grpcschema.Address(c.prog.grpcTarget); err != nil {
			return err
		}
	}
	if len(c.plan.GRPC.Protos) > 0 {
		if c.protos == nil {
			files, err := c.plan.CompileProtos()
			if err != nil {
				return fmt.Errorf("proto: %w", err)
			}
			c.protos = files
		}
		md, err := c.protos.Method(s.GRPC)
		if err != nil {
			return err
		}
		st.md = md
	} else if !c.plan.GRPC.Reflection {
		return fmt.Errorf("no message types: give .proto files or reflection")
	}
	if len(s.Message) > 0 {
		parts, static, err := c.compileMessage(s.Message)
		if err != nil {
			return fmt.Errorf("message: %w", err)
		}
		if static {
			st.msg = []byte(parts[0].lit)
		} else {
			st.parts = parts
			if st.md != nil {
				st.msgTmpl.Store(typedMessage(parts, st.md.Input()))
			}
		}
		if !static || st.md == nil {
			// A message rendered from variables, or one whose type comes
			// from reflection, may not fit its type (a word for a
			// number): then it is not sent, and this check fails.
			cs.urlCheck = c.checkIndex(s.Name + ": valid message")
		}
	}
	for _, h := range s.Metadata {
		t, err := c.compile(h.Value, template.Raw)
		if err != nil {
			return fmt.Errorf("metadata %s: %w", h.Name, err)
		}
		st.metadata = append(st.metadata, metaTmpl{key: strings.ToLower(h.Name), tmpl: t})
	}
	rest := *s
	rest.Check.Status = nil
	if len(s.Check.Status) > 0 {
		for _, name := range s.Check.Status {
			code, ok := grpcschema.ParseCode(name)
			if !ok {
				return fmt.Errorf("check: status %q is not a gRPC status code", name)
			}
			st.codes = append(st.codes, code)
		}
		want := st.codes
		cs.checks = append(cs.checks, check{
			idx: c.checkIndex(s.Name + ": status " + strings.Join(s.Check.Status, "|")), status: true,
			eval: func(ec *evalCtx) (bool, string) {
				for _, w := range want {
					if ec.res.status == int(w) {
						return true, ""
					}
				}
				return false, "got " + codes.Code(uint32(ec.res.status)).String()
			},
		})
		cs.statusCheck = true
	}
	return c.compileChecks(&rest, cs)
}

// grpcProtocol makes the VUs' gRPC sessions: each its own connection to
// the target. Method types found by reflection are shared by all.
type grpcProtocol struct {
	target string
	opts   surgegrpc.Options

	mu      sync.Mutex
	methods map[string]*reflected // by method name
}

// reflected is a method's types as reflection found them. lock (a
// channel, so that a wait can end with its context) lets one VU ask at a
// time; md is set once one got an answer.
type reflected struct {
	lock chan struct{}
	md   atomic.Pointer[protoreflect.MethodDescriptor]
}

func (p *grpcProtocol) newSession(v *vu) session { return &grpcSession{p: p, md: metadata.MD{}} }

// method returns the descriptor of st's method, asking the server's
// reflection service through conn the first time (and again after a
// failure). A VU waits for another's question no longer than ctx lets it.
func (p *grpcProtocol) method(ctx context.Context, conn *surgegrpc.Conn, st *grpcStep) (protoreflect.MethodDescriptor, error) {
	if st.md != nil {
		return st.md, nil
	}
	p.mu.Lock()
	r := p.methods[st.method]
	if r == nil {
		if p.methods == nil {
			p.methods = map[string]*reflected{}
		}
		r = &reflected{lock: make(chan struct{}, 1)}
		p.methods[st.method] = r
	}
	p.mu.Unlock()
	if md := r.md.Load(); md != nil {
		return *md, nil
	}
	select {
	case r.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the server's reflection: %w", ctx.Err())
	}
	defer func() { <-r.lock }()
	if md := r.md.Load(); md != nil {
		return *md, nil
	}
	md, err := conn.Reflect(ctx, st.method)
	if err != nil {
		return nil, err
	}
	r.md.Store(&md)
	return md, nil
}

// grpcSession is a VU's connection to the gRPC target: dialed by its
// first call, kept for the VU's life, closed when the run ends.
type grpcSession struct {
	p    *grpcProtocol
	conn *surgegrpc.Conn
	md   metadata.MD
	msg  []byte // scratch for a rendered message
	body []byte // the latest response as protojson
}

func (g *grpcSession) do(v *vu, s *compiledStep, x *exchange) {
	st := s.grpc
	if g.conn == nil {
		conn, err := surgegrpc.Dial(g.p.target, g.p.opts)
		if err != nil {
			x.bad = err
			return
		}
		g.conn = conn
		// The engine cancels hard when the run ends, however it ends.
		context.AfterFunc(v.hard, conn.Close)
	}
	clear(g.md)
	for _, m := range st.metadata {
		val, missing := m.tmpl.Append(v.buf[:0], &v.st)
		if missing != "" {
			x.missing = missing
			return
		}
		v.buf = val
		g.md[m.key] = append(g.md[m.key], string(val))
	}
	sent0, recv0 := g.conn.Bytes()
	rctx, rcancel := withTimeout(v.hard, s.timeout)
	t0 := time.Now()
	md, err := g.p.method(rctx, g.conn, st)
	rcancel()
	preset := !x.start.IsZero() // the due time, in the open model
	if err != nil {
		if !preset {
			x.start = t0
		}
		x.end = time.Now()
		sent1, recv1 := g.conn.Bytes()
		x.o = metrics.Outcome{
			Class: g.conn.Classify(rctx, err, false), Latency: x.end.Sub(x.start),
			BytesSent: sent1 - sent0, BytesReceived: recv1 - recv0,
			Message: "reflection " + st.method + ": " + g.conn.Message(err),
		}
		x.transport = true
		v.view = responseView{header: noHeader}
		return
	}
	doc := st.msg
	if st.parts != nil {
		t := st.msgTmpl.Load()
		if t == nil {
			t = typedMessage(st.parts, md.Input())
			st.msgTmpl.Store(t)
		}
		if g.msg, x.missing = t.Append(g.msg[:0], &v.st); x.missing != "" {
			return
		}
		doc = g.msg
	}
	req, err := grpcschema.NewMessage(md.Input(), doc)
	if err != nil {
		x.bad = err
		return
	}
	resp := dynamicpb.NewMessage(md.Output())
	if !preset {
		x.start = time.Now() // from the send: a first call's reflection is not in it
	}
	sent0, recv0 = g.conn.Bytes()
	ctx, cancel := withTimeout(v.hard, s.timeout)
	defer cancel()
	r := g.conn.Invoke(ctx, grpcschema.Path(md), g.md, req, resp)
	x.end = time.Now()
	sent1, recv1 := g.conn.Bytes()
	x.o = metrics.Outcome{Class: r.Class, Latency: x.end.Sub(x.start), BytesSent: sent1 - sent0, BytesReceived: recv1 - recv0}
	// A status the server answered with can be checked (and accepted by
	// a status check); a call that failed on its way has nothing to check.
	x.transport = r.Err != nil && r.Class != metrics.GRPCStatus
	if r.Err != nil {
		x.o.Message = g.conn.Message(r.Err)
	}
	v.view = responseView{status: int(r.Code), header: headerOf(r.Header, r.Trailer)}
	if r.Err == nil {
		if g.body, err = grpcschema.ResponseJSON(g.body[:0], resp); err == nil {
			v.view.body = g.body
		}
	}
}

// headerOf is a response's metadata (its header, then its trailer) as
// headers that checks and extractions read.
func headerOf(mds ...metadata.MD) nethttp.Header {
	n := 0
	for _, md := range mds {
		n += len(md)
	}
	if n == 0 {
		return noHeader
	}
	h := make(nethttp.Header, n)
	for _, md := range mds {
		for k, vs := range md {
			ck := textproto.CanonicalMIMEHeaderKey(k)
			h[ck] = append(h[ck], vs...)
		}
	}
	return h
}

func (g *grpcSession) endIteration(context.Context) {}

// msgPart is a piece of a message's JSON: literal text, or a whole
// string value that is one template ("{{vu.id}}"), compiled both ways:
// as a string and as a JSON value. Which one is sent depends on the type
// of the field it fills (typedMessage): a string field gets the value as
// a string, whatever it holds; any other its JSON value (a number, true).
type msgPart struct {
	lit      string
	str, val *template.Compiled
	path     []string // the field's place: object keys, "" for a list's element
}

// compileMessage compiles the JSON of a message; static reports a message
// with no template, then in parts[0].lit.
func (c *compiler) compileMessage(doc []byte) (parts []msgPart, static bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var lit []byte
	static = true
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, msgPart{lit: string(lit)})
			lit = lit[:0]
		}
	}
	var value func(path []string) error
	value = func(path []string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			lit = append(lit, string(v)...)
			for first := true; dec.More(); first = false {
				if !first {
					lit = append(lit, ',')
				}
				key := ""
				if v == '{' {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					key = k.(string)
					lit = append(append(template.AppendJSONString(append(lit, '"'), key), '"'), ':')
				}
				if err := value(append(path[:len(path):len(path)], key)); err != nil {
					return err
				}
			}
			end, err := dec.Token()
			if err != nil {
				return err
			}
			lit = append(lit, string(end.(json.Delim))...)
		case string:
			t, err := template.Parse(v)
			if err != nil {
				return err
			}
			if text, ok := staticText(t); ok {
				lit = append(template.AppendJSONString(append(lit, '"'), text), '"')
				return nil
			}
			static = false
			str, err := template.Compile(t, c.bind, template.JSONString)
			if err != nil {
				return err
			}
			if t.Whole() == nil {
				lit = append(lit, '"')
				flush()
				parts = append(parts, msgPart{str: str})
				lit = append(lit, '"')
				return nil
			}
			val, err := template.Compile(t, c.bind, template.JSONValue)
			if err != nil {
				return err
			}
			flush()
			parts = append(parts, msgPart{str: str, val: val, path: path})
		case json.Number:
			lit = append(lit, v.String()...)
		case bool:
			lit = append(lit, fmt.Sprint(v)...)
		case nil:
			lit = append(lit, "null"...)
		}
		return nil
	}
	if err := value(nil); err != nil {
		return nil, false, err
	}
	flush()
	if static && len(parts) == 0 {
		parts = []msgPart{{lit: ""}}
	}
	return parts, static, nil
}

// staticText is the text of a template with nothing to fill in.
func staticText(t *template.Template) (string, bool) {
	var b strings.Builder
	for _, p := range t.Parts {
		switch {
		case p.Expr == nil:
			b.WriteString(p.Lit)
		case p.Expr.Name == "":
			b.WriteString(p.Expr.Str)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// typedMessage joins a message's parts, each whole template as its field
// in md wants it.
func typedMessage(parts []msgPart, md protoreflect.MessageDescriptor) *template.Compiled {
	out := make([]*template.Compiled, 0, len(parts)+2)
	for _, p := range parts {
		switch {
		case p.str == nil:
			out = append(out, template.Literal(p.lit))
		case p.val == nil:
			out = append(out, p.str)
		case stringAt(md, p.path):
			out = append(out, template.Literal(`"`), p.str, template.Literal(`"`))
		default:
			out = append(out, p.val)
		}
	}
	return template.Join(out...)
}

// stringAt reports whether the field at path in md holds a string (or
// bytes, base64 in JSON): a value filled in there is sent as a string.
func stringAt(md protoreflect.MessageDescriptor, path []string) bool {
	var fd protoreflect.FieldDescriptor
	inMap, inList := false, false
	for _, key := range path {
		switch {
		case fd != nil && fd.IsMap() && !inMap:
			if fd.MapValue().Kind() != protoreflect.MessageKind {
				fd, inMap = fd.MapValue(), true
				continue
			}
			md, fd = fd.MapValue().Message(), nil
			continue
		case fd != nil && fd.IsList() && !inList:
			inList = true
			if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
				continue
			}
			md, fd = fd.Message(), nil
			continue
		case fd != nil:
			if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
				return false
			}
			md = fd.Message()
		}
		if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
			return false
		}
		f := md.Fields().ByJSONName(key)
		if f == nil {
			f = md.Fields().ByTextName(key)
		}
		if f == nil {
			return false
		}
		fd, inMap, inList = f, false, false
	}
	if fd == nil || fd.IsMap() && !inMap || fd.IsList() && !inList {
		return false
	}
	return fd.Kind() == protoreflect.StringKind || fd.Kind() == protoreflect.BytesKind
}
