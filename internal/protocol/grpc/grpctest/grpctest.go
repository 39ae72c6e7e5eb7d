// Package grpctest is a gRPC server on loopback for tests: the greeter
// service of greeter.proto (compiled in process, served by dynamic
// handlers) with server reflection registered, counting the unary calls
// it served.
package grpctest

import (
	"context"
	"crypto/tls"
	_ "embed"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/surgeload/surge/internal/grpcschema"
)

// The sources of the service's .proto files, by import name.
var (
	//go:embed greeter.proto
	GreeterProto string
	//go:embed types.proto
	TypesProto string
)

// Sources are the service's .proto files by import name.
func Sources() map[string]string {
	return map[string]string{"greeter.proto": GreeterProto, "types.proto": TypesProto}
}

// Server is a running greeter.
type Server struct {
	// URL is the server's address as a target: http://127.0.0.1:PORT.
	URL   string
	Addr  string
	calls atomic.Int64
	srv   *grpc.Server
}

// Calls returns how many unary calls the server has received.
func (s *Server) Calls() int64 { return s.calls.Load() }

// Start starts a server on loopback; it stops when the test ends.
func Start(t testing.TB) *Server { t.Helper(); return start(t) }

// StartTLS starts a server on loopback that speaks TLS with cert; its URL
// is https://127.0.0.1:PORT.
func StartTLS(t testing.TB, cert tls.Certificate) *Server {
	t.Helper()
	s := start(t, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	s.URL = "https://" + s.Addr
	return s
}

func start(t testing.TB, opts ...grpc.ServerOption) *Server {
	t.Helper()
	files, err := grpcschema.Compile(Sources(), []string{"greeter.proto"})
	if err != nil {
		t.Fatal(err)
	}
	res := files.Resolver()
	d, err := res.FindDescriptorByName("helloworld.Greeter")
	if err != nil {
		t.Fatal(err)
	}
	sd := d.(protoreflect.ServiceDescriptor)
	s := &Server{}
	s.srv = grpc.NewServer(append(opts, grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		s.calls.Add(1)
		return h(ctx, req)
	}))...)
	desc := grpc.ServiceDesc{ServiceName: string(sd.FullName()), HandlerType: (*any)(nil)}
	for name, fn := range map[string]func(context.Context, *dynamicpb.Message, protoreflect.MessageDescriptor) (any, error){
		"SayHello": sayHello, "Fail": fail, "Slow": slow,
	} {
		md := sd.Methods().ByName(protoreflect.Name(name))
		desc.Methods = append(desc.Methods, grpc.MethodDesc{
			MethodName: name,
			Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := dynamicpb.NewMessage(md.Input())
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, req any) (any, error) { return fn(ctx, req.(*dynamicpb.Message), md.Output()) }
				if ic == nil {
					return h(ctx, in)
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: grpcschema.Path(md)}, h)
			},
		})
	}
	s.srv.RegisterService(&desc, struct{}{})
	reflectionv1.RegisterServerReflectionServer(s.srv, reflection.NewServerV1(reflection.ServerOptions{
		Services: s.srv, DescriptorResolver: res, ExtensionResolver: protoregistry.GlobalTypes,
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(s.srv.Stop)
	return s
}

// Stop stops the server at once, closing its connections.
func (s *Server) Stop() { s.srv.Stop() }

func reply(out protoreflect.MessageDescriptor, msg string) *dynamicpb.Message {
	m := dynamicpb.NewMessage(out)
	m.Set(out.Fields().ByName("message"), protoreflect.ValueOfString(msg))
	return m
}

func sayHello(ctx context.Context, in *dynamicpb.Message, out protoreflect.MessageDescriptor) (any, error) {
	name := in.Get(in.Descriptor().Fields().ByName("name")).String()
	m := reply(out, "Hello "+name)
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("authorization")) > 0 {
		m.Set(out.Fields().ByName("auth"), protoreflect.ValueOfString(md.Get("authorization")[0]))
	}
	m.Set(out.Fields().ByName("count"), protoreflect.ValueOfInt64(in.Get(in.Descriptor().Fields().ByName("times")).Int()))
	if err := grpc.SetHeader(ctx, metadata.Pairs("x-greeted", name)); err != nil {
		return nil, err
	}
	return m, nil
}

func fail(_ context.Context, in *dynamicpb.Message, _ protoreflect.MessageDescriptor) (any, error) {
	code := codes.Code(in.Get(in.Descriptor().Fields().ByName("code")).Int())
	if code == codes.OK {
		code = codes.Internal
	}
	return nil, status.Error(code, in.Get(in.Descriptor().Fields().ByName("message")).String())
}

func slow(ctx context.Context, in *dynamicpb.Message, out protoreflect.MessageDescriptor) (any, error) {
	d := time.Duration(in.Get(in.Descriptor().Fields().ByName("delay_ms")).Int()) * time.Millisecond
	if d == 0 {
		d = time.Minute
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return reply(out, "slept"), nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}
