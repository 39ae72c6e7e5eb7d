package cli

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/surgeload/surge/internal/suggest"
)

// foreignFlags are other tools' names for Surge's flags (curl, hey, wrk,
// ab, k6, vegeta), keyed by the name without dashes.
var foreignFlags = map[string]string{
	"c":           "vus",      // hey, wrk, ab: concurrency / connections
	"connections": "vus",      // wrk
	"concurrency": "vus",      // hey, ab
	"users":       "vus",      // locust
	"z":           "duration", // hey
	"time":        "duration",
	"rps":         "rate", // k6, ab-style tools
	"qps":         "rate",
	"n":           "requests", // hey, ab
	"i":           "requests", // k6
	"iterations":  "requests", // k6
	"number":      "requests",
	"data":        "body",      // curl
	"data-raw":    "body",      // curl
	"data-binary": "body-file", // curl --data-binary @file
	"request":     "method",    // curl
	"k":           "insecure",  // curl
	"o":           "out",
	"output":      "out",
}

// foreignNotes explain flags that have no counterpart.
var foreignNotes = map[string]string{
	"t":       "Surge needs no threads setting (wrk -t): --vus sets the concurrency",
	"threads": "Surge needs no threads setting (wrk -t): --vus sets the concurrency",
}

var (
	unknownLong  = regexp.MustCompile(`^unknown flag: --([^\s=]+)`)
	unknownShort = regexp.MustCompile(`^unknown shorthand flag: '(.)' in -(\S+)`)
)

// flagHint suggests the flag that an unknown one probably meant: a typo
// (--duraton), another tool's name (-c, --rps), or a long flag written with
// one dash (-rate). It returns "" when it has nothing to say.
func flagHint(c *cobra.Command, err error) string {
	msg := err.Error()
	var names []string
	c.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	has := func(n string) bool { return c.Flags().Lookup(n) != nil }
	tryName := func(name string) string {
		if note, ok := foreignNotes[name]; ok {
			return note
		}
		if to, ok := foreignFlags[name]; ok && has(to) {
			return fmt.Sprintf("did you mean --%s?", to)
		}
		if best := suggest.Closest(name, names); best != "" {
			return fmt.Sprintf("did you mean --%s?", best)
		}
		return ""
	}
	if m := unknownLong.FindStringSubmatch(msg); m != nil {
		return tryName(m[1])
	}
	if m := unknownShort.FindStringSubmatch(msg); m != nil {
		word, _, _ := strings.Cut(m[2], "=")
		if len(word) > 1 && has(word) {
			return fmt.Sprintf("did you mean --%s? (long flags take two dashes)", word)
		}
		if len(word) > 1 {
			if h := tryName(word); h != "" {
				return h
			}
		}
		return tryName(m[1])
	}
	return ""
}

// singleDashLong finds a long flag written with one dash (-duration 30s):
// pflag would read it as -d uration, a body, so it is refused before
// parsing. It returns the offending argument and the flag meant.
func singleDashLong(c *cobra.Command, args []string) (arg, name string) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' {
			continue
		}
		n, _, _ := strings.Cut(a[1:], "=")
		if f := c.Flags().Lookup(n); f != nil && len(n) > 1 {
			return a, n
		}
	}
	return "", ""
}
