//go:build !unix || solaris || aix

package store

import "io"

// lockDir does nothing where package syscall has no flock(2): there the
// caller must make sure that one store at a time opens a directory.
func lockDir(path string) (io.Closer, error) { return nopCloser{}, nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
