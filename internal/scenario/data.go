package scenario

import (
	"fmt"

	"github.com/surgeload/surge/internal/feeder"
	"github.com/surgeload/surge/internal/template"
)

// DataSource is a table of rows that templates read as {{NAME.COLUMN}}.
// The rows are held in the plan, so a plan is complete on its own.
type DataSource struct {
	Name string `json:"name"`
	File string `json:"file,omitempty"` // where the rows were read from
	// Mode is how rows are handed out: sequential (default), random or
	// unique (each row used at most once).
	Mode feeder.Mode `json:"mode"`
	// Per says when a VU takes a new row: once ("vu") or at every iteration
	// ("iteration"). Default: vu when a setup step reads the source,
	// otherwise iteration.
	Per DataScope `json:"per"`
	// OnExhausted is what unique mode does when every row was used: stop
	// the VU that asks for another (default) or recycle the rows.
	OnExhausted feeder.Exhausted `json:"on_exhausted,omitempty"`
	Columns     []string         `json:"columns"`
	Rows        [][]string       `json:"rows"`
	JSON        bool             `json:"json,omitempty"` // cells are JSON literals (from a JSON file)
}

// DataScope is how long a VU keeps a row.
type DataScope string

// Data scopes.
const (
	PerVU        DataScope = "vu"        // one row for the VU's whole life
	PerIteration DataScope = "iteration" // a new row at every iteration
)

// Column returns the index of a column, or -1.
func (d *DataSource) Column(name string) int {
	for i, c := range d.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

func (p *Plan) validateData(v *validator) {
	seen := map[string]bool{}
	for i := range p.Data {
		d := &p.Data[i]
		path := fmt.Sprintf("data[%d]", i)
		switch {
		case !template.IsName(d.Name):
			v.add(path, "data source name %q: use letters, digits, '_' and '-'", d.Name)
		case reserved(d.Name):
			v.add(path, "data source name `%s` is reserved", d.Name)
		case seen[d.Name]:
			v.add(path, "data source `%s` is defined twice", d.Name)
		}
		seen[d.Name] = true
		if d.Mode == "" {
			d.Mode = feeder.Sequential
		}
		switch d.Mode {
		case feeder.Sequential, feeder.Random:
			if d.OnExhausted != "" {
				v.add(path+".on_exhausted", "on_exhausted applies to mode unique only (mode is %s)", d.Mode)
			}
		case feeder.Unique:
			if d.OnExhausted == "" {
				d.OnExhausted = feeder.Stop
			}
			if d.OnExhausted != feeder.Stop && d.OnExhausted != feeder.Recycle {
				v.add(path+".on_exhausted", "unknown on_exhausted %q (want stop or recycle)", d.OnExhausted)
			}
		default:
			v.add(path+".mode", "unknown mode %q (want sequential, random or unique)", d.Mode)
		}
		if d.Per != "" && d.Per != PerVU && d.Per != PerIteration {
			v.add(path+".per", "unknown per %q (want vu or iteration)", d.Per)
		}
		if len(d.Rows) == 0 {
			v.addSummary(path, "data source `%s` has no rows", d.Name)
		}
		for j, r := range d.Rows {
			if len(r) != len(d.Columns) {
				v.add(path, "data source `%s`: row %d has %d fields, want %d", d.Name, j+1, len(r), len(d.Columns))
				break
			}
		}
	}
}

// PartitionData returns p with every unique data source cut to share i of
// n (rows i, i+n, i+2n, …), so that n agents running the plan never use a
// row twice between them. Other sources are kept whole.
func (p Plan) PartitionData(i, n int) Plan {
	if n <= 1 {
		return p
	}
	data := make([]DataSource, len(p.Data))
	for k, d := range p.Data {
		if d.Mode == feeder.Unique {
			var rows [][]string
			for r := i; r < len(d.Rows); r += n {
				rows = append(rows, d.Rows[r])
			}
			d.Rows = rows
		}
		data[k] = d
	}
	p.Data = data
	return p
}
