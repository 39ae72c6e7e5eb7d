package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/web"
)

// The vendored uPlot is the published 1.6.32, unmodified (README.md there).
func TestVendoredUPlot(t *testing.T) {
	for name, want := range map[string]string{
		"vendor/uplot/uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
		"vendor/uplot/uPlot.min.css":     "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
	} {
		b, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, want %s (the npm package's file)", name, got, want)
		}
	}
	lic, err := fs.ReadFile(web.Files(), "vendor/uplot/LICENSE")
	if err != nil || !strings.Contains(string(lic), "MIT License") {
		t.Errorf("uPlot's licence is missing: %v", err)
	}
}

// Every language has every key, and every key the pages use exists.
func TestStringsComplete(t *testing.T) {
	src, err := fs.ReadFile(web.Files(), "js/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	key := regexp.MustCompile(`(?m)^\s+"([a-zA-Z0-9_.]+)":`)
	block := func(lang string) []string {
		start := strings.Index(s, "\n  "+lang+": {")
		if start < 0 {
			t.Fatalf("no %s block in i18n.js", lang)
		}
		end := strings.Index(s[start:], "\n  },")
		var keys []string
		for _, m := range key.FindAllStringSubmatch(s[start:start+end], -1) {
			keys = append(keys, m[1])
		}
		slices.Sort(keys)
		return keys
	}
	en, ko := block("en"), block("ko")
	if len(en) < 100 {
		t.Fatalf("only %d English strings found: is the parser right?", len(en))
	}
	for _, k := range en {
		if !slices.Contains(ko, k) {
			t.Errorf("Korean lacks %q", k)
		}
	}
	for _, k := range ko {
		if !slices.Contains(en, k) {
			t.Errorf("Korean has %q, English does not", k)
		}
	}
	// Keys used literally in the pages, t("…"), must exist.
	used := regexp.MustCompile(`\bt\("([a-zA-Z0-9_.]+)"`)
	_ = fs.WalkDir(web.Files(), "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, _ := fs.ReadFile(web.Files(), p)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(en, m[1]) {
				t.Errorf("%s uses t(%q), which has no string", p, m[1])
			}
		}
		return nil
	})
}

func TestHandler(t *testing.T) {
	ts := httptest.NewServer(web.Handler())
	defer ts.Close()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script type="module" src="js/app.js">`},
		{"/js/app.js", "text/javascript", "route()"},
		{"/css/app.css", "text/css", ".tiles"},
	} {
		resp, err := http.Get(ts.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || resp.Header.Get("ETag") == "" {
			t.Errorf("%s: %d %q etag %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("ETag"))
		}
		if !strings.Contains(string(b), tc.contains) {
			t.Errorf("%s lacks %q", tc.path, tc.contains)
		}
		// Revalidation by ETag answers 304.
		req, _ := http.NewRequest("GET", ts.URL+tc.path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidated: %d, want 304", tc.path, r2.StatusCode)
		}
	}
}

// The phase names the pages build keys from (charts.js phaseNames, and
// the compare page's comparedPhases) each have their strings: the key
// check above only sees literal t("…") keys.
func TestPhaseStrings(t *testing.T) {
	read := func(name string) string {
		b, err := fs.ReadFile(web.Files(), name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	i18n := read("js/i18n.js")
	list := func(src, decl string) []string {
		m := regexp.MustCompile(regexp.QuoteMeta(decl) + `\s*=\s*\[([^\]]*)\]`).FindStringSubmatch(src)
		if m == nil {
			t.Fatalf("no %s in the source", decl)
		}
		var names []string
		for _, q := range regexp.MustCompile(`"([a-z]+)"`).FindAllStringSubmatch(m[1], -1) {
			names = append(names, q[1])
		}
		return names
	}
	phases := list(read("js/charts.js"), "export const phaseNames")
	if strings.Join(phases, " ") != "blocked connect tls send wait receive queued" {
		t.Errorf("phaseNames %v: the summary's phases are blocked connect tls send wait receive queued, in the reports' order", phases)
	}
	var keys []string
	for _, p := range phases {
		keys = append(keys, "phase."+p, "phase."+p+".help")
	}
	for _, p := range list(read("js/pages/compare.js"), "const comparedPhases") {
		keys = append(keys, "compare.phases."+p+"A", "compare.phases."+p+"B", "compare.phases."+p+"Change")
	}
	for _, lang := range []string{"en", "ko"} {
		start := strings.Index(i18n, "\n  "+lang+": {")
		block := i18n[start : start+strings.Index(i18n[start:], "\n  },")]
		for _, k := range keys {
			if !strings.Contains(block, `"`+k+`":`) {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
	}
}
