package scrape_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/monitor/scrape"
)

// TestBodyBounds: a body of exactly MaxBody bytes, or of exactly
// MaxSampleLines sample lines, is read; one byte or one line more is not,
// whether or not an allow-list filters the body first.
func TestBodyBounds(t *testing.T) {
	lines := func(n int) string {
		var b strings.Builder
		b.WriteString("# TYPE m gauge\n")
		for i := range n {
			fmt.Fprintf(&b, "m{i=\"%d\"} 1\n", i)
		}
		return b.String()
	}
	atLimit, overLimit := lines(scrape.MaxSampleLines), lines(scrape.MaxSampleLines+1)
	for _, c := range []struct {
		name    string
		body    string
		allow   []string
		maxBody int64
		want    string // "" for success
	}{
		{"body of MaxBody bytes", "up 1\n", nil, 5, ""},
		{"body one byte over MaxBody", "up 1\n", nil, 4, "body larger than 4 bytes"},
		{"MaxSampleLines lines", atLimit, nil, 0, ""},
		{"MaxSampleLines lines, allowed", atLimit, []string{"m"}, 0, ""},
		{"one line more, allowed", overLimit, []string{"m"}, 0, "50001 sample lines, more than 50000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := serveBodies(t, c.body)
			m := newMonitor(t, scrape.Target{URL: srv.URL, Allow: c.allow}, scrape.Options{MaxBody: c.maxBody, Timeout: 10 * time.Second})
			s := m.Scrape(context.Background())
			if c.want == "" {
				if !s.OK() || len(s.Values) == 0 {
					t.Errorf("scrape: err %q, %d values; want values", s.Err, len(s.Values))
				}
				return
			}
			if s.OK() || !strings.Contains(s.Err, c.want) {
				t.Errorf("scrape: err %q, want one containing %q", s.Err, c.want)
			}
		})
	}
}

// TestFilterKeepsBodyShape: with or without an allow-list, the lines of the
// allowed metrics reach the parser as they are: blank lines do not hide what
// follows them, HELP lines are kept (so a body invalid without the
// allow-list is invalid with it), and without an allow-list nothing after
// an OpenMetrics "# EOF" is parsed.
func TestFilterKeepsBodyShape(t *testing.T) {
	for _, c := range []struct {
		name  string
		body  string
		allow []string
		want  map[string]float64 // nil: the scrape fails with err
		err   string
	}{
		{"blank line", "a 1\n\nb 2\n", []string{"a", "b"}, map[string]float64{"a": 1, "b": 2}, ""},
		{"blank line, no allow-list", "a 1\n\nb 2\n", nil, map[string]float64{"a": 1, "b": 2}, ""},
		{"EOF", "a 1\n# EOF\nnot metrics {{{\n", nil, map[string]float64{"a": 1}, ""},
		{"EOF after a blank first line", "\n# EOF\nnot metrics {{{\n", nil, map[string]float64{}, ""},
		{"second HELP", "# HELP a One.\n# HELP a Two.\na 1\n", nil, nil, "second HELP line"},
		{"second HELP, allowed", "# HELP a One.\n# HELP a Two.\na 1\n", []string{"a"}, nil, "second HELP line"},
		// a HELP line without text still reaches the parser, which rejects
		// the metric name
		{"bad name in a bare HELP", "# HELP a-b\na 1\n", nil, nil, "invalid metric name in comment"},
		{"bad name in a bare HELP, allowed", "# HELP a-b\na 1\n", []string{"a*"}, nil, "invalid metric name in comment"},
		{"TYPE kept, allowed", "# HELP a_total A.\n# TYPE a_total gauge\na_total 3\n", []string{"a_total"}, map[string]float64{"a_total": 3}, ""},
		// "# EOF" ends the body under an allow-list too (it was filtered out
		// as a comment before the cut looked for it, and the series after
		// it made "appears twice").
		{"EOF, allowed", "a 1\n# EOF\na 2\n", []string{"a"}, map[string]float64{"a": 1}, ""},
		{"EOF as the first line", "# EOF\nnot metrics {{{\n", nil, map[string]float64{}, ""},
		{"EOF with CRLF", "a 1\n# EOF\r\nnot metrics {{{\n", nil, map[string]float64{"a": 1}, ""},
		{"EOF at the very end", "a 1\n# EOF", nil, map[string]float64{"a": 1}, ""},
		// Only the whole line: a comment that starts with "# EOF" is a
		// comment (it cut the body, dropping b).
		{"a comment starting with EOF", "a 1\n# EOFs are fine\nb 2\n", nil, map[string]float64{"a": 1, "b": 2}, ""},
		{"a comment starting with EOF, allowed", "a 1\n# EOFs are fine\nb 2\n", []string{"a", "b"}, map[string]float64{"a": 1, "b": 2}, ""},
		// A quoted (UTF-8) metric name is read under an allow-list as
		// without one (it was taken as the name "" and dropped).
		{"quoted name", "{\"a.b\"} 5\nc 1\n", nil, map[string]float64{"a.b": 5, "c": 1}, ""},
		{"quoted name, allowed", "{\"a.b\"} 5\nc 1\n", []string{"a.b"}, map[string]float64{"a.b": 5}, ""},
		{"quoted name in TYPE, allowed", "# TYPE \"a.b\" gauge\n{ \"a.b\" } 5\n", []string{"a.*"}, map[string]float64{"a.b": 5}, ""},
		{"quoted name with an escaped quote, allowed", "{\"a\\\"b\"} 5\n", []string{"a\"b"}, map[string]float64{"a\"b": 5}, ""},
		{"an unterminated quoted name, allowed", "{\"abc\n", []string{"abc"}, map[string]float64{}, ""},
		{"EOF with CR at the very end", "a 1\n# EOF\r", nil, map[string]float64{"a": 1}, ""},
		{"a quoted label first is no name", "{\"x\"=\"1\"} 5\n", []string{"x"}, map[string]float64{}, ""},
		// A histogram with one bucket twice is refused, as a series twice is
		// (its quantile depended on how the sort ordered the two).
		{"a bucket twice", "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"1\"} 10\nh_bucket{le=\"+Inf\"} 10\nh_count 10\nh_sum 3\n", nil, nil, "has the bucket le=1 twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := serveBodies(t, c.body)
			s := newMonitor(t, scrape.Target{URL: srv.URL, Allow: c.allow}, scrape.Options{}).Scrape(context.Background())
			if c.want == nil {
				if s.OK() || !strings.Contains(s.Err, c.err) {
					t.Errorf("scrape: err %q, want one containing %q", s.Err, c.err)
				}
				return
			}
			if !s.OK() {
				t.Fatalf("scrape: %s", s.Err)
			}
			if len(s.Values) != len(c.want) {
				t.Errorf("values %v, want %v", names(s), c.want)
			}
			for name, want := range c.want {
				if v, ok := s.Find(name); !ok || v.V != want {
					t.Errorf("%s = %v, %v; want %v (a gauge: it has a value on the first scrape)", name, v.V, ok, want)
				}
			}
		})
	}
}

