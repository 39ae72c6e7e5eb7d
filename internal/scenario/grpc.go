package scenario

import (
	"fmt"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/surgeload/surge/internal/grpcschema"
	"github.com/surgeload/surge/internal/template"
)

// MethodGRPC is the Method of a gRPC step.
const MethodGRPC = "GRPC"

// IsGRPC reports whether the step is a gRPC call (grpc:).
func (s Step) IsGRPC() bool { return s.Method == MethodGRPC }

// GRPCOptions say where gRPC steps call and where their message types
// come from (defaults.grpc in a file).
type GRPCOptions struct {
	// Target is the server, http://host:port (plaintext HTTP/2) or
	// https://host:port (TLS); empty means Plan.Target.
	Target string `json:"target,omitempty"`
	// Protos are the .proto files that define the services, by import
	// name, looked up in ImportPaths (relative to the scenario's
	// directory; default: the directory itself).
	Protos      []string `json:"protos,omitempty"`
	ImportPaths []string `json:"import_paths,omitempty"`
	// Reflection takes the message types from the server's reflection
	// service instead, once per run and method.
	Reflection bool `json:"reflection,omitempty"`
	// Sources are every .proto file read for Protos (their imports too)
	// by import name: the plan carries them, so that it compiles the same
	// wherever it travels.
	Sources map[string]string `json:"sources,omitempty"`
}

// IsZero reports whether no gRPC option is set.
func (g GRPCOptions) IsZero() bool {
	return g.Target == "" && len(g.Protos) == 0 && len(g.ImportPaths) == 0 && !g.Reflection && len(g.Sources) == 0
}

// GRPCTarget is the server gRPC steps call.
func (p *Plan) GRPCTarget() string {
	if p.GRPC.Target != "" {
		return p.GRPC.Target
	}
	return p.Target
}

// CompileProtos compiles the plan's .proto files (nil when it names
// none: its steps' types come from reflection).
func (p *Plan) CompileProtos() (*grpcschema.Files, error) {
	if len(p.GRPC.Protos) == 0 {
		return nil, nil
	}
	return grpcschema.Compile(p.GRPC.Sources, p.GRPC.Protos)
}

var grpcKeys = []string{"target", "proto", "import_paths", "reflection"}

// grpcDefaults reads defaults.grpc and the .proto files it names.
func (l *loader) grpcDefaults(n *node) GRPCOptions {
	var g GRPCOptions
	l.mark("grpc", n)
	f := l.fields(n, "grpc", "defaults.grpc", grpcKeys...)
	if f == nil {
		return g
	}
	if v := f["target"]; v != nil {
		l.mark("grpc.target", v)
		g.Target, _ = l.str(v, "grpc.target", "target")
	}
	if v := f["reflection"]; v != nil {
		l.mark("grpc.reflection", v)
		g.Reflection, _ = l.boolean(v, "grpc.reflection", "reflection")
	}
	if v := f["import_paths"]; v != nil {
		for i, e := range l.list(v, "grpc.import_paths", "import_paths", true) {
			if s, ok := l.str(e, fmt.Sprintf("grpc.import_paths[%d]", i), "import_paths"); ok {
				g.ImportPaths = append(g.ImportPaths, s)
			}
		}
	}
	v := f["proto"]
	if v == nil {
		return g
	}
	l.mark("grpc.protos", v)
	for i, e := range l.list(v, "grpc.protos", "proto", true) {
		l.mark(fmt.Sprintf("grpc.protos[%d]", i), e)
		if s, ok := l.str(e, fmt.Sprintf("grpc.protos[%d]", i), "proto"); ok {
			g.Protos = append(g.Protos, s)
		}
	}
	if len(g.Protos) > 0 {
		src, err := grpcschema.ReadProtos(g.Protos, g.ImportPaths, func(name string) ([]byte, error) {
			if !filepath.IsAbs(name) && l.opts.Dir != "" {
				name = filepath.Join(l.opts.Dir, name)
			}
			return l.opts.read(name, grpcschema.MaxProtoSources)
		})
		if err != nil {
			l.errorf(v, "grpc.protos", "proto: %v", err)
		}
		g.Sources = src
	}
	return g
}

