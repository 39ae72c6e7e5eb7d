package grpcschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// NewMessage builds a message of type md from its JSON (protojson: field
// names as in the .proto or in lowerCamelCase, 64-bit integers as numbers
// or strings, enums by name or number). Empty JSON is the empty message.
func NewMessage(md protoreflect.MessageDescriptor, doc []byte) (*dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(md)
	if len(bytes.TrimSpace(doc)) == 0 {
		return m, nil
	}
	if err := protojson.Unmarshal(doc, m); err != nil {
		return nil, fmt.Errorf("%s: %v", md.FullName(), cleanJSONErr(err))
	}
	return m, nil
}

// cleanJSONErr drops protojson's prefix ("proto: (line 1:2): ").
func cleanJSONErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, "): "); i >= 0 && strings.HasPrefix(s, "proto:") {
		s = s[i+3:]
	}
	return s
}

// CheckFields checks the field names of a message's JSON doc against md,
// and that lists and objects are where md has repeated fields, maps and
// messages; the scalars are not checked (a template fills them in). It
// returns the JSON path of the first problem with it (".user.nmae").
func CheckFields(md protoreflect.MessageDescriptor, doc []byte) (string, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return "", nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("not valid JSON: %v", err)
	}
	return checkMessage(md, v, "")
}

func checkMessage(md protoreflect.MessageDescriptor, v any, at string) (string, error) {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return "", nil // a well-known type has a JSON form of its own
	}
	obj, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return "", nil
		}
		return at, fmt.Errorf("%s is a message: give an object", describe(md.FullName(), at))
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByTextName(k)
		}
		p := at + "." + k
		if fd == nil {
			return p, fmt.Errorf("%s has no field %q (it has %s)", md.FullName(), k, fieldNames(md))
		}
		if p, err := checkField(fd, obj[k], p); err != nil {
			return p, err
		}
	}
	return "", nil
}

func checkField(fd protoreflect.FieldDescriptor, v any, at string) (string, error) {
	if v == nil {
		return "", nil
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			return at, fmt.Errorf("field %s is a map: give an object", fd.Name())
		}
		if fd.MapValue().Kind() == protoreflect.MessageKind {
			for k, e := range obj {
				if p, err := checkMessage(fd.MapValue().Message(), e, at+"."+k); err != nil {
					return p, err
				}
			}
		}
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return at, fmt.Errorf("field %s is repeated: give a list", fd.Name())
		}
		if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
			for i, e := range list {
				if p, err := checkMessage(fd.Message(), e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return p, err
				}
			}
		}
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return checkMessage(fd.Message(), v, at)
	default:
		switch v.(type) {
		case map[string]any, []any:
			return at, fmt.Errorf("field %s is a %s, not an object or a list", fd.Name(), fd.Kind())
		}
	}
	return "", nil
}

func describe(name protoreflect.FullName, at string) string {
	if at == "" {
		return "the message (" + string(name) + ")"
	}
	return "field " + strings.TrimPrefix(at, ".") + " (" + string(name) + ")"
}

func fieldNames(md protoreflect.MessageDescriptor) string {
	fs := md.Fields()
	if fs.Len() == 0 {
		return "no fields"
	}
	names := make([]string, fs.Len())
	for i := range names {
		names[i] = string(fs.Get(i).Name())
	}
	return strings.Join(names, ", ")
}

// responseJSON is how a response is shown to checks and extractions:
// lowerCamelCase names and every field, even one at its zero value.
var responseJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// ResponseJSON appends m as protojson to dst, as checks and extractions
// read it: field names in lowerCamelCase, every field present, and
// compact (protojson varies its spacing on purpose; a body_contains must
// not depend on it).
func ResponseJSON(dst []byte, m protoreflect.ProtoMessage) ([]byte, error) {
	raw, err := responseJSON.Marshal(m)
	if err != nil {
		return dst, err
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}
