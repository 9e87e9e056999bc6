//go:build unix

package store

import "os"

// syncDir fsyncs the directory dir, so that a file created or renamed in
// it survives a power failure.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
