//go:build unix && !solaris && !aix

// Solaris, illumos and AIX have no flock(2) in package syscall; they take
// lock_other.go.

package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock(2) on the lock file at path, without
// waiting. The lock belongs to the open file: a second Open in the same
// process conflicts as another process does, and the kernel releases it
// when the process ends, however it ends. Closing the returned Closer
// releases it.
func lockDir(path string) (io.Closer, error) {
	lf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by another open store", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return lf, nil
}
