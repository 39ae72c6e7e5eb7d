package cli

import (
	"strings"
	"testing"
)

func TestSchemeHint(t *testing.T) {
	tests := []struct {
		in   string
		hint bool
	}{
		{"127.0.0.1:8080/api", true},
		{"localhost/x", true},
		{"localhost:8080", true},
		{"api.example.com/v1/items", true},
		{"[::1]:8080/x", true},
		{"examples/shop.yaml", false},
		{"shop.yaml", false},
		{"./shop.yaml", false},
		{"../x/shop.yml", false},
		{"data.json", false},
		{"http://127.0.0.1/", false},
		{"scenario", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := schemeHint(tt.in)
			if (h != "") != tt.hint {
				t.Fatalf("schemeHint(%q) = %q, want a hint: %v", tt.in, h, tt.hint)
			}
			if tt.hint && !strings.Contains(h, "add http://") {
				t.Fatalf("hint %q", h)
			}
		})
	}
}
