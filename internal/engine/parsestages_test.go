package engine_test

import (
	"testing"

	"github.com/surgeload/surge/internal/engine"
)

// TestParseStagesRefusesNonNumbers: strconv.ParseFloat reads "NaN" and
// "Inf" as numbers; as a stage target they are not.
func TestParseStagesRefusesNonNumbers(t *testing.T) {
	for _, bad := range []string{"1s:NaN", "1s:nan", "1s: NaN ", "1s:Inf", "1s:+Inf", "1s:-Inf", "1s:infinity", "1s:1e400", "10s:5,1s:NaN", "0s:1", "-5s:1"} {
		if st, err := engine.ParseStages(bad); err == nil {
			t.Errorf("%q: parsed to %+v, want an error", bad, st)
		}
	}
}
