package scenario_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/scenario"
)

// A plan with gRPC steps travels with its .proto sources (imports too):
// the receiver compiles them with no file of its own, and refuses a plan
// whose sources are missing or do not define its methods.
func TestGRPCPlanTravels(t *testing.T) {
	p, err := scenario.LoadFile("testdata/valid/grpc.yaml", scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.GRPC.Sources); got != 2 {
		t.Fatalf("%d sources, want greeter.proto and types.proto: %v", got, p.GRPC.Sources)
	}
	if p.GRPCTarget() != "http://127.0.0.1:50051" || p.Flows[0].Steps[1].Name != "hello" || p.Flows[0].Steps[2].Name != "helloworld.Greeter/Fail" {
		t.Errorf("target %s, steps %+v", p.GRPCTarget(), p.Flows[0].Steps)
	}
	b, err := scenario.EncodeWire(p)
	if err != nil {
		t.Fatal(err)
	}
	// Away from the scenario's directory, nothing can be read from disk.
	t.Chdir(t.TempDir())
	got, err := scenario.DecodeWire(b)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	files, err := got.CompileProtos()
	if err != nil {
		t.Fatal(err)
	}
	if md, err := files.Method("helloworld.Greeter/SayHello"); err != nil || md.Input().Fields().ByName("tags") == nil {
		t.Fatalf("method %v, %v", md, err)
	}

	for _, c := range []struct {
		name   string
		change func(p *scenario.Plan)
		want   string
	}{
		{"no import", func(p *scenario.Plan) { delete(p.GRPC.Sources, "types.proto") }, "types.proto"},
		{"no file", func(p *scenario.Plan) { delete(p.GRPC.Sources, "greeter.proto") }, "proto greeter.proto: its source was not read"},
		{"other service", func(p *scenario.Plan) {
			p.GRPC.Sources["greeter.proto"] = strings.ReplaceAll(p.GRPC.Sources["greeter.proto"], "service Greeter", "service Welcomer")
		}, "no service helloworld.Greeter"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := got
			q.GRPC.Sources = map[string]string{}
			for k, v := range got.GRPC.Sources {
				q.GRPC.Sources[k] = v
			}
			c.change(&q)
			b, err := scenario.EncodeWire(q)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := scenario.DecodeWire(b); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("decoding: %v; want an error naming %q", err, c.want)
			}
		})
	}
}

// The .proto files are read once, at load: a relative import path is the
// scenario's directory's, and a file is found in the first import path
// that has it.
func TestGRPCImportPaths(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"a/x.proto": "syntax = \"proto3\";\npackage x;\nimport \"y.proto\";\nservice S { rpc C (y.M) returns (y.M); }\n",
		"b/y.proto": "syntax = \"proto3\";\npackage y;\nmessage M { string s = 1; }\n",
		"a/y.proto": "not protobuf at all",
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := "target: http://127.0.0.1:9\ndefaults: {grpc: {proto: [x.proto], import_paths: [IMPORTS]}}\nflows:\n  - steps:\n      - {grpc: x.S/C, message: {s: hi}}\n"
	if _, err := scenario.Parse("s.yaml", []byte(strings.Replace(src, "IMPORTS", "a, b", 1)), scenario.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "y.proto:1:1") {
		t.Errorf("a/y.proto comes first and is not protobuf: %v", err)
	}
	// x.proto is only in a/, y.proto first in b/.
	src = strings.Replace(src, "IMPORTS", "b, a", 1)
	p, err := scenario.Parse("s.yaml", []byte(src), scenario.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.GRPC.Sources["y.proto"]; !strings.Contains(got, "message M") {
		t.Errorf("y.proto read from the wrong place: %q", got)
	}
}
