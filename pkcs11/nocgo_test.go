//go:build !cgo

package pkcs11

import (
	"errors"
	"testing"
)

// TestOpenWithoutCgo: built without cgo, Open says so.
func TestOpenWithoutCgo(t *testing.T) {
	_, err := Open(Config{Module: "/usr/lib/softhsm/libsofthsm2.so", PIN: testPIN})
	if !errors.Is(err, ErrNoCgo) {
		t.Fatalf("Open: %v, want ErrNoCgo", err)
	}
}

const testPIN = "tern-user-4711"
