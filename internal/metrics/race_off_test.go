//go:build !race

package metrics_test

// allocFactor: see race_on_test.go.
const allocFactor = 1
