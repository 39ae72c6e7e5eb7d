package suggest_test

import (
	"testing"

	"github.com/surgeload/surge/internal/suggest"
)

func TestClosest(t *testing.T) {
	keys := []string{"model", "vus", "rate", "duration", "stages", "max_vus", "iterations"}
	cases := []struct {
		name, in, want string
	}{
		{"missing letter", "rat", "rate"},
		{"swap", "modle", "model"},
		{"case", "VUS", "vus"},
		{"extra letter", "durations", "duration"},
		{"too far", "banana", ""},
		{"short and wrong", "x", ""},
		{"exact is no suggestion", "rate", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := suggest.Closest(c.in, keys); got != c.want {
				t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"ab", "ba", 1}, {"wieght", "weight", 1},
	}
	for _, c := range cases {
		if got := suggest.Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
