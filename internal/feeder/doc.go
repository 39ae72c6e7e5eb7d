// Package feeder reads test data (CSV with a header row, or a JSON array)
// into a Table and hands its rows out to virtual users.
//
//	t, err := feeder.ReadCSV(r, ',')
//	f := feeder.New(len(t.Rows), feeder.Unique, feeder.Stop)
//	row, ok := f.Next(rng) // ok is false once a unique table is used up
//
// A Feeder is safe for concurrent use: VUs share one, and in the sequential
// and unique modes they take rows from one shared cursor, so no two VUs get
// the same row of a unique table.
package feeder
