package grpc

import (
	"context"
	"errors"
	"fmt"
	"github.com/surgeload/surge/internal/grpcschema"

	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// maxReflectFiles bounds the files a reflection answer may bring in.
const maxReflectFiles = 1000

// Reflect asks the server's reflection service (v1) for the file that
// defines the service of method full ("package.Service/Method") and the
// files it imports, and finds the unary method in them.
func (c *Conn) Reflect(ctx context.Context, full string) (protoreflect.MethodDescriptor, error) {
	svc, _, err := grpcschema.SplitMethod(full)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := reflectionv1.NewServerReflectionClient(c.cc).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.CloseSend() }()
	ask := func(req *reflectionv1.ServerReflectionRequest) ([][]byte, error) {
		if err := stream.Send(req); err != nil {
			return nil, err
		}
		res, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if e := res.GetErrorResponse(); e != nil {
			return nil, fmt.Errorf("reflection: %s", e.GetErrorMessage())
		}
		fd := res.GetFileDescriptorResponse()
		if fd == nil {
			return nil, errors.New("reflection: the server answered with no file descriptor")
		}
		return fd.GetFileDescriptorProto(), nil
	}
	files := map[string]*descriptorpb.FileDescriptorProto{}
	var order []string
	add := func(raw [][]byte) error {
		for _, b := range raw {
			fdp := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(b, fdp); err != nil {
				return fmt.Errorf("reflection: a file descriptor: %v", err)
			}
			if _, ok := files[fdp.GetName()]; !ok {
				files[fdp.GetName()] = fdp
				order = append(order, fdp.GetName())
			}
		}
		if len(files) > maxReflectFiles {
			return fmt.Errorf("reflection: more than %d files", maxReflectFiles)
		}
		return nil
	}
	raw, err := ask(&reflectionv1.ServerReflectionRequest{
		MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: svc},
	})
	if err != nil {
		return nil, err
	}
	if err := add(raw); err != nil {
		return nil, err
	}
	// A server may leave out imports: ask for each one missing.
	for i := 0; i < len(order); i++ {
		for _, dep := range files[order[i]].GetDependency() {
			if _, ok := files[dep]; ok {
				continue
			}
			if fd, err := protoregistry.GlobalFiles.FindFileByPath(dep); err == nil {
				files[dep] = protodesc.ToFileDescriptorProto(fd)
				order = append(order, dep)
				continue
			}
			raw, err := ask(&reflectionv1.ServerReflectionRequest{
				MessageRequest: &reflectionv1.ServerReflectionRequest_FileByFilename{FileByFilename: dep},
			})
			if err != nil {
				return nil, err
			}
			if err := add(raw); err != nil {
				return nil, err
			}
			if _, ok := files[dep]; !ok {
				return nil, fmt.Errorf("reflection: the server did not send %s", dep)
			}
		}
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, name := range order {
		set.File = append(set.File, files[name])
	}
	reg, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("reflection: %v", err)
	}
	return grpcschema.FindMethod(reg, full)
}
