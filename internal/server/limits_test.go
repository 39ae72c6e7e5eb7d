package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/surgeload/surge/internal/engine"
	"github.com/surgeload/surge/internal/server"
	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

type problemBody struct {
	Error    string
	Field    string
	Problems []struct{ Field, Message string }
}

func (b problemBody) fields() []string {
	var f []string
	for _, p := range b.Problems {
		f = append(f, p.Field)
	}
	return f
}

// Counts above engine.MaxVUs and engine.MaxRate are refused with a 400
// naming the field, however they are asked for: quick mode, a scenario's
// load and stages, and a live change.
func TestLoadCeilings(t *testing.T) {
	e := startServer(t, server.Options{})
	url := "http://127.0.0.1:1/"
	tooManyVUs, tooFast := engine.MaxVUs+1, engine.MaxRate*2
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"quick vus", map[string]any{"url": url, "vus": tooManyVUs}, "vus"},
		{"quick rate", map[string]any{"url": url, "rate": tooFast}, "rate"},
		{"quick max_vus", map[string]any{"url": url, "rate": 10, "max_vus": tooManyVUs}, "max_vus"},
		{"quick stages of vus", map[string]any{"url": url, "vus": 1, "stages": fmt.Sprintf("5s:%d", tooManyVUs)}, "stages"},
		{"quick stages of rate", map[string]any{"url": url, "rate": 1, "stages": fmt.Sprintf("5s:%d", tooFast)}, "stages"},
		{"scenario vus", map[string]any{"scenario": fmt.Sprintf("target: %s\nload: {vus: %d}\nflows: [{steps: [{get: /}]}]\n", url, tooManyVUs)}, "scenario"},
		{"scenario stage target", map[string]any{"scenario": fmt.Sprintf("target: %s\nload: {model: open, stages: [{duration: 5s, target: %d}]}\nflows: [{steps: [{get: /}]}]\n", url, tooFast)}, "scenario"},
		{"override of a scenario", map[string]any{"vus": tooManyVUs, "scenario": fmt.Sprintf("target: %s\nflows: [{steps: [{get: /}]}]\n", url)}, "vus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do("POST", "/api/v1/runs", tc.body)
			var b problemBody
			if status != http.StatusBadRequest || json.Unmarshal(body, &b) != nil {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			if b.Field != tc.field || !slices.Contains(b.fields(), tc.field) {
				t.Errorf("field %q, problems %v; want %q: %s", b.Field, b.fields(), tc.field, body)
			}
			if !strings.Contains(b.Error, "docs/limits.md") && !strings.Contains(b.Error, "more than") {
				t.Errorf("error does not say the limit: %s", b.Error)
			}
		})
	}

	tb := testutil.StartTarget(t, testbed.Options{})
	for _, tc := range []struct {
		name  string
		start map[string]any
		patch map[string]any
		field string
	}{
		{"patch rate", map[string]any{"url": tb.URL(), "rate": 5, "duration": "20s"}, map[string]any{"rate": tooFast}, "rate"},
		{"patch vus", map[string]any{"url": tb.URL(), "vus": 1, "duration": "20s"}, map[string]any{"vus": tooManyVUs}, "vus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var created struct{ ID string }
			e.json("POST", "/api/v1/runs", tc.start, http.StatusCreated, &created)
			status, body := e.do("PATCH", "/api/v1/runs/"+created.ID, tc.patch)
			var b problemBody
			if status != http.StatusBadRequest || json.Unmarshal(body, &b) != nil || b.Field != tc.field {
				t.Errorf("PATCH %v: %d %s, want 400 naming %s", tc.patch, status, body, tc.field)
			}
			e.json("POST", "/api/v1/runs/"+created.ID+"/stop", nil, http.StatusOK, nil)
			e.waitEnded(created.ID, 10*time.Second)
		})
	}
}

// A start request with several bad fields gets them all in one answer.
func TestStartListsEveryProblem(t *testing.T) {
	e := startServer(t, server.Options{})
	status, body := e.do("POST", "/api/v1/runs", map[string]any{
		"url": "http://127.0.0.1:1/", "rate": -5, "duration": "soon", "timeout": "0s",
		"thresholds": []string{"p99<<1"}, "headers": map[string]string{"": "x"},
	})
	var b problemBody
	if status != http.StatusBadRequest || json.Unmarshal(body, &b) != nil {
		t.Fatalf("status %d, want 400: %s", status, body)
	}
	for _, want := range []string{"rate", "duration", "timeout", "thresholds", "headers"} {
		if !slices.Contains(b.fields(), want) {
			t.Errorf("problems lack %q: %s", want, body)
		}
	}
	for _, p := range b.Problems {
		if p.Message == "" {
			t.Errorf("problem without a message: %s", body)
		}
	}
	if b.Error == "" || b.Field != b.Problems[0].Field {
		t.Errorf("error %q, field %q: want the first problem's field and every message", b.Error, b.Field)
	}
	// A single problem has the list too.
	_, body = e.do("POST", "/api/v1/runs", map[string]any{"url": "http://127.0.0.1:1/", "rate": -1})
	if err := json.Unmarshal(body, &b); err != nil || len(b.Problems) != 1 || b.Problems[0].Field != "rate" {
		t.Errorf("one problem: %s", body)
	}
}
