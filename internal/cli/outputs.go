package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/surgeload/surge/internal/report"
)

type output struct{ kind, path string }

func parseOutputs(specs []string) ([]output, error) {
	var outs []output
	for _, s := range specs {
		kind, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--out %q: want KIND=PATH, e.g. json=summary.json", s)
		}
		switch kind {
		case "json", "csv", "junit", "html":
		default:
			return nil, fmt.Errorf("--out %q: unknown kind %q (want json, csv, junit or html)", s, kind)
		}
		outs = append(outs, output{kind, path})
	}
	return outs, nil
}

// checkOutputs finds the outputs that could not be written before any
// load is sent: a directory in place of the file, a parent that is a file,
// a directory without write permission, the same path twice.
func checkOutputs(outs []output) error {
	seen := map[string]string{}
	for _, o := range outs {
		abs, err := filepath.Abs(o.path)
		if err != nil {
			return fmt.Errorf("--out %s=%s: %w", o.kind, o.path, err)
		}
		if k, dup := seen[abs]; dup {
			return fmt.Errorf("--out %s=%s: the %s report is written there too", o.kind, o.path, k)
		}
		seen[abs] = o.kind
		if err := checkWritable(abs); err != nil {
			return fmt.Errorf("--out %s=%s: cannot write the report there: %w", o.kind, o.path, err)
		}
	}
	return nil
}

// checkWritable checks that a file can be created or replaced at path
// without leaving anything behind: a missing parent directory is fine if
// its nearest existing ancestor is a writable directory (writeOutput
// creates the rest).
func checkWritable(path string) error {
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return errors.New("it is a directory")
		}
		fh, err := os.OpenFile(path, os.O_WRONLY, 0) // no O_TRUNC: the file stays as it is
		if err != nil {
			return err
		}
		return fh.Close()
	}
	dir := filepath.Dir(path)
	for {
		st, err := os.Stat(dir)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", dir)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return err
		}
		dir = parent
	}
	fh, err := os.CreateTemp(dir, ".surge-out-check-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot create a file in %s: %w", dir, pe.Err)
		}
		return err
	}
	name := fh.Name()
	fh.Close()
	return os.Remove(name)
}

func writeOutput(o output, s *report.Summary) error {
	if dir := filepath.Dir(o.path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing %s report: %w", o.kind, err)
		}
	}
	f, err := os.Create(o.path)
	if err != nil {
		return fmt.Errorf("writing %s report: %w", o.kind, err)
	}
	switch o.kind {
	case "json":
		err = report.WriteJSON(f, s)
	case "csv":
		err = report.WriteCSV(f, s)
	case "junit":
		err = report.WriteJUnit(f, s)
	case "html":
		err = report.WriteHTML(f, s)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s report to %s: %w", o.kind, o.path, err)
	}
	return nil
}
