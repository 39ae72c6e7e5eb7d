//go:build race

package metrics_test

// allocFactor widens the decoder's allocation bound under the race
// detector, whose instrumentation makes the same decode allocate about
// twice as much (36 MB for the snapshot at the bin budget, 18 MB without).
// A hostile snapshot's blow-up is orders of magnitude, not two.
const allocFactor = 2
