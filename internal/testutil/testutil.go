// Package testutil holds helpers shared by Surge's tests.
//
// StartTarget starts the testbed on a free loopback port and closes it when
// the test ends.
package testutil

import (
	"testing"

	"github.com/prometheus/procfs"

	"github.com/surgeload/surge/internal/testbed"
)

// StartTarget starts a testbed on 127.0.0.1 and closes it with the test.
func StartTarget(t testing.TB, o testbed.Options) *testbed.Server {
	t.Helper()
	tb, err := testbed.Start("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	return tb
}

// HostCPUs is the number of CPUs /proc/stat lists: the host's, where
// runtime.NumCPU counts those this process may run on (taskset, a
// container's cpuset). A host-wide figure such as node_exporter's busy
// cores is bounded by this one.
func HostCPUs(t testing.TB) int {
	t.Helper()
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Fatal(err)
	}
	st, err := fs.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return len(st.CPU)
}
