package workload

import (
	nethttp "net/http"
	"strings"
	"testing"
	"unsafe"

	"github.com/surgeload/surge/internal/scenario"
)

// TestExtractionsCopy: a value extracted from a response must not share
// the memory of the response it came from. The lean client's header
// values are slices of the whole response head (up to a megabyte), and a
// variable can live as long as its VU: a small token extracted from a
// huge head would keep the head alive.
func TestExtractionsCopy(t *testing.T) {
	head := "X-Token: abc\r\nSet-Cookie: sid=s3cret; Path=/\r\nX-Pad: " + strings.Repeat("p", 1<<16)
	slice := func(v string) string { i := strings.Index(head, v); return head[i : i+len(v)] }
	res := &responseView{
		header: nethttp.Header{"X-Token": {slice("abc")}, "Set-Cookie": {slice("sid=s3cret; Path=/")}},
		url:    func() []*nethttp.Cookie { return nil },
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(head)))
	hi := lo + uintptr(len(head))
	for _, e := range []scenario.Extract{
		{Var: "v", From: scenario.FromHeader, Expr: "X-Token"},
		{Var: "v", From: scenario.FromCookie, Expr: "sid"},
	} {
		c := &compiler{plan: &scenario.Plan{}, slots: map[string]int{"v": 0}, prog: &Program{}, chIndex: map[string]int{}}
		var cs compiledStep
		if err := c.compileChecks(&scenario.Step{Name: "s", Extract: []scenario.Extract{e}}, &cs); err != nil {
			t.Fatal(err)
		}
		v, ok := cs.extracts[0].get(&evalCtx{res: res})
		if !ok || v.S == "" {
			t.Fatalf("%s:%s extracted nothing", e.From, e.Expr)
		}
		if p := uintptr(unsafe.Pointer(unsafe.StringData(v.S))); p >= lo && p < hi {
			t.Errorf("%s:%s extracted %q in the response head's memory", e.From, e.Expr, v.S)
		}
	}
}
