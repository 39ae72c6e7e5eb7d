package scrape

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseBody: no body makes parsing, rates or derived series panic, and
// every value that comes out is finite (it goes into JSON). Two bodies are
// scraped in turn so that rates and quantiles are computed too. Run it with
// -fuzzminimizetime 2s: by default each new input is minimized for up to a
// minute, which looks like a hang.
func FuzzParseBody(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.prom")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, b)
	}
	a, _ := os.ReadFile("testdata/node1.prom")
	b, _ := os.ReadFile("testdata/node2.prom")
	f.Add(a, b)
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 3\n"),
		[]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 9\nh_count 9\nh_sum 3\n"))
	f.Add([]byte("a NaN\nb +Inf\n"), []byte("x_total -1\n# EOF\ntrailing"))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		for _, allow := range [][]string{nil, {"node_*", "h"}} {
			m, err := New(Target{URL: "http://127.0.0.1:1/metrics", Allow: allow}, Options{MaxSeries: 50})
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Unix(1000, 0)
			for i, body := range [][]byte{first, second} {
				p, err := m.parseBody(body, t0.Add(time.Duration(i)*time.Second))
				if err != nil {
					continue
				}
				vs := m.values(p)
				m.prev = m.prune(p)
				for _, v := range vs {
					if math.IsNaN(v.V) || math.IsInf(v.V, 0) {
						t.Fatalf("value %s = %v", v.Key(), v.V)
					}
				}
				if _, err := json.Marshal(Sample{Values: vs}); err != nil {
					t.Fatalf("sample does not encode: %v", err)
				}
			}
		}
	})
}
