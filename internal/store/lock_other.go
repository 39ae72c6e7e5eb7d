//go:build !unix

package store

import (
	"os"
	"path/filepath"
)

// lockDir only creates the lock file where flock is not available: two
// servers on one directory are not detected there.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "surge.lock"), os.O_RDWR|os.O_CREATE, 0o600)
}

func unlockDir(f *os.File) error { return f.Close() }
