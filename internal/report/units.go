package report

import (
	"math"
	"strconv"
)

// latencyText is the one way every output writes a latency (terminal,
// HTML report; the dashboard's JS writes the same): "0.41 ms", "12.3 ms", "212 ms", "1.20 s".
func latencyText(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 10000:
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
	case a >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case a == 0:
		return "0 ms"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	}
}
