package grpcschema_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/surgeload/surge/internal/grpcschema"
	"github.com/surgeload/surge/internal/protocol/grpc/grpctest"
)

func greeter(t *testing.T) *grpcschema.Files {
	t.Helper()
	f, err := grpcschema.Compile(grpctest.Sources(), []string{"greeter.proto"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		src  map[string]string
		want string
	}{
		{"syntax", map[string]string{"a.proto": "syntax = \"proto3\";\nmessage M { string s = 1 }\n"}, "a.proto:2:26: syntax error"},
		{"unknown type", map[string]string{"a.proto": "syntax = \"proto3\";\nmessage M { Nope n = 1; }\n"}, `a.proto:2:13: field M.n: unknown type Nope`},
		{"missing import", map[string]string{"a.proto": "syntax = \"proto3\";\nimport \"b.proto\";\n"}, "b.proto"},
		{"missing file", map[string]string{}, "a.proto"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := grpcschema.Compile(c.src, []string{"a.proto"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", err, c.want)
			}
		})
	}
	// The standard imports are built in.
	if _, err := grpcschema.Compile(map[string]string{"a.proto": "syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp at = 1; }\n"}, []string{"a.proto"}); err != nil {
		t.Errorf("a standard import: %v", err)
	}
}

func TestMethod(t *testing.T) {
	f := greeter(t)
	for _, c := range []struct{ name, want string }{
		{"helloworld.Greeter/SayHello", ""},
		{"/helloworld.Greeter/Fail", ""},
		{"helloworld.Greeter/Nope", "has no method Nope (it has SayHello, Fail, Slow, Chat)"},
		{"helloworld.Greeter/Chat", "streaming method"},
		{"helloworld.Other/SayHello", "no service helloworld.Other (there is helloworld.Greeter)"},
		{"helloworld.HelloRequest/X", "is not a service"},
		{"SayHello", "want a full method name"},
		{"helloworld.Greeter/", "want a full method name"},
		{"hello world.Greeter/SayHello", "want a full method name"},
	} {
		md, err := f.Method(c.name)
		switch {
		case c.want == "" && (err != nil || md.Name() != protoreflect.Name(c.name[strings.LastIndexByte(c.name, '/')+1:])):
			t.Errorf("%s: %v, %v", c.name, md, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestParseCode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want codes.Code
		ok   bool
	}{
		{"OK", codes.OK, true}, {"0", codes.OK, true}, {"NotFound", codes.NotFound, true}, {"NOT_FOUND", codes.NotFound, true},
		{"5", codes.NotFound, true}, {"DEADLINE_EXCEEDED", codes.DeadlineExceeded, true}, {"Unauthenticated", codes.Unauthenticated, true},
		{"16", codes.Unauthenticated, true}, {"17", 0, false}, {"notfound", 0, false}, {"200", 0, false}, {"", 0, false}, {"O_K", 0, false},
	} {
		if got, ok := grpcschema.ParseCode(c.in); got != c.want || ok != c.ok {
			t.Errorf("ParseCode(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestAddress(t *testing.T) {
	for _, c := range []struct {
		in, addr string
		tls      bool
		bad      string
	}{
		{"http://127.0.0.1:50051", "127.0.0.1:50051", false, ""},
		{"https://api.example.com", "api.example.com:443", true, ""},
		{"http://[::1]", "[::1]:80", false, ""},
		{"http://h:1/", "h:1", false, ""},
		{"http://h:1/api", "", false, "no path or query"},
		{"ftp://h", "", false, "want http://"},
		{"127.0.0.1:50051", "", false, ""},
		{"http://", "", false, "no host"},
	} {
		addr, tls, err := grpcschema.Address(c.in)
		switch {
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: %v, want %q", c.in, err, c.bad)
		case c.bad == "" && c.addr != "" && (err != nil || addr != c.addr || tls != c.tls):
			t.Errorf("%s: %s %v %v; want %s %v", c.in, addr, tls, err, c.addr, c.tls)
		case c.bad == "" && c.addr == "" && err == nil:
			t.Errorf("%s: accepted as %s", c.in, addr)
		}
	}
}

func TestMessages(t *testing.T) {
	md, err := greeter(t).Method("helloworld.Greeter/SayHello")
	if err != nil {
		t.Fatal(err)
	}
	in := md.Input()
	for _, c := range []struct{ doc, path, want string }{
		{`{"name":"x","times":2,"tags":{"labels":["a"],"extra":{"k":"v"}}}`, "", ""},
		{`{"nmae":"x"}`, ".nmae", `helloworld.HelloRequest has no field "nmae" (it has name, times, tags)`},
		{`{"tags":{"labls":[]}}`, ".tags.labls", `helloworld.Tags has no field "labls"`},
		{`{"tags":{"labels":"a"}}`, ".tags.labels", "is repeated: give a list"},
		{`{"tags":{"extra":[1]}}`, ".tags.extra", "is a map: give an object"},
		{`{"name":{"a":1}}`, ".name", "is a string, not an object or a list"},
		{`{"tags":"x"}`, ".tags", "is a message: give an object"},
	} {
		path, err := grpcschema.CheckFields(in, []byte(c.doc))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || path != c.path) {
			t.Errorf("%s: %q %v; want %q at %q", c.doc, path, err, c.want, c.path)
		}
	}
	for _, c := range []struct{ doc, want string }{
		{`{"name":"x","times":"7"}`, ""}, // protojson takes a number in a string
		{`{"times":"many"}`, "invalid value for int32 field times"},
		{`{"name":1}`, "invalid value for string field name"},
		{``, ""},
	} {
		if _, err := grpcschema.NewMessage(in, []byte(c.doc)); c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.doc, err, c.want)
		}
	}
}
