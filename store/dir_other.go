//go:build !unix

package store

// syncDir does nothing where a directory cannot be opened for fsync
// (Windows): there a rename is made durable by the file system's journal.
func syncDir(dir string) error { return nil }
