package engine_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets the engine's real-time tests, which mostly sleep, run
// side by side: go test's default -parallel is GOMAXPROCS (2 on the
// development VM), which would leave the suite almost serial. A
// -test.parallel given on the command line wins. The tests whose bounds
// are tight (start lag, CPU time, the generator falling behind) are not
// marked parallel and run alone before the others.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "16")
	}
	os.Exit(m.Run())
}
