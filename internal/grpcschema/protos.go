package grpcschema

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// MaxProtoSources bounds the .proto sources a plan carries, all files
// (imports included) together.
const MaxProtoSources = 8 << 20

// ReadProtos reads the .proto files names (import names such as
// "api/greeter.proto", looked up in importPaths, in order; default: ".")
// and every file they import, with read (given an import path joined
// with an import name). It returns each file's source by its import
// name; the standard imports (google/protobuf/*.proto) are built in and
// not read unless an import path has one. Only reading fails it: the
// sources are compiled by Compile.
func ReadProtos(names, importPaths []string, read func(name string) ([]byte, error)) (map[string]string, error) {
	if len(importPaths) == 0 {
		importPaths = []string{"."}
	}
	src := map[string]string{}
	total := 0
	var readErr error
	res := protocompile.WithStandardImports(protocompile.ResolverFunc(func(name string) (protocompile.SearchResult, error) {
		if s, ok := src[name]; ok {
			return protocompile.SearchResult{Source: strings.NewReader(s)}, nil
		}
		var first error
		for _, dir := range importPaths {
			b, err := read(filepath.Join(dir, filepath.FromSlash(name)))
			if err == nil {
				if total += len(b); total > MaxProtoSources {
					readErr = fmt.Errorf("the .proto files come to more than %d MiB", MaxProtoSources>>20)
					return protocompile.SearchResult{}, readErr
				}
				src[name] = string(b)
				return protocompile.SearchResult{Source: strings.NewReader(string(b))}, nil
			}
			if first == nil || !errors.Is(err, fs.ErrNotExist) {
				first = err
			}
		}
		if errors.Is(first, fs.ErrNotExist) {
			first = fmt.Errorf("%s: no such file in the import paths (%s)", name, strings.Join(importPaths, ", "))
		}
		if !strings.HasPrefix(name, "google/protobuf/") && readErr == nil {
			readErr = first
		}
		return protocompile.SearchResult{}, first
	}))
	c := protocompile.Compiler{Resolver: res}
	if _, err := c.Compile(context.Background(), names...); readErr != nil {
		return nil, readErr
	} else if err != nil && len(src) == 0 {
		return nil, err
	}
	return src, nil
}

// Files are compiled .proto files.
type Files struct {
	files linker.Files
	reg   *protoregistry.Files // files and their imports
}

// Compile compiles the files names from sources (by import name, as
// ReadProtos returns them); the standard imports are built in. Its error
// names the file, line and column of each problem.
func Compile(sources map[string]string, names []string) (*Files, error) {
	var probs []string
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(sources)}),
		Reporter: reporterFunc(func(err error) { probs = append(probs, err.Error()) }),
	}
	files, err := c.Compile(context.Background(), names...)
	if err != nil {
		if len(probs) > 0 {
			return nil, errors.New(strings.Join(probs, "; "))
		}
		return nil, err
	}
	f := &Files{files: files}
	f.reg = f.Resolver()
	return f, nil
}

// reporterFunc collects every problem the compiler finds and lets it go on.
type reporterFunc func(error)

func (f reporterFunc) Error(err reporter.ErrorWithPos) error { f(err); return nil }
func (f reporterFunc) Warning(reporter.ErrorWithPos)         {}

// Method finds the method full ("package.Service/Method"): it must be a
// unary method of a service in the files or their imports.
func (f *Files) Method(full string) (protoreflect.MethodDescriptor, error) {
	return FindMethod(f.reg, full)
}

// FindMethod finds the unary method full ("package.Service/Method") in r.
func FindMethod(r *protoregistry.Files, full string) (protoreflect.MethodDescriptor, error) {
	svc, m, err := SplitMethod(full)
	if err != nil {
		return nil, err
	}
	d, err := r.FindDescriptorByName(protoreflect.FullName(svc))
	if err == nil {
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("%s is not a service", svc)
		}
		return method(sd, m)
	}
	var names []string
	r.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			names = append(names, string(fd.Services().Get(i).FullName()))
		}
		return true
	})
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no service %s: the .proto files define no service", svc)
	}
	return nil, fmt.Errorf("no service %s (there is %s)", svc, strings.Join(names, ", "))
}

// method finds unary method m of sd.
func method(sd protoreflect.ServiceDescriptor, m string) (protoreflect.MethodDescriptor, error) {
	md := sd.Methods().ByName(protoreflect.Name(m))
	if md == nil {
		var names []string
		for i := 0; i < sd.Methods().Len(); i++ {
			names = append(names, string(sd.Methods().Get(i).Name()))
		}
		return nil, fmt.Errorf("service %s has no method %s (it has %s)", sd.FullName(), m, strings.Join(names, ", "))
	}
	if md.IsStreamingClient() || md.IsStreamingServer() {
		return nil, fmt.Errorf("%s/%s is a streaming method: only unary calls are supported", sd.FullName(), m)
	}
	return md, nil
}

// SplitMethod splits a full method name "package.Service/Method" (a
// leading slash is allowed) into its service and method names.
func SplitMethod(full string) (service, method string, err error) {
	s := strings.TrimPrefix(full, "/")
	i := strings.LastIndexByte(s, '/')
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("method %q: want a full method name, package.Service/Method", full)
	}
	service, method = s[:i], s[i+1:]
	if !protoreflect.FullName(service).IsValid() || !protoreflect.Name(method).IsValid() {
		return "", "", fmt.Errorf("method %q: want a full method name, package.Service/Method", full)
	}
	return service, method, nil
}

// Path is the HTTP/2 path a call to md goes to: "/package.Service/Method".
func Path(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// Resolver returns the files' descriptors, with every file they import,
// as a registry.
func (f *Files) Resolver() *protoregistry.Files {
	r := new(protoregistry.Files)
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if _, err := r.FindFileByPath(fd.Path()); err == nil {
			return
		}
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			add(imps.Get(i).FileDescriptor)
		}
		_ = r.RegisterFile(fd)
	}
	for _, file := range f.files {
		add(file)
	}
	return r
}
