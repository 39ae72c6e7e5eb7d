package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/report"
)

func TestWriteCapacityHTMLRefusesWhatIsNotACapacityResult(t *testing.T) {
	for _, tc := range []struct {
		doc, want string
	}{
		{`{`, "reading the result"},
		{`{"schema":"surge.summary/v1"}`, `schema "surge.summary/v1", want surge.capacity/v1`},
	} {
		var b bytes.Buffer
		err := report.WriteCapacityHTML(&b, []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v; want %q", tc.doc, err, tc.want)
		}
	}
}

// No string of the result can end the page's elements early: the
// evidence and the target are text, and the embedded document is JSON
// with <, > and & escaped.
func TestWriteCapacityHTMLEscapesTheResult(t *testing.T) {
	evil := `</script><script>alert(1)</script>&`
	doc := `{"schema":"surge.capacity/v1","target":"` + `http://x/<b>` + `","slo":["p99<250ms"],"max_rate":10,"confirmed":true,"knee_rate":5,"steps":[` +
		`{"phase":"grow","rate":5,"achieved_rps":5,"p50_ms":1,"p99_ms":2,"error_rate":0,"ok":true,"probes":2,"probe_errors":2},` +
		`{"phase":"grow","rate":10,"achieved_rps":10,"p50_ms":1,"p99_ms":2,"error_rate":0,"ok":true,"probe_p99_ms":3.5,"probes":2,"probe_errors":0}],` +
		`"bottleneck":{"kind":"unknown","evidence":"` + strings.ReplaceAll(evil, `"`, `\"`) + `"}}`
	var b bytes.Buffer
	if err := report.WriteCapacityHTML(&b, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>alert(1)") || strings.Contains(page, "<b>") {
		t.Errorf("the result's strings are in the page unescaped")
	}
	if n := strings.Count(page, "</script>"); n != 3 {
		t.Errorf("%d </script>; want the data's, uPlot's and the page's own", n)
	}
	for _, want := range []string{`\u003c/script\u003e`, "<td>all 2 failed</td>", "<td>3.50 ms</td>", `<dd id="max-rate">10.0/s</dd>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
