// Package testutil holds helpers shared by Surge's tests.
//
// StartTarget starts the testbed on a free loopback port and closes it when
// the test ends.
package testutil

import (
	"testing"

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