// grpcStepKeys reads a step's `grpc: package.Service/Method`, `message`
// and `metadata`. method is the request key read so far ("" if none); it
// returns the step's.
func (l *loader) grpcStepKeys(n *node, f map[string]*node, path, method string, s *Step) string {
	if v := f["grpc"]; v != nil {
		if method != "" {
			l.errorf(keyOf(n, "grpc"), path+".method", "step has both `%s` and `grpc`: a step sends one request", method)
		} else {
			method = "grpc"
			l.mark(path+".method", keyOf(n, "grpc"))
			l.mark(path+".grpc", v)
			s.Method = MethodGRPC
			s.GRPC, _ = l.str(v, path+".grpc", "grpc")
		}
	}
	if v := f["message"]; v != nil {
		l.mark(path+".message", v)
		if v.kind != mapNode {
			l.errorf(v, path+".message", "`message` is the request message as a mapping of its fields, e.g. message: {name: \"{{vu.id}}\"}; got %s", v.describe())
		} else if b, err := l.toJSON(v, path+".message"); err == nil {
			s.Message = b
		}
	}
	if v := f["metadata"]; v != nil {
		s.Metadata = l.headers(v, path+".metadata", "metadata")
	}
	return method
}

// validateGRPCOptions checks defaults.grpc and compiles the plan's .proto
// files for the steps' checks.
func (p *Plan) validateGRPCOptions(v *validator, first string) {
	g, steps := p.GRPC, first != ""
	if g.IsZero() && !steps {
		return
	}
	if g.Target != "" {
		if _, _, err := grpcschema.Address(g.Target); err != nil {
			v.add("grpc.target", "%v", err)
		}
	} else if steps {
		if p.Target == "" {
			v.add("grpc.target", "gRPC steps need a server: give target: or defaults.grpc.target, e.g. http://localhost:50051")
		} else if _, _, err := grpcschema.Address(strings.TrimSuffix(p.Target, "/")); err != nil && !v.badTarget {
			v.add("target", "gRPC steps call the target: %v (give defaults.grpc.target for a server of their own)", err)
		}
	}
	switch {
	case g.Reflection && len(g.Protos) > 0:
		v.add("grpc.reflection", "give `proto` files or `reflection: true`, not both")
	case !g.Reflection && len(g.Protos) == 0 && steps:
		v.add(first+".grpc", "gRPC steps need message types: give defaults.grpc.proto (.proto files) or defaults.grpc.reflection: true")
	case len(g.Protos) == 0 && len(g.Sources) > 0:
		v.add("grpc.sources", ".proto sources with no `proto` file to compile")
	}
	total := 0
	for _, s := range g.Sources {
		total += len(s)
	}
	if total > grpcschema.MaxProtoSources {
		v.add("grpc.protos", "the .proto files come to more than %d MiB", grpcschema.MaxProtoSources>>20)
		return
	}
	if len(g.Protos) == 0 {
		return
	}
	for i, name := range g.Protos {
		if _, ok := g.Sources[name]; !ok {
			v.add(fmt.Sprintf("grpc.protos[%d]", i), "proto %s: its source was not read", name)
			return
		}
	}
	files, err := p.CompileProtos()
	if err != nil {
		v.add("grpc.protos", "proto: %v", err)
		v.grpcBad = true
		return
	}
	v.grpc = files
}

