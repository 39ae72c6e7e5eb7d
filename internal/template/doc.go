// Package template implements the {{…}} templates of scenario files.
//
// A template is literal text with expressions in double braces: a variable
// ({{token}}, {{users.name}}, {{vu.id}}, {{iteration}}, {{env.HOME}}), a
// generator ({{uuid}}, {{randInt 1 100}}, {{randString 8}}, {{now}},
// {{now "rfc3339"}}) or a string literal ({{"{{"}} writes two braces).
//
// Parse checks the syntax and the generators' arguments once; Compile binds
// every variable to a Getter, so rendering is a walk over precompiled
// segments with no parsing and no map lookups:
//
//	t, err := template.Parse("Bearer {{token}}")
//	c, err := template.Compile(t, bind, template.Raw)
//	buf, missing := c.Append(buf[:0], &state)
//
// MaxSize bounds what a template can render to (each generator at its
// longest, each variable as its caller bounds it), so a loader can refuse
// one that would turn a few bytes of file into megabytes of request.
//
// ParseCond and CompileCond do the same for the conditions of a step's
// `if:` (stock > 0 && status == "open"): comparisons and truth over
// variables, parsed and bound once, then evaluated with no parsing.
//
// Templates and Compiled templates are immutable and safe for concurrent
// use; a State belongs to one goroutine (one virtual user).
package template