// TestDroppedNamesBounded: Stats names at most 20 dropped metrics, the
// first seen (in key order).
func TestDroppedNamesBounded(t *testing.T) {
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "# TYPE g%02d gauge\ng%02d 1\n", i, i)
	}
	srv := serveBodies(t, b.String())
	m := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{MaxSeries: 1})
	if s := m.Scrape(context.Background()); !s.OK() || s.Dropped != 29 {
		t.Fatalf("scrape: err %q, dropped %d; want 29 dropped", s.Err, s.Dropped)
	}
	st := m.Stats()
	var want []string
	for i := 1; i <= 20; i++ {
		want = append(want, fmt.Sprintf("g%02d", i))
	}
	if fmt.Sprint(st.DroppedNames) != fmt.Sprint(want) || st.DroppedSeries != 29 || st.DroppedLast != 29 {
		t.Errorf("stats = %+v, want 29 dropped, named %v", st, want)
	}
}

// TestCloseReleasesConnections: Close closes the idle connection of the
// Monitor's own client, and leaves a client the caller passed alone.
func TestCloseReleasesConnections(t *testing.T) {
	var mu sync.Mutex
	states := map[net.Conn]http.ConnState{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("up 1\n"))
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		states[c] = s
	}
	srv.Start()
	t.Cleanup(srv.Close)
	closed := func() (n, all int) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range states {
			if s == http.StateClosed {
				n++
			}
		}
		return n, len(states)
	}

	own := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{})
	if s := own.Scrape(context.Background()); !s.OK() {
		t.Fatalf("scrape: %s", s.Err)
	}
	own.Close()
	deadline := time.Now().Add(5 * time.Second)
	for n, all := closed(); n != 1 || all != 1; n, all = closed() {
		if time.Now().After(deadline) {
			t.Fatalf("after Close: %d of %d connections closed, want 1 of 1", n, all)
		}
		time.Sleep(5 * time.Millisecond)
	}

	client := &http.Client{}
	theirs := newMonitor(t, scrape.Target{URL: srv.URL}, scrape.Options{Client: client})
	if s := theirs.Scrape(context.Background()); !s.OK() {
		t.Fatalf("scrape with the caller's client: %s", s.Err)
	}
	theirs.Close() // must not touch (or panic on) a transport it does not own
	client.CloseIdleConnections()
}
