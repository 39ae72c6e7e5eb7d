package workload

import (
	"testing"

	"github.com/surgeload/surge/internal/grpcschema"
	"github.com/surgeload/surge/internal/protocol/grpc/grpctest"
)

// stringAt finds the type of the field a whole template fills, through
// messages, lists and maps: a string field gets the value as a string.
func TestStringAt(t *testing.T) {
	f, err := grpcschema.Compile(grpctest.Sources(), []string{"greeter.proto"})
	if err != nil {
		t.Fatal(err)
	}
	md, err := f.Method("helloworld.Greeter/SayHello")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path []string
		want bool
	}{
		{[]string{"name"}, true},
		{[]string{"times"}, false},
		{[]string{"tags"}, false},
		{[]string{"tags", "labels"}, false}, // the list itself
		{[]string{"tags", "labels", ""}, true},
		{[]string{"tags", "extra"}, false}, // the map itself
		{[]string{"tags", "extra", "k"}, true},
		{[]string{"nope"}, false},
		{[]string{"name", "x"}, false},
	} {
		if got := stringAt(md.Input(), c.path); got != c.want {
			t.Errorf("%q: %v, want %v", c.path, got, c.want)
		}
	}
}