// validateGRPC checks gRPC step s at path, defaults its name, and adds
// the variables it extracts to avail.
func (p *Plan) validateGRPC(v *validator, sc *scope, path string, s *Step, avail map[string]bool) bool {
	for _, k := range []struct {
		key string
		set bool
	}{
		{"url", s.URL != ""}, {"query", len(s.Query) > 0}, {"form", len(s.Form) > 0}, {"body", s.Body != ""}, {"json", len(s.JSON) > 0},
		{"body_file", s.BodyFile != "" || len(s.RawBody) > 0}, {"send", s.Send != "" || len(s.SendJSON) > 0},
		{"expect", !s.Expect.IsZero()}, {"until", !s.Until.IsZero()}, {"every", s.Every != 0}, {"within", s.Within != 0},
		{"think", s.Think != 0 || s.ThinkMax != 0},
	} {
		if k.set {
			v.add(path+"."+k.key, "`%s` does not apply to a gRPC step: it sends `message` with `metadata`", k.key)
		}
	}
	if len(s.Headers) > 0 {
		v.add(path+".headers", "a gRPC call sends `metadata`, not `headers`")
	}
	if s.Name == "" {
		s.Name = s.GRPC
	}
	if s.Timeout < 0 {
		v.add(path+".timeout", "timeout must be positive, got %v", s.Timeout)
	}
	md, methodOK := p.checkGRPCMethod(v, path, s)
	for i, h := range s.Metadata {
		mp := fmt.Sprintf("%s.metadata[%d]", path, i)
		name := strings.ToLower(h.Name)
		switch {
		case !validMetadataKey(name):
			v.add(mp, "bad metadata key %q: letters, digits, '-', '_' and '.'", h.Name)
		case strings.HasPrefix(name, "grpc-"):
			v.add(mp, "metadata key %q: keys starting grpc- are gRPC's own", h.Name)
		case strings.HasSuffix(name, "-bin"):
			v.add(mp, "metadata key %q: binary (-bin) metadata is not supported", h.Name)
		}
	}
	s.Templates(func(field, src string) { sc.checkTemplate(v, path+field, src, avail) })
	z := sc.sizer()
	var all int64
	for i, h := range s.Metadata {
		n := z.of(h.Value, template.Raw)
		if n > MaxHeaderSize {
			got, limit := sizes(n, MaxHeaderSize)
			v.add(fmt.Sprintf("%s.metadata[%d]", path, i), "metadata %s can grow to %s once its {{…}} are filled in, more than the limit of %s", h.Name, got, limit)
		}
		all += int64(len(h.Name)) + n
	}
	if all > MaxHeadersSize {
		got, limit := sizes(all, MaxHeadersSize)
		v.add(path+".metadata", "the call's metadata can grow to %s once its {{…}} are filled in, more than the limit of %s", got, limit)
	}
	if n := z.jsonBody(s.Message); len(s.Message) > 0 && n > MaxBodySize {
		got, limit := sizes(n, MaxBodySize)
		v.add(path+".message", "the message can grow to %s once its {{…}} are filled in, more than the limit of %s", got, limit)
	}
	if methodOK && md != nil && len(s.Message) > 0 {
		templated := false
		_ = WalkJSON(s.Message, func(_ string, x any) {
			if str, ok := x.(string); ok && strings.Contains(str, "{{") {
				templated = true
			}
		})
		if at, err := grpcschema.CheckFields(md.Input(), s.Message); err != nil {
			v.add(path+".message"+at, "message: %v", err)
		} else if !templated {
			if _, err := grpcschema.NewMessage(md.Input(), s.Message); err != nil {
				v.add(path+".message", "message: %v", err)
			}
		}
	}
	c := s.Check
	for i, st := range c.Status {
		if _, ok := grpcschema.ParseCode(st); !ok {
			v.add(fmt.Sprintf("%s.check.status[%d]", path, i), "status %q: want a gRPC status code, e.g. OK, NotFound, Unavailable (or its number, 0 to 16)", st)
		}
	}
	c.Status = nil
	validateCheck(v, path+".check", c)
	for i, e := range s.Extract {
		if e.From == FromCookie {
			v.add(fmt.Sprintf("%s.extract[%d]", path, i), "extract %s: a gRPC response has no cookies: extract with json:, header: (its metadata) or regex:", e.Var)
		}
	}
	validateExtracts(v, sc, path, s, avail, false)
	return true
}

// checkGRPCMethod checks a step's method name and finds it in the plan's
// .proto files (md is nil when its types come from reflection, or when
// the files did not compile).
func (p *Plan) checkGRPCMethod(v *validator, path string, s *Step) (md protoreflect.MethodDescriptor, ok bool) {
	if s.GRPC == "" {
		v.add(path+".grpc", "`grpc` needs the full method name, e.g. grpc: helloworld.Greeter/SayHello")
		return nil, false
	}
	if _, _, err := grpcschema.SplitMethod(s.GRPC); err != nil {
		v.add(path+".grpc", "%v", err)
		return nil, false
	}
	if v.grpc == nil {
		return nil, !v.grpcBad
	}
	m, err := v.grpc.Method(s.GRPC)
	if err != nil {
		v.add(path+".grpc", "%v", err)
		return nil, false
	}
	return m, true
}

// validMetadataKey reports whether k (lower case) is a gRPC metadata key.
func validMetadataKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// firstGRPC is the path of the plan's first gRPC step; "" if none.
func (p *Plan) firstGRPC() string {
	for j, s := range p.Setup {
		if s.IsGRPC() {
			return fmt.Sprintf("setup[%d]", j)
		}
	}
	for i, fl := range p.Flows {
		for j, s := range fl.Steps {
			if s.IsGRPC() {
				return fmt.Sprintf("flows[%d].steps[%d]", i, j)
			}
		}
	}
	return ""
}
