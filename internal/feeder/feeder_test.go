package feeder_test

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/surgeload/surge/internal/feeder"
)

func TestReadCSV(t *testing.T) {
	tab, err := feeder.ReadCSV(strings.NewReader("name,password\nalice,secret\n\"bob, jr\",s2\n"), ',')
	if err != nil {
		t.Fatal(err)
	}
	want := feeder.Table{Columns: []string{"name", "password"}, Rows: [][]string{{"alice", "secret"}, {"bob, jr", "s2"}}}
	if !reflect.DeepEqual(tab, want) {
		t.Errorf("got %+v, want %+v", tab, want)
	}
	if tab, err := feeder.ReadCSV(strings.NewReader("a;b\n1;2\n"), ';'); err != nil || tab.Rows[0][1] != "2" {
		t.Errorf("semicolon CSV: %+v, %v", tab, err)
	}
}

func TestReadCSVErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty CSV"},
		{"ragged", "a,b\n1\n", "wrong number of fields"},
		{"duplicate column", "a,a\n1,2\n", `column "a" appears twice`},
		{"unnamed column", "a,\n1,2\n", "column 2 has no name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := feeder.ReadCSV(strings.NewReader(c.in), ',')
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestReadJSON(t *testing.T) {
	tab, err := feeder.ReadJSON(strings.NewReader(`[{"name":"alice","id":1},{"name":"bob","tags":["x"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := feeder.Table{JSON: true, Columns: []string{"id", "name", "tags"},
		Rows: [][]string{{"1", `"alice"`, "null"}, {"null", `"bob"`, `["x"]`}}}
	if !reflect.DeepEqual(tab, want) {
		t.Errorf("got %+v, want %+v", tab, want)
	}
	if feeder.Text(`"alice"`) != "alice" || feeder.Text("1") != "1" {
		t.Error("Text should unquote strings and keep other literals")
	}
	tab, err = feeder.ReadJSON(strings.NewReader(`["a", 2]`))
	if err != nil || !reflect.DeepEqual(tab.Columns, []string{"value"}) || tab.Rows[1][0] != "2" {
		t.Errorf("scalars: %+v, %v", tab, err)
	}
	for _, bad := range []string{`{"a":1}`, `[{"a":1}, 3]`, `[1, {"a":1}]`, `[1] [2]`} {
		if _, err := feeder.ReadJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadJSON(%s): want an error", bad)
		}
	}
}

func TestUniqueNeverRepeats(t *testing.T) {
	const rows, vus = 1000, 8
	f := feeder.New(rows, feeder.Unique, feeder.Stop)
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for v := range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(v), 0))
			for {
				r, ok := f.Next(rng)
				if !ok {
					return
				}
				mu.Lock()
				seen[r]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != rows {
		t.Fatalf("%d distinct rows handed out, want %d", len(seen), rows)
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("row %d handed out %d times", r, n)
		}
	}
	if _, ok := f.Next(nil); ok {
		t.Error("a used-up unique feeder with Stop must report false")
	}
}

func TestModes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	take := func(f *feeder.Feeder, n int) []int {
		var out []int
		for range n {
			r, ok := f.Next(rng)
			if !ok {
				out = append(out, -1)
				continue
			}
			out = append(out, r)
		}
		return out
	}
	if got := take(feeder.New(3, feeder.Sequential, ""), 7); !reflect.DeepEqual(got, []int{0, 1, 2, 0, 1, 2, 0}) {
		t.Errorf("sequential: %v", got)
	}
	if got := take(feeder.New(3, feeder.Unique, feeder.Recycle), 5); !reflect.DeepEqual(got, []int{0, 1, 2, 0, 1}) {
		t.Errorf("unique+recycle: %v", got)
	}
	if got := take(feeder.New(2, feeder.Unique, feeder.Stop), 4); !reflect.DeepEqual(got, []int{0, 1, -1, -1}) {
		t.Errorf("unique+stop: %v", got)
	}
	counts := make([]int, 4)
	for _, r := range take(feeder.New(4, feeder.Random, ""), 4000) {
		counts[r]++
	}
	for i, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("random: row %d drawn %d times of 4000, want about 1000", i, c)
		}
	}
	if got := take(feeder.New(0, feeder.Sequential, ""), 1); got[0] != -1 {
		t.Error("an empty table has no rows to give")
	}
}
