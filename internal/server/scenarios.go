package server

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/surgeload/surge/internal/scenario"
)

// scenarioLoader parses a scenario file's text, lays the load overrides
// over it and validates the result.
type scenarioLoader func(text string, o scenario.Overrides) (scenario.Plan, error)

// loadScenario is the one call into the scenario package's parser. A
// scenario sent to the API sees no environment variables (they could hold
// the server's own secrets) and reads data and body files only from the
// --scenarios folder.
func (s *Server) loadScenario(text string, o scenario.Overrides) (scenario.Plan, error) {
	return scenario.Parse("scenario.yaml", []byte(text), scenario.Options{Overrides: o, ReadFile: s.readScenarioFile})
}

// readScenarioFile reads a file a scenario names, inside the scenarios
// folder only: os.Root refuses "..", absolute names and symlinks that lead
// outside.
func (s *Server) readScenarioFile(name string) ([]byte, error) {
	if s.opts.ScenarioDir == "" {
		return nil, errors.New("a scenario sent to the server can only read files from its scenarios folder (surge server --scenarios DIR), and it has none")
	}
	root, err := os.OpenRoot(s.opts.ScenarioDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(name)
}

// maxScenarioFile bounds a scenario file the UI may read from the folder.
const maxScenarioFile = 1 << 20

func isScenarioFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// handleScenarios: GET /api/v1/scenarios lists the files in --scenarios DIR.
func (s *Server) handleScenarios(w http.ResponseWriter, r *http.Request) {
	type file struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	files := []file{}
	if dir := s.opts.ScenarioDir; dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !isScenarioFile(e.Name()) {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			files = append(files, file{Name: e.Name(), Size: fi.Size()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"scenarios": files})
}

// handleScenario: GET /api/v1/scenarios/{name} returns a file's text.
func (s *Server) handleScenario(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	notFound := &apiError{Status: http.StatusNotFound, Msg: "no scenario file named " + name}
	if s.opts.ScenarioDir == "" || !isScenarioFile(name) || !filepath.IsLocal(name) || strings.ContainsRune(name, '/') {
		s.fail(w, r, notFound)
		return
	}
	// os.Root keeps symlinks from leading outside the folder.
	root, err := os.OpenRoot(s.opts.ScenarioDir)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		// Missing, or a symlink leading outside the folder (which os.Root
		// refuses): either way there is no such scenario here.
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("scenario file refused", "name", name, "err", err)
		}
		s.fail(w, r, notFound)
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		s.fail(w, r, notFound)
		return
	}
	b, err := io.ReadAll(io.LimitReader(f, maxScenarioFile+1))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(b) > maxScenarioFile {
		s.fail(w, r, &apiError{Status: http.StatusRequestEntityTooLarge, Msg: name + " is larger than 1 MiB"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": name, "text": string(b)})
}
