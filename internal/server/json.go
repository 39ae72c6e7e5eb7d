package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/surgeload/surge/internal/scenario"
)

// Request body limits.
const (
	maxBody       = 4 << 20  // a start request with a scenario file, an interval
	maxFinishBody = 32 << 20 // a recorded run's final summary with its whole timeline
	// maxStartBody bounds a start request, which may carry a whole plan
	// with its data rows and bodies read from files (`surge run --server
	// URL --agents N`): scenario.MaxWirePlan and room for the rest.
	maxStartBody = scenario.MaxWirePlan + 1<<20
)

// apiError is an error the API reports with a status; Field names the bad
// input when there is one.
type apiError struct {
	Status   int
	Field    string
	Msg      string
	Problems []problem // every bad field of a 400; nil: just Field and Msg
}

func (e *apiError) Error() string { return e.Msg }

func badRequest(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client went away: nothing to do
}

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	// Problems lists every bad field of a 400, each {"field", "message"}.
	Problems []problem `json:"problems,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// fail writes err: an apiError with its status, anything else as a 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		b := errorBody{Error: ae.Msg, Field: ae.Field, Problems: ae.Problems}
		if ae.Status == http.StatusBadRequest && b.Problems == nil {
			msg := strings.TrimPrefix(ae.Msg, ae.Field+": ")
			if ae.Field == "" {
				msg = ae.Msg
			}
			b.Problems = []problem{{Field: ae.Field, Message: msg}}
		}
		writeJSON(w, ae.Status, b)
		return
	}
	s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
}

// decode reads a JSON body into v, rejecting unknown fields and trailing
// data; the error names the field at fault.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return decodeBody(w, r, limit, v, true)
}

// decodeData is decode for data a `surge run` of another version may send:
// fields this server does not know are ignored.
func decodeData(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return decodeBody(w, r, limit, v, false)
}

func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any, strict bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "request body: want one JSON object")
	}
	return nil
}

func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &te):
		return badRequest(te.Field, "%s: want %s, got %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return badRequest("", "request body: malformed JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &mb):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body larger than %d bytes", mb.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("", "request body: want a JSON object, got nothing")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return badRequest(f, "unknown field %q", f)
	}
	return badRequest("", "request body: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64", "uint64":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "a list"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	}
	return k
}
