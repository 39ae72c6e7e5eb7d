package template_test

import (
	"testing"

	"github.com/surgeload/surge/internal/template"
)

// BenchmarkRender is rendering compiled templates per request: the URL,
// header and JSON body of a typical step. Parsing and binding happen once,
// at load; this is what every request pays.
func BenchmarkRender(b *testing.B) {
	for _, tc := range []struct {
		name, src string
		esc       template.Escape
	}{
		{"static", "/api/items", template.Raw},
		{"url", "/todos?user_id={{vu.id}}&page={{iteration}}", template.Raw},
		{"header", "Bearer {{token}}", template.Raw},
		{"json body", `{"email":"{{users.email}}","password":"{{users.password}}","n":{{num}}}`, template.JSONString},
		{"query", "q={{odd}}&v={{vu.id}}", template.Query},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tpl, err := template.Parse(tc.src)
			if err != nil {
				b.Fatal(err)
			}
			c, err := template.Compile(tpl, bindAll, tc.esc)
			if err != nil {
				b.Fatal(err)
			}
			st := newState()
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = c.Append(buf[:0], st)
			}
		})
	}
}
