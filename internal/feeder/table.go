package feeder

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// Table is rows of named columns. When JSON is set every cell is a JSON
// literal (strings quoted); otherwise cells are text.
type Table struct {
	Columns []string
	Rows    [][]string
	JSON    bool
}

// MaxRows bounds a table, so a mistaken path (a log file, a dump) fails
// clearly instead of filling memory.
const MaxRows = 10_000_000

// ReadCSV reads CSV whose first record names the columns. Every row must
// have as many fields as the header.
func ReadCSV(r io.Reader, delim rune) (Table, error) {
	cr := csv.NewReader(r)
	cr.Comma = delim
	cr.ReuseRecord = false
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return Table{}, errors.New("empty CSV: want a header row naming the columns")
	}
	if err != nil {
		return Table{}, err
	}
	t := Table{Columns: head}
	if err := checkColumns(head); err != nil {
		return Table{}, err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Table{}, err
		}
		if len(t.Rows) >= MaxRows {
			return Table{}, fmt.Errorf("more than %d rows", MaxRows)
		}
		t.Rows = append(t.Rows, rec)
	}
	return t, nil
}

func checkColumns(cols []string) error {
	seen := map[string]bool{}
	for i, c := range cols {
		if c == "" {
			return fmt.Errorf("column %d has no name", i+1)
		}
		if seen[c] {
			return fmt.Errorf("column %q appears twice", c)
		}
		seen[c] = true
	}
	return nil
}

// ReadJSON reads a JSON array of objects (their keys are the columns; a
// key missing from an object reads as null) or of scalars (one column
// named "value").
func ReadJSON(r io.Reader) (Table, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var items []json.RawMessage
	if err := dec.Decode(&items); err != nil {
		return Table{}, fmt.Errorf("want a JSON array of objects: %w", err)
	}
	if dec.More() {
		return Table{}, errors.New("unexpected data after the JSON array")
	}
	if len(items) > MaxRows {
		return Table{}, fmt.Errorf("more than %d rows", MaxRows)
	}
	t := Table{JSON: true}
	if len(items) == 0 {
		return t, nil
	}
	if first := bytes.TrimSpace(items[0]); len(first) == 0 || first[0] != '{' {
		t.Columns = []string{"value"}
		for i, it := range items {
			it = bytes.TrimSpace(it)
			if len(it) > 0 && (it[0] == '{' || it[0] == '[') {
				return Table{}, fmt.Errorf("item %d: want a scalar like the first item", i+1)
			}
			t.Rows = append(t.Rows, []string{string(it)})
		}
		return t, nil
	}
	objs := make([]map[string]json.RawMessage, len(items))
	index := map[string]int{}
	for i, it := range items {
		if err := json.Unmarshal(it, &objs[i]); err != nil || objs[i] == nil {
			return Table{}, fmt.Errorf("item %d: want an object like the first item", i+1)
		}
		keys := make([]string, 0, len(objs[i]))
		for k := range objs[i] {
			if _, ok := index[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys) // Go maps forget the order; sorted is at least stable
		for _, k := range keys {
			index[k] = len(t.Columns)
			t.Columns = append(t.Columns, k)
		}
	}
	if err := checkColumns(t.Columns); err != nil {
		return Table{}, err
	}
	for _, o := range objs {
		row := make([]string, len(t.Columns))
		for i := range row {
			row[i] = "null"
		}
		for k, v := range o {
			row[index[k]] = string(compact(v))
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func compact(v json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return v
	}
	return b.Bytes()
}

// Text returns a cell of a JSON table as text: a JSON string unquoted, any
// other literal as written.
func Text(cell string) string {
	if len(cell) > 0 && cell[0] == '"' {
		if s, err := strconv.Unquote(cell); err == nil {
			return s
		}
		var s string
		if json.Unmarshal([]byte(cell), &s) == nil {
			return s
		}
	}
	return cell
}
