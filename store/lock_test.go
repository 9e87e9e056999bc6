package store

import (
	"errors"
	"runtime"
	"testing"
)

func TestLock(t *testing.T) {
	switch runtime.GOOS {
	case "windows", "plan9", "solaris", "illumos", "aix":
		t.Skip("no flock here: the lock does nothing")
	}
	dir := t.TempDir()
	a := openT(t, dir, Options{})
	a.Put(1, []byte("a"))
	if b, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("a second Open while the first is open: %v, want ErrLocked", err)
	}
	// The failed Open changed nothing.
	if err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := openT(t, dir, Options{})
	same(t, "opened after Close", loadAll(t, b), map[uint64][]byte{1: []byte("a")})
}
